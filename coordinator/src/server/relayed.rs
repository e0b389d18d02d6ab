//! Relaying, both ends (the relay itself, the program, is `netcoordinator relay`). A relay (`netcoordinator relay`) is a coordinator to its own miners and one
//! authenticated link to its upstream: it verifies its miners' records, then forwards the good
//! ones up with each miner's identity and coinbase, so the upstream verifies and pays them as its
//! own miners' (per-miner limits included) and lists those miners on its dashboard with the relay
//! they came through.
//!
//! * Relay side: [`Hub::forward_to`] sends every record the hub accepts to the link's task.
//! * Upstream side: [`handle`] answers the `relay_*` messages of a connection whose identity is in
//!   the upstream's `relays` list (anyone else sending them is told so, and they are ignored).
//!   A relay speaks only for valid identities that are not connected directly, at most as many
//!   as the hub keeps work for.

use super::hub::Hub;
use super::submission::submission;
use crate::roster::RelayedVerdict;
use protocol::{Message, MinerHello, Stats, SubmittedRecord};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Records the relay's hub accepted for one of its miners, on their way upstream.
#[derive(Debug, Clone)]
pub struct RelayedSubmission {
    /// The job (the upstream's id, passed on unchanged).
    pub job_id: u64,
    /// The miner.
    pub identity: String,
    /// Its coinbase.
    pub coinbase: String,
    /// The records that verified here.
    pub records: Vec<SubmittedRecord>,
}

impl Hub {
    /// Relay mode: every record this hub accepts from now on is also sent to `up` (dropped, and
    /// logged, when the channel is full: the link is down for long).
    pub fn forward_to(&self, up: mpsc::Sender<RelayedSubmission>) {
        let _ = self.upstream.set(up);
    }

    /// Sends accepted records upstream, in relay mode.
    pub(super) fn forward(&self, hello: &MinerHello, job_id: u64, records: Vec<SubmittedRecord>) {
        let Some(up) = self.upstream.get() else {
            return;
        };
        if records.is_empty() {
            return;
        }
        let n = records.len();
        let sub = RelayedSubmission {
            job_id,
            identity: hello.identity.clone(),
            coinbase: hello.coinbase.clone(),
            records,
        };
        if up.try_send(sub).is_err() {
            tracing::warn!(identity = %hello.identity, job_id, "upstream queue full: {n} records of this miner are not forwarded");
        }
    }

    /// Whether `identity` may relay for others (the `relays` list).
    pub(super) fn is_relay(&self, identity: &str) -> bool {
        self.cfg().relays.iter().any(|r| r == identity)
    }
}

/// A relay connection's miners, as the upstream knows them.
#[derive(Default)]
pub(super) struct Relayed {
    miners: HashSet<String>,
    /// Whether a non-relay's relay messages were logged already.
    warned: bool,
}

impl Relayed {
    /// Marks every miner of this relay disconnected (the relay's link ended).
    pub(super) fn gone(self, hub: &Hub) {
        for m in self.miners {
            hub.telemetry().miner_disconnected(&m);
        }
    }

    /// Takes note of a relayed miner; `Err(why)` (and nothing noted) for an identity that is not
    /// valid, is connected directly, is assigned elsewhere (the roster, another relay's
    /// `relay_identities`), is one too many for this relay, or whose coinbase the farm does not
    /// pay. A new identity is pinned to this relay (first use).
    async fn seen(
        &mut self,
        hub: &Hub,
        relay: &MinerHello,
        addr: SocketAddr,
        id: &str,
        coinbase: &str,
    ) -> Result<(), String> {
        let cfg = hub.cfg();
        if let Some(farm) = hub.payout() {
            if coinbase != farm {
                return Err(format!(
                    "{id}: this farm pays every record to {farm}, not {coinbase}"
                ));
            }
        } else if !hub.roster().snapshot().coinbase_allowed(id, coinbase) {
            return Err(format!(
                "{id}: coinbase {coinbase} is not one its roster entry allows"
            ));
        }
        if !self.miners.contains(id) {
            // As many as the hub keeps work for: a relay cannot grow this without bound.
            if self.miners.len() >= hub.max_work() {
                return Err(format!("{id}: too many miners behind this relay"));
            }
            if !pegnet::validate::valid_identity(id.as_bytes())
                || !pegnet::validate::valid_coinbase(coinbase.as_bytes())
            {
                return Err(format!("{id}: not a valid identity and coinbase"));
            }
            if hub.is_connected(id) {
                return Err(format!("{id}: connected directly"));
            }
            let judge = |hub: &Hub| {
                hub.roster().snapshot().judge_relayed(
                    &relay.identity,
                    id,
                    &cfg.relay_identities,
                    cfg.enroll,
                )
            };
            match judge(hub) {
                RelayedVerdict::Known => {}
                RelayedVerdict::Refused(why) => return Err(why),
                RelayedVerdict::Pin => {
                    let entry = crate::roster::first_use(
                        id,
                        None,
                        Some(&relay.identity),
                        &addr.to_string(),
                    );
                    let pinned = hub.roster().pin(entry).await.map_err(|e| {
                        tracing::error!("pinning a relayed identity: {e}");
                        format!("{id}: the coordinator could not record it; try later")
                    })?;
                    if !pinned {
                        if let RelayedVerdict::Refused(why) = judge(hub) {
                            return Err(why);
                        }
                    } else {
                        tracing::info!(identity = id, relay = %relay.identity, "new identity behind a relay: pinned to it (first use)");
                    }
                }
            }
            self.miners.insert(id.to_string());
        }
        // Also after another connection of this relay said it was gone.
        if !hub.telemetry().is_connected(id) {
            hub.telemetry()
                .miner_connected_via(id, coinbase, addr, Some(&relay.identity));
        }
        Ok(())
    }
}

