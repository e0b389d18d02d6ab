//! `netcoordinator relay`: the command line of [`netcoordinator::relay`].

use anyhow::{bail, Context, Result};
use coordinator::config::CoordinatorConfig;
use secrecy::{ExposeSecret, SecretString};
use std::path::PathBuf;

/// Arguments of `netcoordinator relay`; each overrides the config file's key.
#[derive(Debug, clap::Args)]
pub struct RelayArgs {
    /// TOML config: the coordinator's keys for the relay's own miners (caddr, secret, limits,
    /// tls, bits, table_dir, data_dir for the TLS certificate; default ~/.netmine) plus upstream,
    /// upstream_secret, relay_name, upstream_tls_fingerprint.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The upstream coordinator(s), preferred first: host:port, ws://… or wss://….
    #[arg(long, value_name = "ADDRS", value_delimiter = ',')]
    upstream: Vec<String>,
    /// The upstream's relay secret (its relay_secret; its farm secret if it has none), also
    /// NETMINE_UPSTREAM_SECRET.
    #[arg(long, env = "NETMINE_UPSTREAM_SECRET", hide_env_values = true)]
    upstream_secret: Option<SecretString>,
    /// Pin a wss:// upstream's certificate: sha256:<hex> (comma-separated for several).
    #[arg(long, value_name = "sha256:HEX", value_delimiter = ',')]
    upstream_tls_fingerprint: Vec<String>,
    /// This relay's name: its identity at the upstream, which lists it in its `relays`.
    #[arg(long)]
    name: Option<String>,
    /// Where this relay's miners connect (`:1234` = every interface).
    #[arg(long, value_name = "ADDR")]
    caddr: Option<String>,
    /// The secret of this relay's own miners (also NETMINE_SECRET).
    #[arg(long, env = "NETMINE_SECRET", hide_env_values = true)]
    secret: Option<SecretString>,
    /// LXRHash table size: the upstream's (default 30; a relay set up for another size than
    /// its upstream's is refused at start). Copied from the upstream when missing.
    #[arg(long, value_name = "N")]
    bits: Option<u32>,
    /// Table cache directory.
    #[arg(long, value_name = "DIR")]
    table_dir: Option<PathBuf>,
}

/// Runs the relay until Ctrl-C.
pub fn run(a: RelayArgs) -> Result<()> {
    let mut c = match &a.config {
        Some(p) => CoordinatorConfig::load(p)?,
        None => CoordinatorConfig::default(),
    };
    if !a.upstream.is_empty() {
        c.upstream = a.upstream;
    }
    if a.upstream_secret.is_some() {
        c.upstream_secret = a.upstream_secret;
    }
    if !a.upstream_tls_fingerprint.is_empty() {
        c.upstream_tls_fingerprint = a.upstream_tls_fingerprint;
    }
    if a.name.is_some() {
        c.relay_name = a.name;
    }
    if let Some(x) = a.caddr {
        c.caddr = x;
    }
    if a.secret.is_some() {
        c.secret = a.secret;
    }
    if a.bits.is_some() {
        c.bits = a.bits;
    }
    if a.table_dir.is_some() {
        c.table_dir = a.table_dir;
    }
    if c.upstream.is_empty() {
        bail!("no upstream: give --upstream HOST:PORT (or upstream in the config)");
    }
    let name = c
        .relay_name
        .clone()
        .context("no --name: the relay's identity at the upstream (listed in its `relays`)")?;
    let upstream_secret = c.upstream_secret.as_ref().context(
        "no upstream secret: set NETMINE_UPSTREAM_SECRET (or upstream_secret in the config)",
    )?;
    let upstream_secret = protocol::Secret::checked(upstream_secret.expose_secret())
        .map_err(|e| anyhow::anyhow!("the upstream secret: {e}"))?;
    let secret = c.secret.as_ref().context(
        "no secret for the relay's miners: set NETMINE_SECRET (or secret in the config)",
    )?;
    let secret = protocol::Secret::checked(secret.expose_secret())
        .map_err(|e| anyhow::anyhow!("the relay's secret: {e}"))?;
    let upstream = netmine_link::CoordinatorAddr::parse_all(&c.upstream).context("--upstream")?;
    let upstream_tls = if c.upstream_tls_fingerprint.is_empty() {
        netmine_link::TlsTrust::SystemRoots
    } else {
        netmine_link::TlsTrust::Pinned(
            c.upstream_tls_fingerprint
                .iter()
                .map(|p| netmine_link::tls::parse_fingerprint(p))
                .collect::<Result<_, _>>()?,
        )
    };
    let data_dir = c.data_dir()?;
    let tls = c.server_tls(&data_dir).context("setting up TLS")?;
    let mut server = c.server_limits();
    server.secret = Some(secret);
    server.relay_secret = c
        .relay_secret
        .as_ref()
        .map(|s| protocol::Secret::checked(s.expose_secret()))
        .transpose()
        .map_err(|e| anyhow::anyhow!("relay_secret: {e}"))?;
    server.tls = tls;
    // The relay only checks; the upstream's records_per_miner is the limit that pays. Its own is
    // at least as large, so it never refuses what the upstream would take.
    server.records_per_miner = server.records_per_miner.max(100);
    let opts = netcoordinator::relay::RelayOptions {
        upstream,
        upstream_secret,
        upstream_tls,
        name,
        listen: c.listen_addr()?,
        server,
        bits: c.bits,
        table_dir: c.table_dir.clone(),
    };
    tokio::runtime::Runtime::new()?.block_on(async {
        let mut relay = netcoordinator::relay::start(opts).await?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => {
                r?;
                tracing::info!("stopping");
                drop(relay);
                anyhow::Ok(())
            }
            end = &mut relay.link => match end {
                Ok(Some(why)) => bail!("{why}"),
                Ok(None) => anyhow::Ok(()),
                Err(e) => bail!("the relay's link failed: {e}"),
            },
        }
    })
}
