//! `netcoordinator status`: what `/api/status` and `/api/miners` say, as tables, for an operator
//! on the coordinator's box (or anywhere its HTTP API is reachable).

use anyhow::{bail, Context, Result};
use coordinator::telemetry::views::{MinerView, MinersView, StatusView};
use protocol::format_rate;
use secrecy::{ExposeSecret, SecretString};
use std::path::PathBuf;
use std::time::Duration;

/// Arguments of `netcoordinator status`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The coordinator's HTTP address (default: the config's `http`, else 127.0.0.1:7780; an
    /// every-interface address is asked on 127.0.0.1).
    #[arg(long, value_name = "ADDR")]
    http: Option<String>,
    /// The daemon's config, for its `http` address and `http_token`.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The HTTP token, when the API needs one (default: NETMINE_HTTP_TOKEN, else the config's
    /// http_token).
    #[arg(long, value_name = "TOKEN", alias = "token")]
    http_token: Option<SecretString>,
    /// Print the two JSON documents instead of tables.
    #[arg(long)]
    json: bool,
}

/// The base URL to ask.
fn base_url(a: &StatusArgs, cfg_http: Option<&str>) -> Result<String> {
    let given = a
        .http
        .as_deref()
        .or(cfg_http)
        .unwrap_or(coordinator::http::DEFAULT_ADDR);
    let Some(mut addr) = coordinator::http::parse_addr(given)? else {
        bail!("the coordinator's HTTP API is off (http = \"{given}\"): turn it on to use status");
    };
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    Ok(format!("http://{addr}"))
}

/// Runs `status`.
pub fn run(a: &StatusArgs) -> Result<()> {
    // The daemon's own layers: its file, the environment, then this command's flags.
    let mut cfg = coordinator::config::CoordinatorConfig::load_or_default(a.config.as_deref())?;
    cfg.apply_env(&coordinator::config::Environment::from_process())?;
    let base = base_url(a, a.config.as_ref().map(|_| cfg.http.as_str()))?;
    let token = a.http_token.clone().or(cfg.http_token);
    let rt = tokio::runtime::Runtime::new()?;
    let (status, miners) = rt.block_on(async {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?;
        let get = |path: &'static str| {
            let mut req = http.get(format!("{base}{path}"));
            if let Some(t) = &token {
                req = req.bearer_auth(t.expose_secret());
            }
            let base = base.clone();
            async move {
                let resp = req.send().await.with_context(|| {
                    format!("asking the coordinator at {base} (is it running, with http on?)")
                })?;
                let code = resp.status();
                if code == reqwest::StatusCode::UNAUTHORIZED {
                    bail!("{base}{path}: token missing or refused: give the coordinator's http_token (--http-token or NETMINE_HTTP_TOKEN)");
                }
                if !code.is_success() {
                    bail!("{base}{path}: HTTP {code}");
                }
                resp.text()
                    .await
                    .with_context(|| format!("reading {base}{path}"))
            }
        };
        anyhow::Ok((get("/api/status").await?, get("/api/miners").await?))
    })?;
    if a.json {
        println!("{status}\n{miners}");
        return Ok(());
    }
    let status: StatusView = serde_json::from_str(&status)
        .context("the coordinator's /api/status is not what this netcoordinator reads")?;
    let miners: MinersView = serde_json::from_str(&miners)
        .context("the coordinator's /api/miners is not what this netcoordinator reads")?;
    print!("{}", status_table(&status));
    println!();
    print!("{}", miners_table(&miners.miners));
    Ok(())
}

/// The status as `key  value` lines.
pub fn status_table(s: &StatusView) -> String {
    let opt = |v: Option<String>| v.unwrap_or_else(|| "–".into());
    let mut rows: Vec<(&str, String)> = vec![
        ("version", s.version.clone()),
        ("network", opt(s.network.clone())),
        (
            "block",
            match (s.height, s.minute) {
                (Some(h), Some(m)) => format!("{h}, minute {m}"),
                _ => "–".into(),
            },
        ),
        (
            "job",
            match (&s.job, &s.skipped) {
                (Some(j), _) => format!(
                    "#{} for {} (min difficulty {})",
                    j.id, j.height, j.min_difficulty
                ),
                (None, Some(why)) => format!("none: skipped ({why})"),
                (None, None) => "none".into(),
            },
        ),
        (
            "factomd",
            format!(
                "{:?}{}",
                s.factomd.state,
                s.factomd
                    .last_error
                    .as_ref()
                    .map_or(String::new(), |e| format!(" (last error: {e})"))
            )
            .to_lowercase(),
        ),
        ("ec address", opt(s.ec_address.clone())),
        (
            "ec balance",
            match (s.ec_balance, s.blocks_left) {
                (Some(b), Some(left)) => format!("{b} EC (≈ {left} blocks at the current spend)"),
                (Some(b), None) => format!("{b} EC"),
                _ => "–".into(),
            },
        ),
        ("miners", s.miners_connected.to_string()),
        (
            "hash rate",
            format!(
                "{} (10 s)  {} (60 s)  {} (15 min)",
                format_rate(s.hash_rate.rate_10s),
                format_rate(s.hash_rate.rate_60s),
                format_rate(s.hash_rate.rate_15m)
            ),
        ),
        ("uptime", format!("{} s", s.uptime_secs)),
    ];
    for p in &s.prices {
        rows.push((
            "price source",
            format!(
                "{}: {}{}",
                p.name,
                p.state,
                p.last_error
                    .as_ref()
                    .map_or(String::new(), |e| format!(" ({e})"))
            ),
        ));
    }
    rows.iter().map(|(k, v)| format!("{k:<13} {v}\n")).collect()
}

/// The miners as an aligned table.
pub fn miners_table(miners: &[MinerView]) -> String {
    if miners.is_empty() {
        return "no miner connected in the last hour\n".into();
    }
    let header = [
        "IDENTITY",
        "STATE",
        "ADDRESS",
        "BACKEND",
        "RATE 60s",
        "RATE 15m",
        "EFFECTIVE",
        "ACCEPTED",
        "REJECTED",
        "PAID",
    ];
    let rows: Vec<[String; 10]> = miners
        .iter()
        .map(|m| {
            [
                m.identity.clone(),
                if m.connected {
                    "connected"
                } else {
                    "disconnected"
                }
                .into(),
                match &m.via {
                    Some(relay) => format!("{} via {relay}", m.address),
                    None => m.address.clone(),
                },
                m.backend.clone().unwrap_or_else(|| "–".into()),
                format_rate(m.rate_60s),
                format_rate(m.rate_15m),
                m.effective_rate.map_or("–".into(), format_rate),
                m.records_accepted.to_string(),
                m.records_rejected.values().sum::<u64>().to_string(),
                m.entries_paid.to_string(),
            ]
        })
        .collect();
    let mut width = header.map(|h| h.chars().count());
    for r in &rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| -> String {
        let mut out = String::new();
        for (k, (c, w)) in cells.iter().zip(width).enumerate() {
            if k > 0 {
                out.push_str("  ");
            }
            out.push_str(c);
            if k + 1 < cells.len() {
                out.push_str(&" ".repeat(w - c.chars().count()));
            }
        }
        out.push('\n');
        out
    };
    let mut out = line(&header.map(String::from));
    for r in &rows {
        out.push_str(&line(r));
    }
    out
}