/// The answer to a relayed submission for a miner this relay may not speak for.
fn not_relayable(identity: String, job_id: u64, n: usize, why: String) -> Message {
    Message::RelaySubmissionResult {
        rejected: vec![protocol::RefusalCount {
            code: protocol::RefusalCode::BadRecord,
            count: u32::try_from(n).unwrap_or(u32::MAX),
            example: protocol::text::sanitize(&why).into_owned(),
        }],
        identity,
        job_id,
        accepted: 0,
    }
}

/// Answers a `relay_*` message; `None` for any other message (handled as a miner's).
pub(super) async fn handle(
    hub: &Arc<Hub>,
    relay: &MinerHello,
    addr: SocketAddr,
    relayed: &mut Relayed,
    msg: &Message,
) -> Option<Option<Message>> {
    let relaying = matches!(
        msg,
        Message::RelaySubmission { .. }
            | Message::RelayStats { .. }
            | Message::RelayMinerGone { .. }
            | Message::RelayControlResult { .. }
    );
    if !relaying {
        return None;
    }
    if !hub.is_relay(&relay.identity) {
        if !relayed.warned {
            relayed.warned = true;
            tracing::warn!(identity = %relay.identity, %addr, "a connection that is not in `relays` sends relay messages: ignored (add its name to `relays` if it is one of your relays)");
        }
        return Some(Some(Message::Error {
            message: format!(
                "{} is not a relay of this coordinator (its `relays` list): relay messages ignored",
                relay.identity
            ),
        }));
    }
    Some(match msg.clone() {
        Message::RelaySubmission {
            job_id,
            identity,
            coinbase,
            records,
        } => {
            let n = records.len();
            if let Err(why) = relayed.seen(hub, relay, addr, &identity, &coinbase).await {
                return Some(Some(not_relayable(identity, job_id, n, why)));
            }
            let miner = MinerHello { identity, coinbase };
            let result = submission(hub, &miner, Some(&relay.identity), job_id, records).await;
            match result {
                Message::SubmissionResult {
                    job_id,
                    accepted,
                    rejected,
                } => {
                    hub.telemetry()
                        .miner_submission(&miner.identity, n, accepted, &rejected);
                    Some(Message::RelaySubmissionResult {
                        identity: miner.identity,
                        job_id,
                        accepted,
                        rejected,
                    })
                }
                other => Some(other),
            }
        }
        Message::RelayStats {
            identity,
            coinbase,
            stats,
            ..
        } => {
            if relayed
                .seen(hub, relay, addr, &identity, &coinbase)
                .await
                .is_ok()
            {
                hub.telemetry()
                    .miner_stats(&identity, &super::hub::clean_stats(stats));
            }
            None
        }
        Message::RelayControlResult {
            identity,
            id,
            ok,
            detail,
        } => {
            hub.control_answered(&identity, Some(&relay.identity), id, ok, &detail);
            None
        }
        Message::RelayMinerGone { identity } => {
            // (An empty identity is the relay's hello at link start: nothing to do.)
            if relayed.miners.remove(&identity) {
                hub.telemetry().miner_disconnected(&identity);
            }
            None
        }
        _ => None,
    })
}

