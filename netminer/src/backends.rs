//! Choosing and starting the hashing backends from the command line.

use crate::cli::{BackendFlags, BackendKind};
use anyhow::{bail, Result};
use hashcore::opencl::{self, OpenClBackend, OpenClOptions};
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

fn start_opencl(table: &Arc<Table>, flags: &BackendFlags, first_id: u8) -> Result<OpenClBackend> {
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
        },
    )?)
}

/// Starts the backends the flags ask for. CPU threads take nonce ids 0..threads, OpenCL devices the
/// ids after them, so no two workers ever hash the same nonce. Without a usable OpenCL device the
/// miner falls back to the CPU and says so in one line.
pub fn start(
    table: &Arc<Table>,
    flags: &BackendFlags,
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
        BackendKind::Opencl => match start_opencl(table, flags, 0) {
            Ok(b) => Ok(Box::new(b)),
            Err(e) => {
                tracing::warn!("{e:#}; falling back to the CPU backend");
                cpu()
            }
        },
        BackendKind::All => {
            let first =
                u8::try_from(threads).map_err(|_| anyhow::anyhow!("at most 255 CPU threads"))?;
            match start_opencl(table, flags, first) {
                Ok(gpu) => Ok(Box::new(CombinedBackend::new(vec![cpu()?, Box::new(gpu)]))),
                Err(e) => {
                    tracing::warn!("{e:#}; mining on the CPU only");
                    cpu()
                }
            }
        }
    }
}
