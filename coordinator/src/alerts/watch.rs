//! The alert conditions, judged on [`Facts`]: which incidents are open, and the messages when
//! one opens or clears. Pure (no clock, no I/O): [`Watch::step`] is given the facts, and returns
//! what to send, so every condition is unit-tested without waiting.
//!
//! An incident has a key (`miner_offline:rig01`, `factomd`, `price:CoinGecko`, …). It fires once
//! when its condition has held for the condition's hold time, and sends one "resolved" when the
//! condition clears. A miner the book forgets (disconnected for over an hour), or that is paused,
//! closes its incident without a message: nothing came back.

use super::AlertConfig;
use crate::telemetry::views::NodeState;
use crate::telemetry::Facts;
use std::collections::{BTreeMap, BTreeSet};

/// An incident opened (`firing`) or cleared.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The incident: condition and subject (`miner_offline:rig01`).
    pub key: String,
    /// The condition alone (`miner_offline`).
    pub alert: &'static str,
    /// `true`: it opened; `false`: resolved.
    pub firing: bool,
    /// One line for a human (Slack's `text`, Discord's `content`).
    pub text: String,
}

/// The open and pending incidents of one `[[alerts]]` entry.
#[derive(Debug, Default)]
pub struct Watch {
    /// Open incidents: key → condition.
    open: BTreeMap<String, &'static str>,
    /// Conditions holding but not yet for their hold time: key → since (Unix seconds).
    pending: BTreeMap<String, u64>,
    /// Node faults counted so far, and when the count last rose.
    faults: Option<u64>,
    fault_at: Option<u64>,
}

/// A condition holding now: key, condition, its hold time (s), the message.
struct Holding {
    key: String,
    alert: &'static str,
    hold: u64,
    text: String,
}

/// Seconds as a number of whole seconds, for the thresholds.
fn secs(s: f64) -> u64 {
    s.max(0.0).round() as u64
}

