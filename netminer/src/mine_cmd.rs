//! `netminer [--caddr …]`: mine for a coordinator until Ctrl-C or SIGTERM.

use crate::cli::{BackendFlags, MineArgs, TableFlags};
use crate::{backends, settings, table_setup};
use anyhow::{Context, Result};
use netminer::client::run;
use netminer::config::{Environment, TableSource};
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
    let backend: Arc<dyn hashcore::MiningBackend> = Arc::from(backends::start(
        &table,
        &backend,
        &health,
        f.threads_or_default(),
    )?);
    rt.block_on(async {
        let (tx, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            netmine_cli::shutdown_signal().await;
            tracing::info!("stopping");
            let _ = tx.send(true);
        });
        run(cfg, backend, rx).await.map_err(anyhow::Error::from)
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
