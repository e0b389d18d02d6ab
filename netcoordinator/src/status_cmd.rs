//! `netcoordinator status`: what `/api/status` and `/api/miners` say, as tables, for an operator
//! on the coordinator's box (or anywhere its HTTP API is reachable). Whatever the API serves, no
//! escape sequence reaches the terminal: every value printed is sanitized.

use anyhow::{bail, Context, Result};
use coordinator::telemetry::views::{MinerView, MinersView, StatusView};
use protocol::format_rate;
use protocol::text::{sanitize, sanitize_to};
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
        println!("{}\n{}", escape_controls(&status), escape_controls(&miners));
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
        (
            "node faults",
            match &s.factomd.last_fault {
                Some(last) => format!("{} (last: {last})", s.factomd.faults),
                None => s.factomd.faults.to_string(),
            },
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
        ("role", role_line(s, coordinator::telemetry::unix_now())),
        (
            "miners",
            match s.miners_paused {
                0 => s.miners_connected.to_string(),
                p => format!("{} ({p} paused)", s.miners_connected),
            },
        ),
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
    // A relay: its link instead of what it does not have (factomd, EC).
    if let Some(r) = &s.relay {
        rows.retain(|(k, _)| {
            !matches!(*k, "factomd" | "node faults" | "ec address" | "ec balance")
        });
        let link = match (&r.upstream, r.linked) {
            (Some(u), true) => {
                format!("relay {} linked to {u} since unix time {}", r.name, r.since)
            }
            _ => format!(
                "relay {} cut from {} since unix time {}{}",
                r.name,
                r.upstreams.join(", "),
                r.since,
                r.last_error
                    .as_ref()
                    .map_or(String::new(), |e| format!(" ({e})"))
            ),
        };
        rows.push((
            "upstream",
            format!("{link}; {} submissions waiting", r.waiting),
        ));
    }
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
    rows.iter()
        .map(|(k, v)| format!("{k:<13} {}\n", sanitize_to(v, MAX_ROW)))
        .collect()
}

/// The most bytes a status line's value shows (a skip reason, the node's last error).
const MAX_ROW: usize = 1024;

