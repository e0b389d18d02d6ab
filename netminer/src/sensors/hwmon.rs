//! hwmon in sysfs: how the Linux drivers of AMD cards (amdgpu) and others expose temperatures and
//! fans, under the card's PCI device: `/sys/bus/pci/devices/0000:03:00.0/hwmon/hwmonN/` with
//! `temp1_input` (millidegrees °C) and `pwm1` (0–255) or `fan1_input`/`fan1_max` (RPM).

use super::{plausible_fan, plausible_temp};
use hashcore::devices::{Reading, Sensor};
use std::path::{Path, PathBuf};

/// Largest sysfs value read (they are a few digits); anything longer is not a sensor value.
const MAX_VALUE: u64 = 64;

/// One device's hwmon directory.
pub struct HwmonSensor {
    dir: PathBuf,
}

impl HwmonSensor {
    /// The hwmon directory of the PCI device `pci` under the sysfs tree `sysfs` (the first one
    /// with a temperature), if any.
    pub fn find(sysfs: &Path, pci: &str) -> Option<HwmonSensor> {
        // A PCI address has no path separators or dots-only parts; refuse anything else.
        let ok = |c: char| c.is_ascii_hexdigit() || c == ':' || c == '.';
        if pci.is_empty() || pci.len() > 16 || !pci.chars().all(ok) {
            return None;
        }
        let base = sysfs.join("bus/pci/devices").join(pci).join("hwmon");
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(&base)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join("temp1_input").is_file())
            .collect();
        dirs.sort();
        dirs.into_iter().next().map(|dir| HwmonSensor { dir })
    }

    /// The directory read.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn value(&self, name: &str) -> Option<f32> {
        use std::io::Read;
        let mut text = String::new();
        std::fs::File::open(self.dir.join(name))
            .ok()?
            .take(MAX_VALUE)
            .read_to_string(&mut text)
            .ok()?;
        text.trim().parse::<f32>().ok()
    }

    fn fan(&self) -> Option<f32> {
        if let Some(pwm) = self.value("pwm1") {
            return plausible_fan(pwm / 255.0 * 100.0);
        }
        let (rpm, max) = (self.value("fan1_input")?, self.value("fan1_max")?);
        (max > 0.0)
            .then(|| plausible_fan(rpm / max * 100.0))
            .flatten()
    }
}

impl Sensor for HwmonSensor {
    fn read(&self) -> Reading {
        Reading {
            temp_c: self
                .value("temp1_input")
                .and_then(|m| plausible_temp(m / 1000.0)),
            fan_percent: self.fan(),
        }
    }
}
