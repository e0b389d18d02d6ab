//! `netminer [--caddr …]`: mine for a coordinator until Ctrl-C.

use crate::cli::MineArgs;
use crate::{backends, table_setup};
use anyhow::{bail, Context, Result};
use netminer::client::{run, MinerConfig};
use netminer::config::MinerFile;
use secrecy::ExposeSecret;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

fn load(path: &Path) -> Result<MinerFile> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    MinerFile::parse(&text)
        .with_context(|| format!("{} is not a valid netminer config", path.display()))
}

pub fn mine(args: MineArgs) -> Result<()> {
    let file = match &args.config {
        Some(p) => load(p)?,
        None => MinerFile::default(),
    };
    let caddr = if args.caddr.is_empty() {
        file.caddr
    } else {
        args.caddr
    };
    if caddr.is_empty() {
        bail!("no coordinator: give --caddr host:1234 (or caddr in the config)");
    }
    let identity = args
        .identity
        .or(file.identity)
        .context("no --identity: every box needs its own identity")?;
    let coinbase = args
        .coinbase
        .or(file.coinbase)
        .context("no --coinbase: the FA address that receives the rewards")?;
    // Refuse bad names before the (possibly long) table load.
    if !pegnet::validate::valid_identity(identity.as_bytes()) {
        bail!("--identity {identity:?} is not valid: use ASCII letters, digits and commas only");
    }
    if let Err(e) = pegnet::record::check_identity_cost(&identity) {
        bail!("--identity: {e}");
    }
    if !pegnet::validate::valid_coinbase(coinbase.as_bytes()) {
        bail!("--coinbase {coinbase:?} is not a valid FA address");
    }
    let secret = args
        .secret
        .or(file.secret)
        .filter(|s| !s.expose_secret().is_empty())
        .context("no shared secret: give --secret (or NETMINE_SECRET, or secret in the config)")?;
    let threads = args
        .miners
        .or(file.miners)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let top = args.top.or(file.top).unwrap_or(3);
    let (table, _) = table_setup::load(&args.table)?;
    let backend: Arc<dyn hashcore::MiningBackend> =
        Arc::from(backends::start(&table, &args.backend, threads)?);
    let cfg = MinerConfig {
        coordinators: caddr,
        secret: protocol::Secret::new(secret.expose_secret()),
        identity,
        coinbase,
        top,
        stats_every: Duration::from_secs(10),
        failback_every: Duration::from_secs(30),
    };
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let (tx, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                tracing::info!("stopping");
                let _ = tx.send(true);
            }
        });
        run(cfg, backend, rx).await.map_err(anyhow::Error::from)
    })
}
