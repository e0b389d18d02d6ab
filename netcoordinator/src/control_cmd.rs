//! `netcoordinator miners pause|resume|restart NAME… (or --all)`: remote control of running
//! miners through the coordinator's HTTP API (`POST /api/miners/control`, with the token as a
//! Bearer header: every change needs it, also on loopback). Each miner's answer is printed, one
//! line each; the command fails when any miner did not do it.

use anyhow::{bail, Context, Result};
use coordinator::http::control::BulkReport;
use coordinator::server::ControlOutcome;
use protocol::text::sanitize;
use secrecy::{ExposeSecret, SecretString};
use std::path::Path;
use std::time::Duration;

/// Where the API is and how to reach it.
#[derive(Debug, Clone, clap::Args)]
pub struct ApiFlags {
    /// The coordinator's HTTP address (default: the config's `http`, else 127.0.0.1:7780; an
    /// every-interface address is asked on 127.0.0.1).
    #[arg(long, value_name = "ADDR")]
    http: Option<String>,
    /// The HTTP token (default: NETMINE_HTTP_TOKEN, else the config's http_token). Required:
    /// the API changes nothing without it.
    #[arg(long, value_name = "TOKEN", alias = "token")]
    http_token: Option<SecretString>,
}

/// What to control, and how.
#[derive(Debug, Clone, clap::Args)]
pub struct ControlArgs {
    /// The miners' identities.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    identities: Vec<String>,
    /// Every connected miner.
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    api: ApiFlags,
}

/// Asks the coordinator to `action` the miners `a` names, and prints each one's answer.
pub fn run(config: Option<&Path>, action: &str, a: ControlArgs) -> Result<()> {
    let mut cfg = coordinator::config::CoordinatorConfig::load_or_default(config)?;
    cfg.apply_env(&coordinator::config::Environment::from_process())?;
    let given = a.api.http.as_deref().unwrap_or(if config.is_some() {
        cfg.http.as_str()
    } else {
        coordinator::http::DEFAULT_ADDR
    });
    let Some(mut addr) = coordinator::http::parse_addr(given)? else {
        bail!(
            "the coordinator's HTTP API is off (http = \"{given}\"): turn it on to control miners"
        );
    };
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let Some(token) = a.api.http_token.clone().or(cfg.http_token) else {
        bail!("controlling miners needs the coordinator's http_token (--http-token, NETMINE_HTTP_TOKEN or the config's http_token)");
    };
    let url = format!("http://{addr}/api/miners/control");
    let body = if a.all {
        serde_json::json!({ "action": action, "all": true })
    } else {
        serde_json::json!({ "action": action, "miners": a.identities })
    };
    let rt = tokio::runtime::Runtime::new()?;
    let report: BulkReport = rt.block_on(async {
        let http = reqwest::Client::builder()
            .timeout(coordinator::server::CONTROL_WAIT + Duration::from_secs(10))
            .build()?;
        let resp = http
            .post(&url)
            .bearer_auth(token.expose_secret())
            .json(&body)
            .send()
            .await
            .with_context(|| format!("asking the coordinator at {url} (is it running, with http on?)"))?;
        let code = resp.status();
        let text = resp.text().await.with_context(|| format!("reading {url}"))?;
        if code == reqwest::StatusCode::UNAUTHORIZED || code == reqwest::StatusCode::FORBIDDEN {
            bail!("{url}: token missing or refused: give the coordinator's http_token (--http-token or NETMINE_HTTP_TOKEN)");
        }
        if !code.is_success() {
            bail!("{url}: HTTP {code}: {}", sanitize(text.trim()));
        }
        serde_json::from_str(&text).with_context(|| format!("{url} answered what this netcoordinator does not read"))
    })?;
    if report.results.is_empty() {
        println!("no miner is connected");
    }
    let mut failed = 0;
    for r in &report.results {
        if r.outcome != ControlOutcome::Done {
            failed += 1;
        }
        let outcome = serde_json::to_value(r.outcome)?;
        println!(
            "{}: {} ({})",
            sanitize(&r.identity),
            outcome.as_str().unwrap_or("?"),
            sanitize(&r.detail)
        );
    }
    if failed > 0 {
        bail!(
            "{failed} of {} miners did not {action}",
            report.results.len()
        );
    }
    Ok(())
}
