use super::nvml::NvmlDevice;
use super::*;
use hashcore::devices::Reading;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// NVML that knows one device, `0000:01:00.0`, at 71 °C with its fan at 55 % (or 130 %).
struct FakeNvml {
    fan: u32,
}

impl NvmlApi for FakeNvml {
    fn device_by_pci(&self, pci: &str) -> Option<NvmlDevice> {
        (pci == "0000:01:00.0").then_some(NvmlDevice(7))
    }
    fn temperature(&self, d: NvmlDevice) -> Option<u32> {
        (d.0 == 7).then_some(71)
    }
    fn fan_speed(&self, _: NvmlDevice) -> Option<u32> {
        Some(self.fan)
    }
}

fn device(vendor: &str, pci: Option<&str>) -> DeviceInfo {
    DeviceInfo {
        platform: 0,
        platform_name: "p".into(),
        index: 0,
        name: "gpu".into(),
        vendor: vendor.into(),
        driver: String::new(),
        global_mem: 0,
        max_alloc: 0,
        compute_units: 1,
        id: 0,
        pci_bus_id: pci.map(str::to_string),
    }
}

/// A fake sysfs tree in a fresh temporary directory.
struct Tree(PathBuf);

impl Tree {
    fn new(name: &str) -> Tree {
        let root =
            std::env::temp_dir().join(format!("netminer-hwmon-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        Tree(root)
    }

    fn hwmon(&self, pci: &str, n: u32, files: &[(&str, &str)]) {
        let dir = self.0.join(format!("bus/pci/devices/{pci}/hwmon/hwmon{n}"));
        std::fs::create_dir_all(&dir).unwrap();
        for (f, v) in files {
            std::fs::write(dir.join(f), v).unwrap();
        }
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn no_nvml() -> NvmlLoader {
    Box::new(|| None)
}

#[test]
fn nvidia_devices_read_nvml_by_their_pci_address() {
    let loads = Arc::new(AtomicUsize::new(0));
    let counted = loads.clone();
    let s = Sensors::new(
        Box::new(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            Some(Arc::new(FakeNvml { fan: 130 }) as Arc<dyn NvmlApi>)
        }),
        PathBuf::from("/nonexistent"),
    );
    let cpu = device("Intel", None);
    assert!(s.sensor_for(&cpu).is_none(), "no PCI address, no sensor");
    assert_eq!(
        loads.load(Ordering::SeqCst),
        0,
        "NVML is not loaded without an NVIDIA device"
    );
    let r = s
        .sensor_for(&device("NVIDIA Corporation", Some("0000:01:00.0")))
        .unwrap()
        .read();
    assert_eq!(
        r,
        Reading {
            temp_c: Some(71.0),
            fan_percent: Some(100.0), // 130 % clamped
        }
    );
    assert!(s
        .sensor_for(&device("NVIDIA Corporation", Some("0000:02:00.0")))
        .is_none());
    assert_eq!(loads.load(Ordering::SeqCst), 1, "loaded once");
}

#[test]
fn amd_devices_read_hwmon_under_their_pci_device() {
    let t = Tree::new("amd");
    // hwmon0 has no temperature (another chip); hwmon1 is the card's.
    t.hwmon("0000:03:00.0", 0, &[("name", "other\n")]);
    t.hwmon(
        "0000:03:00.0",
        1,
        &[("temp1_input", "64000\n"), ("pwm1", "153\n")],
    );
    t.hwmon(
        "0000:04:00.0",
        0,
        &[
            ("temp1_input", "81500\n"),
            ("fan1_input", "1500\n"),
            ("fan1_max", "3000\n"),
        ],
    );
    let s = Sensors::new(no_nvml(), t.0.clone());
    let amd = |pci| device("Advanced Micro Devices, Inc.", Some(pci));
    let r = s.sensor_for(&amd("0000:03:00.0")).unwrap().read();
    assert_eq!(r.temp_c, Some(64.0));
    assert!((r.fan_percent.unwrap() - 60.0).abs() < 1e-4, "{r:?}");
    let r = s.sensor_for(&amd("0000:04:00.0")).unwrap().read();
    assert_eq!((r.temp_c, r.fan_percent), (Some(81.5), Some(50.0)));
    assert!(s.sensor_for(&amd("0000:05:00.0")).is_none());
    // An NVIDIA card without NVML falls back to hwmon.
    t.hwmon("0000:06:00.0", 0, &[("temp1_input", "50000")]);
    let r = s
        .sensor_for(&device("NVIDIA Corporation", Some("0000:06:00.0")))
        .unwrap()
        .read();
    assert_eq!((r.temp_c, r.fan_percent), (Some(50.0), None));
}

#[test]
fn garbage_in_sysfs_or_a_hostile_address_gives_no_reading() {
    let t = Tree::new("garbage");
    t.hwmon(
        "0000:03:00.0",
        0,
        &[("temp1_input", "hot\n"), ("pwm1", "-5")],
    );
    t.hwmon("0000:07:00.0", 0, &[("temp1_input", &"9".repeat(10_000))]);
    let s = Sensors::new(no_nvml(), t.0.clone());
    let amd = |pci: &str| device("AMD", Some(pci));
    assert_eq!(
        s.sensor_for(&amd("0000:03:00.0")).unwrap().read(),
        Reading::default()
    );
    assert_eq!(
        s.sensor_for(&amd("0000:07:00.0")).unwrap().read().temp_c,
        None,
        "an overlong value is not read whole"
    );
    for bad in ["../../etc", "0000:03:00.0/../x", "", "/abs"] {
        assert!(
            HwmonSensor::find(&t.0, bad).is_none(),
            "{bad:?} must not be looked up"
        );
    }
    assert!(!Path::new(&t.0).join("etc").exists());
}
