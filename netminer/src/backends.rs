//! Choosing and starting the hashing backends from the command line.

use crate::cli::{BackendFlags, BackendKind};
use anyhow::{bail, Result};
use hashcore::devices::WatchdogOptions;
use hashcore::opencl::{self, OpenClBackend, OpenClOptions, SensorSource};
use hashcore::{CombinedBackend, CpuBackend, MiningBackend, Table};
use std::sync::Arc;

/// Prints the OpenCL devices (`--list-devices`).
pub fn list_devices() -> Result<()> {
    let devices = opencl::list_devices()?;
    if devices.is_empty() {
        println!("no OpenCL devices");
    }
    for d in devices {
        println!(
            "platform {} ({})  device {}: {}  vendor {}  driver {}  memory {} MiB  max alloc {} MiB  compute units {}",
            d.platform,
            d.platform_name,
            d.index,
            d.name,
            d.vendor,
            d.driver,
            d.global_mem >> 20,
            d.max_alloc >> 20,
            d.compute_units
        );
    }
    Ok(())
}

/// How the OpenCL devices are watched: the watchdog's settings and where their sensors are.
#[derive(Clone, Default)]
pub struct GpuHealth {
    /// When a device is reinitialized, disabled or paused for heat.
    pub watchdog: WatchdogOptions,
    /// The devices' temperature and fan sensors (`None`: none read).
    pub sensors: Option<Arc<dyn SensorSource>>,
}

fn start_opencl(
    table: &Arc<Table>,
    flags: &BackendFlags,
    health: &GpuHealth,
    first_id: u8,
) -> Result<OpenClBackend> {
    let all = opencl::list_devices()?;
    let chosen = opencl::select_devices(
        &all,
        flags.opencl_platform.as_deref(),
        flags.opencl_devices.as_deref(),
    )?;
    Ok(OpenClBackend::start(
        table.clone(),
        &chosen,
        first_id,
        OpenClOptions {
            workload: flags.opencl_workload,
            watchdog: health.watchdog.clone(),
            sensors: health.sensors.clone(),
        },
    )?)
}

/// Starts the backends the flags ask for. CPU threads take nonce ids 0..threads, OpenCL devices the
/// ids after them, so no two workers ever hash the same nonce. Without a usable OpenCL device the
/// miner falls back to the CPU and says so in one line.
pub fn start(
    table: &Arc<Table>,
    flags: &BackendFlags,
    health: &GpuHealth,
    threads: usize,
) -> Result<Box<dyn MiningBackend>> {
    if threads == 0 {
        bail!("--threads/--miners must be at least 1");
    }
    let cpu = || -> Result<Box<dyn MiningBackend>> {
        Ok(Box::new(CpuBackend::start(table.clone(), threads, 0)?))
    };
    match flags.backend.unwrap_or(BackendKind::Cpu) {
        BackendKind::Cpu => cpu(),
        BackendKind::Opencl => match start_opencl(table, flags, health, 0) {
            Ok(b) => Ok(Box::new(b)),
            Err(e) => {
                tracing::warn!("{e:#}; falling back to the CPU backend");
                cpu()
            }
        },
        BackendKind::All => {
            let first =
                u8::try_from(threads).map_err(|_| anyhow::anyhow!("at most 255 CPU threads"))?;
            match start_opencl(table, flags, health, first) {
                Ok(gpu) => Ok(Box::new(CombinedBackend::new(vec![cpu()?, Box::new(gpu)]))),
                Err(e) => {
                    tracing::warn!("{e:#}; mining on the CPU only");
                    cpu()
                }
            }
        }
    }
}
