//! `netminer [--caddr …]`: mine for a coordinator until Ctrl-C or SIGTERM.

use crate::cli::{BackendFlags, MineArgs, TableFlags};
use crate::{backends, settings, table_setup};
use anyhow::{Context, Result};
use netminer::client::run_controlled;
use netminer::config::{Environment, TableSource};
use netminer::control::{BackendSettings, Controlled};
use std::sync::Arc;

/// Mines until Ctrl-C or SIGTERM (or, with `--check-config`, only checks the settings).
pub fn mine(args: MineArgs) -> Result<()> {
    let (check_only, file) = (args.check_config, args.config.clone());
    let f = settings::resolve(args, &Environment::from_process())?;
    if check_only {
        return settings::check(&f, file.as_deref());
    }
    netmine_cli::warn_if_secret_flag();
    // Every problem is refused before anything connects (the table copy included) and before
    // the (possibly long) table load: the same checks as --check-config.
    let mut cfg = f.miner_config().map_err(|p| anyhow::anyhow!("{p}"))?;
    let dir = f
        .data_dir_or_default()
        .context("no data_dir and no HOME: give --data-dir for the box key")?;
    cfg.link.key = Some(netmine_link::key_file::load_or_create(&dir)?);
    let table = TableFlags {
        bits: f.bits,
        table_dir: f.table_dir.clone(),
    };
    let backend = BackendFlags {
        backend: f.backend,
        opencl_platform: f.opencl_platform.clone(),
        opencl_devices: f.opencl_devices.clone(),
        opencl_workload: f.opencl_workload,
    };
    let rt = tokio::runtime::Runtime::new()?;
    if f.table_source.unwrap_or(TableSource::Coordinator) == TableSource::Coordinator {
        rt.block_on(table_setup::copy_from_coordinator(&cfg.link, &table))?;
    }
    let (table, _) = table_setup::load(&table)?;
    let health = backends::GpuHealth {
        watchdog: f.watchdog(),
        sensors: Some(Arc::new(netminer::sensors::Sensors::system())),
    };
    let settings = BackendSettings {
        threads: f.threads_or_default(),
        opencl_devices: backend.opencl_devices.clone(),
        uses_opencl: backend
            .backend
            .is_some_and(|k| k != crate::cli::BackendKind::Cpu),
    };
    let first: Arc<dyn hashcore::MiningBackend> = Arc::from(backends::start(
        &table,
        &backend,
        &health,
        settings.threads,
    )?);
    // The coordinator may rebuild the backends (remote control): the same flags and GPU health
    // settings, with its thread count and device list.
    let rebuild: netminer::control::Rebuild = Box::new(move |s: &BackendSettings| {
        let flags = BackendFlags {
            opencl_devices: s.opencl_devices.clone(),
            ..backend.clone()
        };
        backends::start(&table, &flags, &health, s.threads)
    });
    let ctl = Arc::new(Controlled::rebuildable(first, settings, rebuild));
    rt.block_on(async {
        let (tx, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            netmine_cli::shutdown_signal().await;
            tracing::info!("stopping");
            let _ = tx.send(true);
        });
        run_controlled(cfg, ctl, rx)
            .await
            .map_err(anyhow::Error::from)
    })
}

/// `netminer key`: this box's public key, one line, made first if there is none.
pub fn key(args: &crate::cli::KeyArgs) -> Result<()> {
    let flags = MineArgs {
        config: args.config.clone(),
        data_dir: args.data_dir.clone(),
        ..Default::default()
    };
    let f = settings::resolve(flags, &Environment::from_process())?;
    let dir = f
        .data_dir_or_default()
        .context("no data_dir and no HOME: give --data-dir")?;
    let key = netmine_link::key_file::load_or_create(&dir)?;
    println!("{}", key.public());
    let id = f.identity.as_deref().unwrap_or("IDENTITY");
    eprintln!(
        "# on the coordinator: netcoordinator miners add {id} {} (not needed in first-use mode: the first login pins it)",
        key.public()
    );
    Ok(())
}
