//! Alerts without Prometheus: `[[alerts]]` webhooks in the coordinator's config (docs/alerts.md).
//!
//! Each entry gets its own task that takes the farm's [`Facts`](crate::telemetry::Facts) every
//! `check_secs`, judges them ([`watch::Watch`]: the same conditions as the Prometheus rules in
//! `config/prometheus/`) and hands each incident that opens or clears to a delivery task
//! ([`deliver`]): a JSON POST with a Slack- and Discord-compatible `text`/`content`, retried with
//! backoff. The two talk through a bounded queue that the judging side never waits on, and
//! neither touches the block engine: the telemetry read is one short lock, like an API request.
//!
//! The webhook URL carries its own credential (Slack's and Discord's URLs are the key), so it is
//! a secret: redacted in `check-config`, `Debug`, the API and every log line (reqwest's errors
//! are stripped of it before they are logged).

mod deliver;
pub mod watch;

use crate::telemetry::Telemetry;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

pub use deliver::{Delivery, Payload, QUEUE};

/// One `[[alerts]]` entry: where to send, and the conditions' thresholds.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertConfig {
    /// The webhook (`https://…`; `http://` is allowed for a receiver on the LAN). A secret: no
    /// log, `Debug` or `check-config` shows it.
    #[serde(serialize_with = "protocol::secret::redacted")]
    pub url: Option<SecretString>,
    /// A name put before every message (`[farm-a] miner offline: …`), e.g. the farm's.
    pub name: Option<String>,
    /// A miner not heard from for this long is offline (a netminer reports every 10 s).
    pub miner_silent_secs: f64,
    /// The farm's rate under its 1 h average by more than this fraction (0.3: 30 %)…
    pub rate_drop: f64,
    /// …for this long.
    pub rate_drop_secs: f64,
    /// The EC balance lasting fewer blocks than this at the recent spend (144: a day of 10-minute
    /// blocks).
    pub ec_min_blocks: u64,
    /// factomd down or stalled for this long.
    pub factomd_down_secs: f64,
    /// How often the conditions are judged.
    pub check_secs: f64,
    /// Seconds one POST may take.
    pub timeout_secs: f64,
    /// Tries per message before it is given up (logged), the waits doubling from 1 s to 5 min.
    pub max_attempts: u32,
}

impl Default for AlertConfig {
    fn default() -> Self {
        AlertConfig {
            url: None,
            name: None,
            miner_silent_secs: 120.0,
            rate_drop: 0.3,
            rate_drop_secs: 300.0,
            ec_min_blocks: 144,
            factomd_down_secs: 120.0,
            check_secs: 10.0,
            timeout_secs: 10.0,
            max_attempts: 10,
        }
    }
}

impl AlertConfig {
    /// Every problem of this entry (`key` is `alerts[N]`), never quoting the URL.
    pub fn problems(&self, key: &str) -> Vec<String> {
        let mut p = Vec::new();
        match self.url.as_ref().map(|u| u.expose_secret().trim()) {
            None | Some("") => p.push(format!("{key}.url: missing (the webhook to POST to)")),
            Some(u) => match reqwest::Url::parse(u) {
                Ok(url) if matches!(url.scheme(), "https" | "http") && url.host().is_some() => {}
                // The URL is a secret: say what is wrong with it, never what it is.
                Ok(url) => p.push(format!(
                    "{key}.url: must be an http:// or https:// URL with a host (scheme given: {:?})",
                    url.scheme()
                )),
                Err(e) => p.push(format!("{key}.url: not a URL ({e})")),
            },
        }
        let mut positive = |name: &str, v: f64, max: f64| {
            if !(v.is_finite() && v > 0.0 && v <= max) {
                p.push(format!(
                    "{key}.{name}: {v} is not between 0 and {max} seconds"
                ));
            }
        };
        positive("miner_silent_secs", self.miner_silent_secs, 86_400.0);
        positive("rate_drop_secs", self.rate_drop_secs, 86_400.0);
        positive("factomd_down_secs", self.factomd_down_secs, 86_400.0);
        positive("check_secs", self.check_secs, 3600.0);
        positive("timeout_secs", self.timeout_secs, 300.0);
        if !(self.rate_drop > 0.0 && self.rate_drop < 1.0) {
            p.push(format!(
                "{key}.rate_drop: {} is not a fraction between 0 and 1 (0.3: 30 % under the average)",
                self.rate_drop
            ));
        }
        if self.max_attempts == 0 {
            p.push(format!("{key}.max_attempts: 0 would never send"));
        }
        if let Some(n) = &self.name {
            if n.len() > 64 || n.chars().any(char::is_control) {
                p.push(format!("{key}.name: at most 64 printable characters"));
            }
        }
        p
    }
}

