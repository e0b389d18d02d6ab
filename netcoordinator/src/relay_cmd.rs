//! `netcoordinator relay`: the command line of [`netcoordinator::relay`]. Its settings are
//! resolved and checked like the daemon's (see `settings`), for the relay's role.

use crate::settings::{self, RelayFlags};
use anyhow::{bail, Context, Result};
use coordinator::config::{Environment, Role};
use secrecy::ExposeSecret;

/// Runs the relay until Ctrl-C or SIGTERM (or, with `--check-config`, only checks its settings).
pub fn run(flags: RelayFlags) -> Result<()> {
    let check_only = flags.listener.check_config;
    let file = flags.listener.config.clone();
    let c = settings::resolve_relay(flags, &Environment::from_process())?;
    if check_only {
        return settings::check(&c, Role::Relay, file.as_deref());
    }
    netmine_cli::warn_if_secret_flag();
    // The same checks as --check-config: a bad key stops the relay before it starts.
    c.validate_relay()?;
    let upstream_secret = c
        .upstream_secret
        .as_ref()
        .map(|s| protocol::Secret::checked(s.expose_secret()))
        .transpose()?
        .context("no upstream secret")?;
    let upstream = netmine_link::CoordinatorAddr::parse_all(&c.upstream).context("upstream")?;
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
    let server = c.server(Role::Relay, &data_dir)?;
    let opts = netcoordinator::relay::RelayOptions {
        upstream,
        upstream_secret,
        upstream_tls,
        name: c.relay_name.clone().context("no relay_name")?,
        listen: c.listen_addr()?,
        server,
        bits: c.bits,
        table_dir: c.table_dir.clone(),
        data_dir,
        // The same address, token and checks as the daemon's (`http`, `http_token`).
        http: coordinator::daemon::http_settings(&c)?,
    };
    netmine_cli::raise_fd_limit_logged();
    tokio::runtime::Runtime::new()?.block_on(async {
        let mut relay = netcoordinator::relay::start(opts).await?;
        let mut http = relay.http.take().map(|(_, task)| task);
        tokio::select! {
            () = netmine_cli::shutdown_signal() => {
                tracing::info!("stopping");
                drop(relay);
                anyhow::Ok(())
            }
            end = &mut relay.link => match end {
                Ok(Some(why)) => bail!("{why}"),
                Ok(None) => anyhow::Ok(()),
                Err(e) => bail!("the relay's link failed: {e}"),
            },
            // Like the daemon's, the HTTP server ends only by failing.
            r = async { http.as_mut().expect("guarded").await }, if http.is_some() => {
                let why = match r {
                    Ok(Ok(())) => "stopped".to_string(),
                    Ok(Err(e)) => e.to_string(),
                    Err(e) => e.to_string(),
                };
                bail!("the relay's HTTP server failed: {why}")
            }
        }
    })
}
