//! The book of miners: who is connected, who was seen in the last hour, and what each did since the
//! coordinator started. Bounded: disconnected miners are forgotten after an hour, or sooner (oldest
//! first) when more identities come and go than the book holds.

use super::views::MinerView;
use protocol::{RefusalCount, Stats};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Duration;

/// How long a disconnected miner stays listed.
pub const KEEP_DISCONNECTED: Duration = Duration::from_secs(3600);

/// Blocks averaged into a miner's effective rate.
pub const EFFECTIVE_BLOCKS: usize = 6;

/// One miner's entry.
struct Entry {
    view: MinerView,
    /// `(hashes its records prove, seconds it mined)` for its last blocks.
    effective: VecDeque<(f64, f64)>,
}

/// The miners, keyed by identity.
pub(super) struct MinerBook {
    miners: HashMap<String, Entry>,
    /// Most entries held (connected ones are never dropped).
    cap: usize,
}

impl MinerBook {
    pub(super) fn new(cap: usize) -> MinerBook {
        MinerBook {
            miners: HashMap::new(),
            cap: cap.max(1),
        }
    }

    /// A miner authenticated: a new entry, or the known one marked connected again (its counters
    /// kept).
    pub(super) fn connected(
        &mut self,
        identity: &str,
        coinbase: &str,
        addr: SocketAddr,
        via: Option<&str>,
        now: u64,
    ) {
        self.prune(now);
        let e = self
            .miners
            .entry(identity.to_string())
            .or_insert_with(|| Entry {
                view: MinerView {
                    identity: identity.to_string(),
                    coinbase: String::new(),
                    address: String::new(),
                    connected: true,
                    connected_at: now,
                    last_seen: now,
                    rate_10s: 0.0,
                    rate_60s: 0.0,
                    rate_15m: 0.0,
                    per_worker: Vec::new(),
                    backend: None,
                    devices: Vec::new(),
                    device_health: Vec::new(),
                    records_submitted: 0,
                    records_accepted: 0,
                    records_rejected: BTreeMap::new(),
                    entries_paid: 0,
                    effective_rate: None,
                    via: None,
                    trust: None,
                    protocol: None,
                    paused: false,
                },
                effective: VecDeque::new(),
            });
        let v = &mut e.view;
        v.coinbase = coinbase.to_string();
        v.address = addr.to_string();
        v.via = via.map(str::to_string);
        if via.is_some() {
            v.trust = Some("relayed".into());
            v.protocol = None;
        }
        v.connected = true;
        v.connected_at = now;
        v.last_seen = now;
        self.enforce_cap();
    }

    /// How the roster knows a miner, and the protocol version it speaks.
    pub(super) fn trust(&mut self, identity: &str, trust: &str, version: u32) {
        if let Some(e) = self.miners.get_mut(identity) {
            // "new" stays until the coordinator restarts: an operator may look at it later.
            if e.view.trust.as_deref() != Some("new") || trust != "pinned" {
                e.view.trust = Some(trust.to_string());
            }
            e.view.protocol = Some(version);
        }
    }

    /// A miner's connection ended: it stays listed, disconnected, with its rates zeroed.
    pub(super) fn disconnected(&mut self, identity: &str, now: u64) {
        if let Some(e) = self.miners.get_mut(identity) {
            let v = &mut e.view;
            // `last_seen` stays when it was last heard from (a silent miner is dropped later).
            let _ = now;
            v.connected = false;
            v.paused = false;
            v.rate_10s = 0.0;
            v.rate_60s = 0.0;
            v.rate_15m = 0.0;
            v.per_worker.clear();
            v.device_health.clear();
        }
    }

    /// Something was heard from the miner.
    pub(super) fn seen(&mut self, identity: &str, now: u64) {
        if let Some(e) = self.miners.get_mut(identity) {
            e.view.last_seen = now;
        }
    }