/// A relayed miner's stats as the relay sends them up (from its telemetry's view of the miner).
pub fn stats_of(m: &crate::telemetry::views::MinerView) -> Stats {
    Stats {
        rate_10s: m.rate_10s,
        rate_60s: m.rate_60s,
        rate_15m: m.rate_15m,
        per_worker: m.per_worker.clone(),
        total_hashes: 0,
        backend: m.backend.clone(),
        devices: m.devices.clone(),
        paused: Some(m.paused),
        device_health: m.device_health.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::hub::{clean_stats, MAX_RATE};
    use super::*;
    use crate::server::{CurrentJob, ServerConfig};
    use hashcore::Table;
    use pegnet::{Network, OprTemplate};
    use protocol::{Difficulty, HexBytes, RefusalCode};

    #[test]
    fn reports_are_capped_and_printable() {
        let s = clean_stats(Stats {
            rate_10s: 1e308,
            rate_60s: f64::INFINITY,
            rate_15m: -1.0,
            backend: Some("cpu\u{1b}[31m\n".into()),
            devices: vec!["gpu\u{7}0".into()],
            ..Stats::default()
        });
        assert_eq!((s.rate_10s, s.rate_60s, s.rate_15m), (MAX_RATE, 0.0, 0.0));
        assert_eq!(s.backend.as_deref(), Some("cpu "));
        assert_eq!(s.devices, vec!["gpu0".to_string()]);
    }

    #[test]
    fn hostile_device_health_is_bounded_and_cleaned() {
        use protocol::{DeviceHealth, DeviceState};
        let h = |name: String, rate: f64, temp: f64, fan: f64| DeviceHealth {
            name,
            rate_10s: rate,
            state: DeviceState::Ok,
            restarts: u32::MAX,
            temp_c: Some(temp),
            fan_percent: Some(fan),
        };
        let mut many = vec![
            h("\u{1b}[2Jgpu".repeat(1000), f64::NAN, f64::NAN, -1.0),
            h("a".into(), -5.0, -300.0, 101.0),
            h("b".into(), f64::INFINITY, 1e9, f64::INFINITY),
            h("c".into(), 1e300, 65.0, 40.0),
        ];
        many.extend((0..10_000).map(|k| h(format!("d{k}"), 1.0, 50.0, 50.0)));
        let s = clean_stats(Stats {
            device_health: many,
            ..Stats::default()
        });
        assert_eq!(s.device_health.len(), Stats::MAX_DEVICES);
        let first = &s.device_health[0];
        assert!(first.name.len() <= Stats::MAX_NAME, "{}", first.name.len());
        assert!(!first.name.contains('\u{1b}'));
        assert_eq!(
            (first.rate_10s, first.temp_c, first.fan_percent),
            (0.0, None, None)
        );
        let a = &s.device_health[1];
        assert_eq!((a.rate_10s, a.temp_c, a.fan_percent), (0.0, None, None));
        let b = &s.device_health[2];
        assert_eq!((b.rate_10s, b.temp_c, b.fan_percent), (0.0, None, None));
        let c = &s.device_health[3];
        assert_eq!(
            (c.rate_10s, c.temp_c, c.fan_percent),
            (MAX_RATE, Some(65.0), Some(40.0))
        );
    }

    #[tokio::test]
    async fn an_identity_keeps_its_first_coinbase_for_the_block() {
        let table = Arc::new(Table::generate(10, &mut |_, _| {}).unwrap());
        let hub = Hub::new(ServerConfig::default(), table);
        hub.start_job(CurrentJob {
            job_id: 3,
            template: OprTemplate {
                network: Network::DevNet,
                height: 10,
                winners: vec![String::new(); 25],
                prices: (1..=62).map(|k| k * 1000).collect(),
            },
            min_difficulty: 0,
            records_wanted: 3,
        });
        let fa = |_k: u8| factom::FactoidSecret::generate().public().to_string();
        let record = |n: u8| SubmittedRecord {
            nonce: HexBytes(vec![n]),
            difficulty: Difficulty(1),
        };
        let first = MinerHello {
            identity: "x".into(),
            coinbase: fa(1),
        };
        submission(&hub, &first, None, 3, vec![record(1)]).await;
        let other = MinerHello {
            identity: "x".into(),
            coinbase: fa(2),
        };
        let Message::SubmissionResult { rejected, .. } =
            submission(&hub, &other, None, 3, vec![record(2), record(3)]).await
        else {
            panic!("not a result")
        };
        assert_eq!(rejected[0].code, RefusalCode::BadRecord);
        assert_eq!(rejected[0].count, 2);
        assert!(rejected[0].example.contains("another coinbase"));
        // The first miner's count was not touched: it still has its whole limit but one.
        assert_eq!(hub.submitted("x"), 1);
    }
}