impl Watch {
    /// Judges `f`: the incidents that open or clear now.
    pub fn step(&mut self, f: &Facts, cfg: &AlertConfig) -> Vec<Event> {
        let holding = self.holding(f, cfg);
        let mut events = Vec::new();
        let now_keys: BTreeSet<&str> = holding.iter().map(|h| h.key.as_str()).collect();
        // Cleared: resolved, except a miner that is gone from the book or paused (closed quietly).
        let cleared: Vec<(String, &'static str)> = self
            .open
            .iter()
            .filter(|(k, _)| !now_keys.contains(k.as_str()))
            .map(|(k, a)| (k.clone(), *a))
            .collect();
        for (key, alert) in cleared {
            self.open.remove(&key);
            if let Some(id) = key.strip_prefix("miner_offline:") {
                let back = f.miners.iter().any(|m| m.identity == id && !m.paused);
                if !back {
                    continue;
                }
            }
            events.push(Event {
                text: resolved_text(&key, alert, f),
                key,
                alert,
                firing: false,
            });
        }
        self.pending.retain(|k, _| now_keys.contains(k.as_str()));
        for h in holding {
            if self.open.contains_key(&h.key) {
                continue;
            }
            let since = *self.pending.entry(h.key.clone()).or_insert(f.now);
            if f.now.saturating_sub(since) >= h.hold {
                self.pending.remove(&h.key);
                self.open.insert(h.key.clone(), h.alert);
                events.push(Event {
                    key: h.key,
                    alert: h.alert,
                    firing: true,
                    text: h.text,
                });
            }
        }
        events
    }

    /// Open incidents (for the tests and the bound).
    pub fn open(&self) -> usize {
        self.open.len()
    }

    /// Every condition that holds in `f`.
    fn holding(&mut self, f: &Facts, cfg: &AlertConfig) -> Vec<Holding> {
        let mut h = Vec::new();
        let mut add = |key: String, alert: &'static str, hold: u64, text: String| {
            h.push(Holding {
                key,
                alert,
                hold,
                text,
            })
        };
        let silent = secs(cfg.miner_silent_secs);
        for m in f.miners.iter().filter(|m| !m.paused) {
            let quiet = f.now.saturating_sub(m.last_seen);
            if quiet > silent {
                let state = if m.connected {
                    "connected but silent"
                } else {
                    "disconnected"
                };
                add(
                    format!("miner_offline:{}", m.identity),
                    "miner_offline",
                    0,
                    format!(
                        "miner offline: {} ({state}, last heard {quiet} s ago)",
                        m.identity
                    ),
                );
            }
        }
        // A drop while the operator has miners paused is theirs: not judged until they resume.
        let pausing = f.miners.iter().any(|m| m.paused && m.connected);
        if let Some(avg) = f.farm_rate_1h.filter(|a| *a > 0.0 && !pausing) {
            if f.farm_rate < (1.0 - cfg.rate_drop) * avg {
                add(
                    "farm_rate".into(),
                    "farm_rate_drop",
                    secs(cfg.rate_drop_secs),
                    format!(
                        "farm hash rate down: {} H/s, {:.0} % under its 1 h average of {} H/s",
                        si(f.farm_rate),
                        (1.0 - f.farm_rate / avg) * 100.0,
                        si(avg)
                    ),
                );
            }
        }
        if let Some(left) = f.blocks_left.filter(|l| *l < cfg.ec_min_blocks) {
            add(
                "ec_low".into(),
                "ec_balance_low",
                0,
                format!(
                    "EC balance low: {} EC left, about {left} blocks at the recent spend (alert under {}): fund the EC address",
                    f.ec_balance.unwrap_or(0),
                    cfg.ec_min_blocks
                ),
            );
        }
        // Held since the state changed (the telemetry's `since`): a coordinator that restarts
        // with factomd down alerts once the state is old enough.
        let held = f.node_since.map_or(0, |s| f.now.saturating_sub(s));
        if matches!(f.node, NodeState::Down | NodeState::Stalled)
            && held >= secs(cfg.factomd_down_secs)
        {
            add(
                "factomd".into(),
                "factomd_down",
                0,
                format!(
                    "factomd {} for {held} s: no blocks are mined{}",
                    if f.node == NodeState::Down {
                        "down"
                    } else {
                        "stalled"
                    },
                    f.node_error
                        .as_deref()
                        .map(|e| format!(" ({e})"))
                        .unwrap_or_default()
                ),
            );
        }
        if let Some(height) = f.unpaid_with_miners {
            add(
                "block_unpaid".into(),
                "block_unpaid",
                0,
                format!("block {height} paid nothing while miners were connected"),
            );
        }
        for (source, why) in &f.prices_down {
            add(
                format!("price:{source}"),
                "price_source_down",
                0,
                format!("price source {source} down: {why}"),
            );
        }
        // Node faults: a rise of the count opens the incident; an hour without one clears it.
        if self.faults.is_some_and(|n| f.faults > n) {
            self.fault_at = Some(f.now);
        }
        self.faults = Some(f.faults);
        if let Some(at) = self.fault_at {
            if f.now.saturating_sub(at) < 3600 {
                add(
                    "node_fault".into(),
                    "node_fault",
                    0,
                    format!(
                        "factomd served bad data, block skipped: {}",
                        f.last_fault.as_deref().unwrap_or("(no detail)")
                    ),
                );
            } else {
                self.fault_at = None;
            }
        }
        h
    }
}

/// The "resolved" line of an incident.
fn resolved_text(key: &str, alert: &str, f: &Facts) -> String {
    match alert {
        "miner_offline" => format!(
            "resolved: miner {} is back",
            key.trim_start_matches("miner_offline:")
        ),
        "farm_rate_drop" => format!("resolved: farm hash rate back to {} H/s", si(f.farm_rate)),
        "ec_balance_low" => format!("resolved: EC balance {} EC", f.ec_balance.unwrap_or(0)),
        "factomd_down" => "resolved: factomd is up".into(),
        "block_unpaid" => "resolved: a block was paid".into(),
        "price_source_down" => format!(
            "resolved: price source {} is back",
            key.trim_start_matches("price:")
        ),
        "node_fault" => "resolved: no factomd fault for an hour".into(),
        other => format!("resolved: {other}"),
    }
}

/// A rate with an SI prefix (`12.3M`).
fn si(v: f64) -> String {
    let (v, p) = match v {
        v if v >= 1e9 => (v / 1e9, "G"),
        v if v >= 1e6 => (v / 1e6, "M"),
        v if v >= 1e3 => (v / 1e3, "k"),
        v => (v, ""),
    };
    format!("{v:.1}{p}")
}

#[cfg(test)]
mod tests;