    /// A hash-rate report (already cleaned and bounded by the hub).
    pub(super) fn stats(&mut self, identity: &str, s: &Stats, now: u64) {
        if let Some(e) = self.miners.get_mut(identity) {
            let v = &mut e.view;
            v.last_seen = now;
            v.rate_10s = s.rate_10s;
            v.rate_60s = s.rate_60s;
            v.rate_15m = s.rate_15m;
            v.per_worker.clone_from(&s.per_worker);
            v.backend.clone_from(&s.backend);
            v.devices.clone_from(&s.devices);
            v.device_health.clone_from(&s.device_health);
            if let Some(p) = s.paused {
                v.paused = p;
            }
        }
    }

    /// The operator paused (or resumed) a miner and it said it did: listed so before its next
    /// report. A pause also zeroes its current rates (it hashes nothing now).
    pub(super) fn paused(&mut self, identity: &str, paused: bool) -> bool {
        let Some(e) = self.miners.get_mut(identity) else {
            return false;
        };
        let v = &mut e.view;
        if !v.connected {
            return false;
        }
        v.paused = paused;
        if paused {
            v.rate_10s = 0.0;
            v.per_worker.iter_mut().for_each(|r| *r = 0.0);
        }
        true
    }

    /// The connected miners that are paused now.
    pub(super) fn paused_now(&self) -> impl Iterator<Item = &str> {
        self.miners
            .iter()
            .filter(|(_, e)| e.view.connected && e.view.paused)
            .map(|(k, _)| k.as_str())
    }

    /// How many devices' health the miner reported last (0 for an unknown miner).
    pub(super) fn device_count(&self, identity: &str) -> usize {
        self.miners
            .get(identity)
            .map_or(0, |e| e.view.device_health.len())
    }

    /// A submission's outcome.
    pub(super) fn submission(
        &mut self,
        identity: &str,
        submitted: usize,
        accepted: u32,
        rejected: &[RefusalCount],
        now: u64,
    ) {
        if let Some(e) = self.miners.get_mut(identity) {
            let v = &mut e.view;
            v.last_seen = now;
            v.records_submitted += submitted as u64;
            v.records_accepted += u64::from(accepted);
            for r in rejected {
                *v.records_rejected
                    .entry(r.code.name().to_string())
                    .or_default() += u64::from(r.count);
            }
        }
    }

    /// Entries paid for the miner's records.
    pub(super) fn paid(&mut self, identity: &str, entries: u64) {
        if let Some(e) = self.miners.get_mut(identity) {
            e.view.entries_paid += entries;
        }
    }

    /// One block's proof of the miner's work: `hashes` its records prove over `secs` of mining.
    pub(super) fn effective(&mut self, identity: &str, hashes: f64, secs: f64) {
        if !(hashes.is_finite() && secs.is_finite() && secs > 0.0) {
            return;
        }
        if let Some(e) = self.miners.get_mut(identity) {
            e.effective.push_back((hashes, secs));
            while e.effective.len() > EFFECTIVE_BLOCKS {
                e.effective.pop_front();
            }
            let (h, s) = e
                .effective
                .iter()
                .fold((0.0, 0.0), |(h, s), (dh, ds)| (h + dh, s + ds));
            e.view.effective_rate = Some(h / s);
        }
    }

    /// `identity`'s entry, if listed.
    pub(super) fn view(&self, identity: &str) -> Option<MinerView> {
        self.miners.get(identity).map(|e| e.view.clone())
    }

    /// Whether `identity` is listed as connected.
    pub(super) fn is_connected(&self, identity: &str) -> bool {
        self.miners.get(identity).is_some_and(|e| e.view.connected)
    }

    /// The connected miners' identities and 10 s rates.
    pub(super) fn connected_rates(&self) -> impl Iterator<Item = (&str, &MinerView)> {
        self.miners
            .iter()
            .filter(|(_, e)| e.view.connected)
            .map(|(k, e)| (k.as_str(), &e.view))
    }

    /// Every listed miner: connected first, then by identity.
    pub(super) fn views(&mut self, now: u64) -> Vec<MinerView> {
        self.prune(now);
        let mut v: Vec<MinerView> = self.miners.values().map(|e| e.view.clone()).collect();
        v.sort_by(|a, b| {
            b.connected
                .cmp(&a.connected)
                .then_with(|| a.identity.cmp(&b.identity))
        });
        v
    }