/// The running alert tasks; dropping it stops them.
pub struct Alerts {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Alerts {
    fn drop(&mut self) {
        self.tasks.iter().for_each(|t| t.abort());
    }
}

/// Starts one watcher (and its delivery task) per entry. Call it on settings without problems
/// ([`crate::config::CoordinatorConfig::problems`]); an entry without a URL is skipped.
pub fn spawn(entries: &[AlertConfig], telemetry: Arc<Telemetry>) -> Alerts {
    let mut tasks = Vec::new();
    for cfg in entries {
        let Some(delivery) = Delivery::new(cfg) else {
            continue;
        };
        let (tx, delivery_task) = delivery.spawn();
        tasks.push(delivery_task);
        let cfg = cfg.clone();
        let telemetry = telemetry.clone();
        tasks.push(tokio::spawn(async move {
            let mut watch = watch::Watch::default();
            let every = Duration::from_secs_f64(cfg.check_secs.clamp(0.05, 3600.0));
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let facts = telemetry.facts();
                for event in watch.step(&facts, &cfg) {
                    let payload = Payload::new(&event, cfg.name.as_deref(), facts.now);
                    // Never wait: a receiver that is down for long fills the queue, and what
                    // does not fit is logged and dropped (the incident's state is kept).
                    if let Err(e) = tx.try_send(payload) {
                        tracing::warn!(alert = %event.key, "alert not queued ({QUEUE} waiting for delivery): {}", match e {
                            tokio::sync::mpsc::error::TrySendError::Full(_) => "queue full",
                            tokio::sync::mpsc::error::TrySendError::Closed(_) => "delivery stopped",
                        });
                    }
                }
            }
        }));
    }
    if !tasks.is_empty() {
        tracing::info!(webhooks = tasks.len() / 2, "alerts on");
    }
    Alerts { tasks }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CoordinatorConfig, Role};

    const URL: &str = "https://hooks.example.net/services/T000/B000/very-secret-token";

    fn with_alerts(toml: &str) -> CoordinatorConfig {
        toml::from_str(toml).unwrap()
    }

    #[test]
    fn an_alerts_entry_reads_from_toml_with_defaults_and_its_url_is_never_shown() {
        let c = with_alerts(&format!(
            "secret = \"farm-secret-0123456789\"\n[[alerts]]\nurl = \"{URL}\"\nminer_silent_secs = 30\n"
        ));
        assert_eq!(c.alerts.len(), 1);
        let a = &c.alerts[0];
        assert_eq!(a.miner_silent_secs, 30.0);
        assert_eq!(a.ec_min_blocks, 144);
        assert_eq!(a.rate_drop, 0.3);
        let (problems, _) = c.problems(Role::Coordinator);
        assert!(
            !problems.iter().any(|p| p.contains("alerts")),
            "{problems:?}"
        );
        // check-config's TOML and Debug both hide it.
        let shown = c.to_toml();
        assert!(
            shown.contains("[[alerts]]") && shown.contains("url = \"***\""),
            "{shown}"
        );
        for text in [shown, format!("{c:?}"), format!("{a:?}")] {
            assert!(!text.contains("very-secret-token"), "{text}");
        }
    }

    #[test]
    fn bad_entries_are_problems_that_never_quote_the_url() {
        let cases = [
            (
                "url = \"ftp://hooks.example.net/very-secret-token\"",
                "alerts[0].url: must be an http",
            ),
            ("url = \"very-secret-token\"", "alerts[0].url: not a URL"),
            ("name = \"x\"", "alerts[0].url: missing"),
            (
                &format!("url = \"{URL}\"\nrate_drop = 1.5") as &str,
                "alerts[0].rate_drop",
            ),
            (
                &format!("url = \"{URL}\"\ncheck_secs = 0"),
                "alerts[0].check_secs",
            ),
            (
                &format!("url = \"{URL}\"\nminer_silent_secs = nan"),
                "alerts[0].miner_silent_secs",
            ),
            (
                &format!("url = \"{URL}\"\nmax_attempts = 0"),
                "alerts[0].max_attempts",
            ),
        ];
        for (entry, want) in cases {
            let c = with_alerts(&format!(
                "secret = \"farm-secret-0123456789\"\n[[alerts]]\n{entry}\n"
            ));
            let (problems, _) = c.problems(Role::Coordinator);
            assert!(
                problems.iter().any(|p| p.starts_with(want)),
                "{entry}: {problems:?}"
            );
            assert!(
                !problems.join("\n").contains("very-secret-token"),
                "{problems:?}"
            );
        }
        // An unknown key is refused when the file is read.
        assert!(toml::from_str::<CoordinatorConfig>("[[alerts]]\nurll = \"x\"\n").is_err());
        // A relay sends none: said, not ignored.
        let c = with_alerts(&format!("[[alerts]]\nurl = \"{URL}\"\n"));
        let (problems, _) = c.problems(Role::Relay);
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("alerts: a relay sends no alerts")),
            "{problems:?}"
        );
    }

    #[test]
    fn the_documented_example_entry_parses_with_the_defaults() {
        let text = include_str!("../../../config/netcoordinator.toml");
        let at = text.find("# [[alerts]]").expect("an [[alerts]] example");
        let entry: String = text[at..]
            .lines()
            .map_while(|l| l.strip_prefix("# "))
            .map(|l| format!("{l}\n"))
            .collect();
        let c = with_alerts(&format!("secret = \"farm-secret-0123456789\"\n{entry}"));
        let (a, d) = (&c.alerts[0], AlertConfig::default());
        assert!(a.url.is_some() && a.name.is_some());
        let shown = |x: &AlertConfig| {
            (
                x.miner_silent_secs,
                x.rate_drop,
                x.rate_drop_secs,
                x.ec_min_blocks,
                x.factomd_down_secs,
                x.check_secs,
                x.timeout_secs,
                x.max_attempts,
            )
        };
        assert_eq!(shown(a), shown(&d));
        let (problems, _) = c.problems(Role::Coordinator);
        assert!(
            !problems.iter().any(|p| p.contains("alerts")),
            "{problems:?}"
        );
    }
}