/// JSON text with every control character a terminal could obey written as a `\uXXXX` escape.
/// JSON escapes those below U+0020 already; this also covers DEL and the C1 controls (U+0080 to
/// U+009F, such as the one-character CSI), which can only occur inside strings.
fn escape_controls(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if c.is_control() && !matches!(c, '\n' | '\r' | '\t') {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
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
            let cells = [
                m.identity.clone(),
                match (m.connected, m.paused) {
                    (true, true) => "paused",
                    (true, false) => "connected",
                    (false, _) => "disconnected",
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
            ];
            // Names come from miners and relays: never print what a terminal would obey.
            cells.map(|c| sanitize(&c).into_owned())
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

/// Which coordinator this is (primary or standby), whether the farm is using it (miners
/// connected, since when), and what its minute-9 fence found last.
fn role_line(s: &StatusView, now: u64) -> String {
    let role = if s.role.is_empty() {
        "primary"
    } else {
        &s.role
    };
    let mut line = match s.active_since {
        Some(t) => format!(
            "{role}, active for {} s (miners connected since unix time {t})",
            now.saturating_sub(t)
        ),
        None => format!("{role}, not active (no miner connected)"),
    };
    if let Some(f) = &s.fence {
        let found = match f.outcome.as_str() {
            "paid_elsewhere" => format!(
                "paid by the other coordinator ({} EC), nothing paid here",
                f.ec_spent_elsewhere
            ),
            "clear" => "no other coordinator paid".to_string(),
            other => other.to_string(),
        };
        line.push_str(&format!("; block {}: {found}", f.height));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    const ESC: char = '\u{1b}';

    #[test]
    fn no_escape_sequence_the_api_serves_is_printed() {
        let status: StatusView = serde_json::from_value(serde_json::json!({
            "version": "0.1.0", "network": "devnet", "height": 7, "minute": 3, "job": null,
            "skipped": format!("factomd: {ESC}[2J{ESC}]0;owned\u{7}{}", "x".repeat(5000)),
            "ec_address": null, "ec_balance": null, "ec_spent_per_block": null,
            "blocks_left": null, "uptime_secs": 5,
            "factomd": {"state": "up", "last_error": "\u{9b}31mred", "since": null,
                        "faults": 2, "last_fault": format!("block 6, keymr: {ESC}[1mx")},
            "prices": [{"name": "fixed", "state": "failed",
                        "last_error": format!("{ESC}[31mquota\nexceeded"), "checked": 1}],
            "miners_connected": 0,
            "hash_rate": {"rate_10s": 0.0, "rate_60s": 0.0, "rate_15m": 0.0},
        }))
        .unwrap();
        let t = status_table(&status);
        assert!(
            !t.contains(ESC) && !t.contains('\u{9b}') && !t.contains('\u{7}'),
            "{t:?}"
        );
        assert!(t.contains("none: skipped (factomd: xxx"), "{t}");
        assert!(
            t.contains("node faults   2 (last: block 6, keymr: x)"),
            "{t}"
        );
        assert!(t.contains("fixed: failed (quota exceeded)"), "{t}");
        assert!(
            t.contains("role          primary, not active (no miner connected)"),
            "{t}"
        );
        assert!(t.lines().all(|l| l.len() < 1100), "{t}");

        let miners: MinersView = serde_json::from_value(serde_json::json!({"miners": [{
            "identity": format!("rig{ESC}[31m0"), "coinbase": "FA", "address": "127.0.0.1:1",
            "connected": true, "connected_at": 1, "last_seen": 1, "rate_10s": 1.0,
            "rate_60s": 1.0, "rate_15m": 1.0, "per_worker": [], "backend": format!("cpu{ESC}]0;x\u{7}"),
            "devices": [], "records_submitted": 0, "records_accepted": 0, "records_rejected": {},
            "entries_paid": 0, "effective_rate": null, "via": null,
        }]}))
        .unwrap();
        let t = miners_table(&miners.miners);
        assert!(!t.contains(ESC) && !t.contains('\u{7}'), "{t:?}");
        assert!(t.contains("rig0") && t.contains("cpu "), "{t}");
    }

    #[test]
    fn a_relays_status_shows_its_link_not_a_payers_rows() {
        let t = coordinator::telemetry::Telemetry::for_relay(4, "siteB", vec!["p:1".into()]);
        let cut = status_table(&t.status());
        assert!(cut.contains("relay siteB cut from p:1"), "{cut}");
        assert!(
            !cut.contains("ec balance") && !cut.contains("factomd"),
            "{cut}"
        );
        t.upstream_linked("p:1");
        t.relay_waiting(2);
        let linked = status_table(&t.status());
        assert!(linked.contains("relay siteB linked to p:1"), "{linked}");
        assert!(linked.contains("2 submissions waiting"), "{linked}");
        assert!(linked.contains("role          relay"), "{linked}");
    }

    #[test]
    fn json_output_escapes_every_control_character() {
        let served = "{\"skipped\":\"a\u{9b}31m\u{7f}b\"}";
        let shown = escape_controls(served);
        assert_eq!(shown, "{\"skipped\":\"a\\u009b31m\\u007fb\"}");
        let back: serde_json::Value = serde_json::from_str(&shown).unwrap();
        assert_eq!(back["skipped"], "a\u{9b}31m\u{7f}b");
    }

    #[test]
    fn the_role_line_says_which_coordinator_the_farm_uses_and_what_its_fence_found() {
        let mut s: StatusView = serde_json::from_value(serde_json::json!({
            "version": "0.1.0", "network": "devnet", "height": 7, "minute": 3, "job": null,
            "skipped": null, "ec_address": null, "ec_balance": null, "ec_spent_per_block": null,
            "blocks_left": null, "uptime_secs": 5,
            "factomd": {"state": "up", "last_error": null, "since": null, "faults": 0,
                        "last_fault": null},
            "prices": [], "miners_connected": 0,
            "hash_rate": {"rate_10s": 0.0, "rate_60s": 0.0, "rate_15m": 0.0},
            "role": "standby", "active_since": null,
            "fence": {"height": 6, "outcome": "paid_elsewhere", "ec_spent_elsewhere": 4},
        }))
        .unwrap();
        assert_eq!(
            role_line(&s, 1_000),
            "standby, not active (no miner connected); block 6: paid by the other coordinator \
             (4 EC), nothing paid here"
        );
        s.active_since = Some(940);
        s.fence = None;
        assert_eq!(
            role_line(&s, 1_000),
            "standby, active for 60 s (miners connected since unix time 940)"
        );
    }
}
