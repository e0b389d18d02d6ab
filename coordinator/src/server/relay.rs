//! Relays, both ends. A relay (`netcoordinator relay`) is a coordinator to its own miners and one
//! authenticated link to its upstream: it verifies its miners' records, then forwards the good
//! ones up with each miner's identity and coinbase, so the upstream verifies and pays them as its
//! own miners' (per-miner limits included) and lists those miners on its dashboard with the relay
//! they came through.
//!
//! * Relay side: [`Hub::forward_to`] sends every record the hub accepts to the link's task.
//! * Upstream side: [`handle`] answers the `relay_*` messages of a connection whose identity is in
//!   the upstream's `relays` list (anyone else sending them gets an error and a bad mark).

use super::hub::{submission, Hub};
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
        self.cfg.relays.iter().any(|r| r == identity)
    }
}

/// A relay connection's miners, as the upstream knows them.
#[derive(Default)]
pub(super) struct Relayed {
    miners: HashSet<String>,
}

impl Relayed {
    /// Marks every miner of this relay disconnected (the relay's link ended).
    pub(super) fn gone(self, hub: &Hub) {
        for m in self.miners {
            hub.telemetry().miner_disconnected(&m);
        }
    }

    fn seen(&mut self, hub: &Hub, relay: &MinerHello, addr: SocketAddr, id: &str, coinbase: &str) {
        // As many as the hub keeps work for: a relay cannot grow this without bound.
        if !self.miners.contains(id) && self.miners.len() < hub.max_work() {
            self.miners.insert(id.to_string());
            hub.telemetry()
                .miner_connected_via(id, coinbase, addr, Some(&relay.identity));
        }
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
    );
    if !relaying {
        return None;
    }
    if !hub.is_relay(&relay.identity) {
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
            relayed.seen(hub, relay, addr, &identity, &coinbase);
            let miner = MinerHello { identity, coinbase };
            let n = records.len();
            let result = submission(hub, &miner, job_id, records).await;
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
            relayed.seen(hub, relay, addr, &identity, &coinbase);
            hub.telemetry()
                .miner_stats(&identity, &super::hub::clean_stats(stats));
            None
        }
        Message::RelayMinerGone { identity } => {
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
    }
}