    /// Per-worker rates held, all miners together.
    pub(super) fn per_worker_held(&self) -> usize {
        self.miners.values().map(|e| e.view.per_worker.len()).sum()
    }

    /// How many entries are held (for the bound's test).
    pub(super) fn len(&self) -> usize {
        self.miners.len()
    }

    /// Forgets miners disconnected for more than [`KEEP_DISCONNECTED`].
    fn prune(&mut self, now: u64) {
        let keep = KEEP_DISCONNECTED.as_secs();
        self.miners
            .retain(|_, e| e.view.connected || now.saturating_sub(e.view.last_seen) <= keep);
    }

    /// Past the cap, the disconnected miners seen longest ago are forgotten first.
    fn enforce_cap(&mut self) {
        if self.miners.len() <= self.cap {
            return;
        }
        let mut gone: Vec<(u64, String)> = self
            .miners
            .iter()
            .filter(|(_, e)| !e.view.connected)
            .map(|(k, e)| (e.view.last_seen, k.clone()))
            .collect();
        gone.sort();
        let excess = self.miners.len() - self.cap;
        for (_, k) in gone.into_iter().take(excess) {
            self.miners.remove(&k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr() -> SocketAddr {
        "127.0.0.1:5000".parse().unwrap()
    }

    #[test]
    fn disconnected_miners_are_listed_for_an_hour_and_the_book_stays_bounded() {
        let mut b = MinerBook::new(10);
        b.connected("a", "FA1", addr(), None, 100);
        b.seen("a", 150);
        b.disconnected("a", 200);
        // Listed for an hour after it was last heard from (150), not after the disconnection.
        assert_eq!(b.views(150 + 3600).len(), 1);
        assert!(!b.views(150 + 3600)[0].connected);
        assert_eq!(b.views(150 + 3600)[0].last_seen, 150);
        assert_eq!(b.views(150 + 3601).len(), 0);
        for k in 0..50 {
            b.connected(&format!("m{k}"), "FA1", addr(), None, 1000 + k);
            b.disconnected(&format!("m{k}"), 1000 + k);
        }
        assert!(b.len() <= 10, "{}", b.len());
        // The most recently seen are the ones kept.
        assert!(b.views(1100).iter().any(|v| v.identity == "m49"));
    }

    #[test]
    fn connected_miners_are_never_dropped_for_the_cap() {
        let mut b = MinerBook::new(2);
        for k in 0..5 {
            b.connected(&format!("m{k}"), "FA1", addr(), None, 10);
        }
        assert_eq!(b.len(), 5);
    }

    #[test]
    fn counters_survive_a_reconnection_and_rates_are_zeroed_when_gone() {
        let mut b = MinerBook::new(10);
        b.connected("a", "FA1", addr(), None, 1);
        b.stats(
            "a",
            &Stats {
                rate_10s: 5.0,
                ..Stats::default()
            },
            2,
        );
        b.submission(
            "a",
            3,
            2,
            &[RefusalCount {
                code: protocol::RefusalCode::Duplicate,
                count: 1,
                example: String::new(),
            }],
            3,
        );
        b.disconnected("a", 4);
        assert_eq!(b.views(4)[0].rate_10s, 0.0);
        b.connected("a", "FA2", addr(), None, 5);
        let v = &b.views(5)[0];
        assert_eq!((v.records_submitted, v.records_accepted), (3, 2));
        assert_eq!(v.records_rejected["duplicate"], 1);
        assert_eq!(v.coinbase, "FA2");
    }

    #[test]
    fn the_effective_rate_averages_the_last_blocks() {
        let mut b = MinerBook::new(10);
        b.connected("a", "FA1", addr(), None, 1);
        b.effective("a", 1000.0, 10.0);
        b.effective("a", 3000.0, 10.0);
        assert_eq!(b.views(1)[0].effective_rate, Some(200.0));
        for _ in 0..EFFECTIVE_BLOCKS {
            b.effective("a", 50.0, 1.0);
        }
        assert_eq!(b.views(1)[0].effective_rate, Some(50.0));
        b.effective("a", f64::NAN, 1.0);
        assert_eq!(b.views(1)[0].effective_rate, Some(50.0));
    }
}
