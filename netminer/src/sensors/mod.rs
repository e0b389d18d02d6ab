//! GPU temperatures and fan speeds, from whatever the box's driver exposes, found at run time so
//! that no box needs any of it: NVML (`libnvidia-ml.so.1`, loaded with `dlopen` only when there is
//! an NVIDIA device) for NVIDIA cards, hwmon in sysfs for AMD (and anything else with a hwmon
//! directory under its PCI device). A device is matched by its PCI address, which the OpenCL
//! vendor extensions give ([`hashcore::opencl::DeviceInfo::pci_bus_id`]). A device with no
//! sensors simply reports none.

mod hwmon;
mod nvml;

pub use hwmon::HwmonSensor;
pub use nvml::{NvmlApi, NvmlLibrary, NvmlSensor};

use hashcore::devices::Sensor;
use hashcore::opencl::{DeviceInfo, SensorSource};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

/// Loads NVML: the real library, or a fake in tests.
type NvmlLoader = Box<dyn Fn() -> Option<Arc<dyn NvmlApi>> + Send + Sync>;

/// Finds each device's sensors: NVML for NVIDIA devices (if the library loads), else hwmon.
pub struct Sensors {
    load_nvml: NvmlLoader,
    nvml: OnceLock<Option<Arc<dyn NvmlApi>>>,
    sysfs: PathBuf,
}

impl Sensors {
    /// The box's own sensors: `libnvidia-ml.so.1` and `/sys`.
    pub fn system() -> Sensors {
        Sensors::new(
            Box::new(|| NvmlLibrary::load().map(|l| Arc::new(l) as Arc<dyn NvmlApi>)),
            PathBuf::from("/sys"),
        )
    }

    /// Sensors from `load_nvml` and the sysfs tree at `sysfs` (tests give a fake of each).
    pub fn new(load_nvml: NvmlLoader, sysfs: PathBuf) -> Sensors {
        Sensors {
            load_nvml,
            nvml: OnceLock::new(),
            sysfs,
        }
    }

    fn nvml(&self) -> Option<&Arc<dyn NvmlApi>> {
        self.nvml.get_or_init(|| (self.load_nvml)()).as_ref()
    }
}

impl SensorSource for Sensors {
    fn sensor_for(&self, d: &DeviceInfo) -> Option<Box<dyn Sensor>> {
        let pci = d.pci_bus_id.as_deref()?;
        if d.vendor.to_lowercase().contains("nvidia") {
            if let Some(s) = self.nvml().and_then(|api| NvmlSensor::find(api, pci)) {
                tracing::info!("{}: temperature and fan from NVML", d.name);
                return Some(Box::new(s));
            }
        }
        let s = HwmonSensor::find(&self.sysfs, pci)?;
        tracing::info!("{}: temperature and fan from {}", d.name, s.dir().display());
        Some(Box::new(s))
    }
}

/// A temperature worth believing (°C): drivers report 0 or absurd values for a missing sensor.
fn plausible_temp(t: f32) -> Option<f32> {
    (t.is_finite() && t > 0.0 && t < 150.0).then_some(t)
}

/// A fan speed in percent, clamped to 100 (some cards report more at full speed).
fn plausible_fan(p: f32) -> Option<f32> {
    (p.is_finite() && p >= 0.0).then_some(p.min(100.0))
}

#[cfg(test)]
mod tests;
