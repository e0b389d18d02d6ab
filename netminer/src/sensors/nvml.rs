//! NVML, NVIDIA's management library, loaded at run time (`libnvidia-ml.so.1` comes with the
//! driver; a box without it has no NVIDIA sensors, nothing else changes). Only four calls are
//! used, behind [`NvmlApi`] so tests can fake them.

use super::{plausible_fan, plausible_temp};
use hashcore::devices::{Reading, Sensor};
use libloading::{Library, Symbol};
use std::ffi::{c_char, c_uint, c_void, CString};
use std::sync::Arc;

/// NVML's success code (`NVML_SUCCESS`).
const NVML_SUCCESS: i32 = 0;
/// `NVML_TEMPERATURE_GPU`: the GPU die.
const NVML_TEMPERATURE_GPU: c_uint = 0;

/// An NVML device handle (`nvmlDevice_t`), as an integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NvmlDevice(pub usize);

/// The NVML calls the miner makes.
pub trait NvmlApi: Send + Sync {
    /// The device at PCI address `pci` (`0000:01:00.0`).
    fn device_by_pci(&self, pci: &str) -> Option<NvmlDevice>;
    /// Its GPU temperature in °C.
    fn temperature(&self, d: NvmlDevice) -> Option<u32>;
    /// Its fan speed in percent.
    fn fan_speed(&self, d: NvmlDevice) -> Option<u32>;
}

type InitFn = unsafe extern "C" fn() -> i32;
type ByPciFn = unsafe extern "C" fn(*const c_char, *mut *mut c_void) -> i32;
type TempFn = unsafe extern "C" fn(*mut c_void, c_uint, *mut c_uint) -> i32;
type FanFn = unsafe extern "C" fn(*mut c_void, *mut c_uint) -> i32;

/// The real NVML, initialised once; shut down when dropped.
pub struct NvmlLibrary {
    by_pci: ByPciFn,
    temp: TempFn,
    fan: FanFn,
    shutdown: InitFn,
    // Keeps the library mapped while the function pointers above are in use.
    _lib: Library,
}

// SAFETY: NVML is thread-safe (its documentation: "all NVML functions are thread-safe"), and the
// struct holds only function pointers and the library handle.
unsafe impl Send for NvmlLibrary {}
unsafe impl Sync for NvmlLibrary {}

impl NvmlLibrary {
    /// Loads and initialises `libnvidia-ml.so.1`; `None` (logged at debug level) when the box has
    /// no NVIDIA driver or it fails to start.
    pub fn load() -> Option<NvmlLibrary> {
        // SAFETY: loading NVML runs its (driver-provided) initialisers; the symbols are looked
        // up with the signatures of NVML's public header (nvml.h).
        let loaded = unsafe {
            Library::new("libnvidia-ml.so.1").and_then(|lib| {
                let init: Symbol<InitFn> = lib.get(b"nvmlInit_v2\0")?;
                let by_pci: Symbol<ByPciFn> = lib.get(b"nvmlDeviceGetHandleByPciBusId_v2\0")?;
                let temp: Symbol<TempFn> = lib.get(b"nvmlDeviceGetTemperature\0")?;
                let fan: Symbol<FanFn> = lib.get(b"nvmlDeviceGetFanSpeed\0")?;
                let shutdown: Symbol<InitFn> = lib.get(b"nvmlShutdown\0")?;
                let (init, by_pci, temp, fan, shutdown) = (*init, *by_pci, *temp, *fan, *shutdown);
                Ok((lib, init, by_pci, temp, fan, shutdown))
            })
        };
        let (lib, init, by_pci, temp, fan, shutdown) = match loaded {
            Ok(l) => l,
            Err(e) => {
                tracing::debug!("no NVML ({e}): no NVIDIA temperatures");
                return None;
            }
        };
        // SAFETY: nvmlInit_v2 takes no arguments.
        let rc = unsafe { init() };
        if rc != NVML_SUCCESS {
            tracing::warn!("NVML did not start (error {rc}): no NVIDIA temperatures");
            return None;
        }
        Some(NvmlLibrary {
            by_pci,
            temp,
            fan,
            shutdown,
            _lib: lib,
        })
    }
}

impl Drop for NvmlLibrary {
    fn drop(&mut self) {
        // SAFETY: initialised in `load`; called once.
        unsafe { (self.shutdown)() };
    }
}

impl NvmlApi for NvmlLibrary {
    fn device_by_pci(&self, pci: &str) -> Option<NvmlDevice> {
        let id = CString::new(pci).ok()?;
        let mut handle: *mut c_void = std::ptr::null_mut();
        // SAFETY: a NUL-terminated string and a pointer to a handle NVML writes.
        let rc = unsafe { (self.by_pci)(id.as_ptr(), &mut handle) };
        (rc == NVML_SUCCESS && !handle.is_null()).then_some(NvmlDevice(handle as usize))
    }

    fn temperature(&self, d: NvmlDevice) -> Option<u32> {
        let mut t: c_uint = 0;
        // SAFETY: a handle NVML gave and a pointer to a value it writes.
        let rc = unsafe { (self.temp)(d.0 as *mut c_void, NVML_TEMPERATURE_GPU, &mut t) };
        (rc == NVML_SUCCESS).then_some(t)
    }

    fn fan_speed(&self, d: NvmlDevice) -> Option<u32> {
        let mut p: c_uint = 0;
        // SAFETY: as above. Passively cooled cards answer "not supported".
        let rc = unsafe { (self.fan)(d.0 as *mut c_void, &mut p) };
        (rc == NVML_SUCCESS).then_some(p)
    }
}

/// One NVIDIA device's sensors through NVML.
pub struct NvmlSensor {
    api: Arc<dyn NvmlApi>,
    device: NvmlDevice,
}

impl NvmlSensor {
    /// The device at PCI address `pci`, if NVML knows it.
    pub fn find(api: &Arc<dyn NvmlApi>, pci: &str) -> Option<NvmlSensor> {
        Some(NvmlSensor {
            device: api.device_by_pci(pci)?,
            api: api.clone(),
        })
    }
}

impl Sensor for NvmlSensor {
    fn read(&self) -> Reading {
        Reading {
            temp_c: self
                .api
                .temperature(self.device)
                .and_then(|t| plausible_temp(t as f32)),
            fan_percent: self
                .api
                .fan_speed(self.device)
                .and_then(|p| plausible_fan(p as f32)),
        }
    }
}
