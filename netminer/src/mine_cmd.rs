//! `netminer [--caddr …]`: mine for a coordinator until Ctrl-C.

use crate::cli::MineArgs;
use crate::{backends, table_setup};
use anyhow::{bail, Context, Result};
use netmine_link::{CoordinatorAddr, LinkConfig};
use netminer::client::{run, MinerConfig};
use netminer::config::{MinerFile, TableSource};
use secrecy::ExposeSecret;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub(crate) fn load(path: &Path) -> Result<MinerFile> {
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
    let coordinators = CoordinatorAddr::parse_all(&caddr).context("--caddr")?;
    let identity = args
        .identity
        .or(file.identity)
        .context("no --identity: every box needs its own identity")?;
    let coinbase = args
        .coinbase
        .or(file.coinbase)
        .context("no --coinbase: the FA address that receives the rewards")?;
    let secret = args
        .secret
        .or(file.secret)
        .filter(|s| !s.expose_secret().is_empty())
        .context("no shared secret: give --secret (or NETMINE_SECRET, or secret in the config)")?;
    let checked = protocol::Secret::checked(secret.expose_secret())?;
    netmine_cli::warn_if_secret_flag();
    let pins = if args.tls_fingerprint.is_empty() {
        file.tls_fingerprint
    } else {
        args.tls_fingerprint
    };
    let tls = match (pins.is_empty(), args.tls_ca.or(file.tls_ca)) {
        (false, Some(_)) => bail!("give --tls-fingerprint or --tls-ca, not both"),
        (false, None) => netmine_link::tls::TlsTrust::Pinned(
            pins.iter()
                .map(|p| netmine_link::tls::parse_fingerprint(p))
                .collect::<Result<_, _>>()?,
        ),
        (true, Some(ca)) => netmine_link::tls::TlsTrust::CaFile(ca),
        (true, None) => netmine_link::tls::TlsTrust::SystemRoots,
    };
    let threads = args
        .miners
        .or(file.miners)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let top = args.top.or(file.top).unwrap_or(3);
    let stats_interval = args
        .stats_interval
        .or(file.stats_interval_secs)
        .unwrap_or(900.0);
    if !(stats_interval.is_finite() && stats_interval >= 1.0) {
        bail!("--stats-interval (stats_interval_secs) must be a number of seconds >= 1");
    }
    let table_source = args
        .table_source
        .or(file.table_source)
        .unwrap_or(TableSource::Coordinator);
    let cfg = MinerConfig {
        link: LinkConfig {
            coordinators,
            secret: checked,
            identity,
            coinbase,
            failback_every: Duration::from_secs(30),
            tls,
            ..Default::default()
        },
        top,
        stats_every: Duration::from_secs(10),
        stats_line_every: Duration::from_secs_f64(stats_interval.min(86_400.0)),
    };
    // The names are checked before anything connects (the table copy included) and before the
    // (possibly long) table load.
    cfg.link.check()?;
    let rt = tokio::runtime::Runtime::new()?;
    if table_source == TableSource::Coordinator {
        rt.block_on(table_setup::copy_from_coordinator(&cfg.link, &args.table))?;
    }
    let (table, _) = table_setup::load(&args.table)?;
    let backend: Arc<dyn hashcore::MiningBackend> =
        Arc::from(backends::start(&table, &args.backend, threads)?);
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

#[cfg(test)]
mod tests {
    use super::MinerFile;

    #[test]
    fn every_documented_key_parses() {
        let text = include_str!("../../config/netminer.toml");
        let all: String = text
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(r) if r.contains(" = ") && !r.starts_with("host") => r,
                _ => l,
            })
            .map(|l| l.split("   (").next().unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n");
        let f: MinerFile = toml::from_str(&all).unwrap();
        assert_eq!(f.caddr.len(), 2);
        assert_eq!(f.tls_fingerprint.len(), 1);
        assert!(f.tls_ca.is_some());
    }
}
