//! The OpenCL backend: LXRHash on GPUs (or any OpenCL device), with the table in device memory.
//!
//! The OpenCL library is loaded at run time (`opencl3`'s `dynamic` feature), so one binary runs on
//! boxes without any OpenCL driver: [`list_devices`] then returns an error that says so, and the
//! miner stays on the CPU backend.

mod backend;
mod device;
mod kernel_cache;

pub use backend::{OpenClBackend, OpenClOptions, SensorSource};
pub use device::check_capacity;

use crate::error::{Error, Result};
use opencl3::device::{Device, CL_DEVICE_TYPE_ALL};

/// The kernel source, embedded at build time.
pub const KERNEL_SOURCE: &str = include_str!("../../../kernels/lxrhash.cl");

/// One OpenCL device, as `--list-devices` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Index of the device's OpenCL platform (driver) in the platform list, as
    /// `--opencl-platform` takes it.
    pub platform: usize,
    /// The platform's name, e.g. "Portable Computing Language" or "NVIDIA CUDA".
    pub platform_name: String,
    /// Device index within its platform.
    pub index: usize,
    /// The device's name as the driver reports it (`CL_DEVICE_NAME`).
    pub name: String,
    /// The device's vendor as the driver reports it (`CL_DEVICE_VENDOR`).
    pub vendor: String,
    /// Version of the device's driver (`CL_DRIVER_VERSION`).
    pub driver: String,
    /// Global memory in bytes.
    pub global_mem: u64,
    /// Largest single allocation in bytes (`CL_DEVICE_MAX_MEM_ALLOC_SIZE`).
    pub max_alloc: u64,
    /// Number of parallel compute units (`CL_DEVICE_MAX_COMPUTE_UNITS`).
    pub compute_units: u32,
    /// The OpenCL device handle (`cl_device_id`) as an integer; only valid in this process.
    pub id: usize,
    /// The device's PCI address (`0000:01:00.0`) where the driver tells it (NVIDIA and AMD
    /// extensions): how its temperature sensors are found in NVML or sysfs.
    pub pci_bus_id: Option<String>,
}

pub(crate) fn cl_err(what: &str, e: impl std::fmt::Debug) -> Error {
    Error::Backend(format!("OpenCL: {what}: {e:?}"))
}

/// Every device of every platform. A platform that fails is skipped with a warning; no OpenCL
/// library or no platform at all is an error. Discovery runs once per process: ICD loaders are not
/// safe to initialise from several threads at once.
pub fn list_devices() -> Result<Vec<DeviceInfo>> {
    static DEVICES: std::sync::OnceLock<std::result::Result<Vec<DeviceInfo>, String>> =
        std::sync::OnceLock::new();
    DEVICES
        .get_or_init(|| discover().map_err(|e| e.to_string()))
        .clone()
        .map_err(Error::Backend)
}

fn discover() -> Result<Vec<DeviceInfo>> {
    let platforms = opencl3::platform::get_platforms().map_err(|e| {
        Error::Backend(format!(
            "no OpenCL platform found ({e:?}): install a GPU driver with OpenCL (or PoCL), or mine with --backend cpu"
        ))
    })?;
    if platforms.is_empty() {
        return Err(Error::Backend(
            "no OpenCL platform found: install a GPU driver with OpenCL (or PoCL), or mine with --backend cpu".into(),
        ));
    }
    let mut out = Vec::new();
    for (pi, p) in platforms.iter().enumerate() {
        let pname = p.name().unwrap_or_else(|_| format!("platform {pi}"));
        let ids = match p.get_devices(CL_DEVICE_TYPE_ALL) {
            Ok(ids) => ids,
            Err(e) => {
                tracing::warn!("skipping OpenCL platform {pi} ({pname}): {e:?}");
                continue;
            }
        };
        for (di, id) in ids.into_iter().enumerate() {
            let d = Device::new(id);
            out.push(DeviceInfo {
                platform: pi,
                platform_name: pname.clone(),
                index: di,
                name: d.name().unwrap_or_default().trim().to_string(),
                vendor: d.vendor().unwrap_or_default().trim().to_string(),
                driver: d.driver_version().unwrap_or_default().trim().to_string(),
                global_mem: d.global_mem_size().unwrap_or(0),
                max_alloc: d.max_mem_alloc_size().unwrap_or(0),
                compute_units: d.max_compute_units().unwrap_or(0),
                id: id as usize,
                pci_bus_id: pci_bus_id(&d),
            });
        }
    }
    Ok(out)
}

/// The device's PCI address from the vendor extensions (NVIDIA's bus and slot ids, AMD's
/// topology); domain 0, which is all these extensions can say. The conversions of the binding
/// panic on answers of an unexpected size, so a strange driver gives `None`, not a crash.
fn pci_bus_id(d: &Device) -> Option<String> {
    let vendor = d.vendor().unwrap_or_default().to_lowercase();
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        if vendor.contains("nvidia") {
            let bus = d.pci_bus_id_nv().ok()?;
            let slot = d.pci_slot_id_nv().ok()?;
            Some(format!(
                "0000:{:02x}:{:02x}.{:x}",
                bus & 0xff,
                (slot >> 3) & 0x1f,
                slot & 7
            ))
        } else if vendor.contains("advanced micro") || vendor.contains("amd") {
            let t = d.topology_amd().ok()?;
            Some(format!(
                "0000:{:02x}:{:02x}.{:x}",
                t.bus, t.device, t.function
            ))
        } else {
            None
        }
    }))
    .ok()
    .flatten()
}

/// Picks devices: `platform` by index or (case-insensitive substring of) name, `devices` by index
/// within it. Defaults: every device of every platform.
pub fn select_devices(
    all: &[DeviceInfo],
    platform: Option<&str>,
    devices: Option<&[usize]>,
) -> Result<Vec<DeviceInfo>> {
    let mut chosen: Vec<DeviceInfo> = match platform {
        None => all.to_vec(),
        Some(sel) => {
            let by_index = sel.parse::<usize>().ok();
            let v: Vec<DeviceInfo> = all
                .iter()
                .filter(|d| {
                    by_index == Some(d.platform)
                        || d.platform_name.to_lowercase().contains(&sel.to_lowercase())
                })
                .cloned()
                .collect();
            if v.is_empty() {
                return Err(Error::Backend(format!(
                    "no OpenCL platform matches {sel:?} (see --list-devices)"
                )));
            }
            v
        }
    };
    if let Some(idx) = devices {
        for i in idx {
            if !chosen.iter().any(|d| d.index == *i) {
                return Err(Error::Backend(format!(
                    "no OpenCL device {i} on the chosen platform (see --list-devices)"
                )));
            }
        }
        chosen.retain(|d| idx.contains(&d.index));
    }
    Ok(chosen)
}
