//! Miners the operator paused (remote control, protocol 3): listed as paused, not as dead; counted
//! in `/metrics` (`netmine_miner_paused`, `netmine_miners_paused`); and remembered per block, so
//! the block's record says who was paused while it was mined.
//!
//! A miner's own `stats` say whether it is paused (`paused`, protocol 3); the hub also reports a
//! pause or resume the moment the miner acknowledges it, so the dashboard does not wait for the
//! next report. A miner that disconnects is not paused any more: it is offline.

use super::{label, Inner, Telemetry};

impl Telemetry {
    /// A miner acknowledged a pause (`true`) or a resume (`false`).
    pub fn miner_paused(&self, identity: &str, paused: bool) {
        let mut st = self.lock();
        if st.miners.paused(identity, paused) {
            self.paused_changed(&mut st, identity);
            if paused {
                self.metrics
                    .hashrate
                    .get_or_create(&label("identity", identity))
                    .set(0.0);
            }
        }
    }

    /// Brings the metrics and the block's list up to date after `identity`'s pause state may
    /// have changed.
    pub(super) fn paused_changed(&self, st: &mut Inner, identity: &str) {
        let now: Vec<String> = st.miners.paused_now().map(str::to_string).collect();
        let paused = now.iter().any(|p| p == identity);
        // A series per connected miner (0 or 1), gone with the miner.
        if st.miners.is_connected(identity) {
            self.metrics
                .miner_paused
                .get_or_create(&label("identity", identity))
                .set(i64::from(paused));
        } else {
            self.metrics
                .miner_paused
                .remove(&label("identity", identity));
        }
        self.metrics.miners_paused.set(now.len() as i64);
        // Bounded: only listed, connected miners are added, and the list starts over each block.
        st.paused_in_block.extend(now);
    }

    /// The miners paused at some time since the last call (for the block's record, at its end);
    /// the list starts over with the miners paused now.
    pub fn take_paused_in_block(&self) -> Vec<String> {
        let mut st = self.lock();
        let taken = std::mem::take(&mut st.paused_in_block);
        let now: Vec<String> = st.miners.paused_now().map(str::to_string).collect();
        st.paused_in_block.extend(now);
        taken.into_iter().collect()
    }

    /// Whether `identity` is connected and paused now.
    pub fn is_paused(&self, identity: &str) -> bool {
        self.lock().miners.paused_now().any(|p| p == identity)
    }

    /// `identity`'s entry, if it is listed.
    pub fn miner(&self, identity: &str) -> Option<crate::telemetry::views::MinerView> {
        self.lock().miners.view(identity)
    }

    /// Where the HTTP API finds the hub for remote control.
    pub fn control_desk(&self) -> &crate::server::ControlDesk {
        &self.control
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::Stats;

    #[test]
    fn a_paused_miner_is_listed_counted_and_remembered_for_the_block() {
        let t = Telemetry::new(8);
        let addr = "127.0.0.1:1".parse().unwrap();
        t.miner_connected("a", "FA1", addr);
        t.miner_connected("b", "FA1", addr);
        t.miner_stats(
            "a",
            &Stats {
                rate_10s: 50.0,
                per_worker: vec![50.0],
                ..Stats::default()
            },
        );
        t.miner_paused("a", true);
        let a = t.miners().into_iter().find(|m| m.identity == "a").unwrap();
        assert!(a.paused && a.connected);
        assert_eq!((a.rate_10s, a.per_worker.clone()), (0.0, vec![0.0]));
        assert_eq!(t.status().miners_paused, 1);
        let text = t.metrics_text();
        assert!(
            text.contains("netmine_miner_paused{identity=\"a\"} 1"),
            "{text}"
        );
        assert!(text.contains("netmine_miners_paused 1"), "{text}");
        // Its own report says it is still paused; then that it resumed.
        t.miner_stats(
            "a",
            &Stats {
                paused: Some(false),
                rate_10s: 40.0,
                ..Stats::default()
            },
        );
        assert!(!t.is_paused("a"));
        let text = t.metrics_text();
        assert!(text.contains("netmine_miners_paused 0"), "{text}");
        assert!(
            text.contains("netmine_miner_paused{identity=\"a\"} 0"),
            "{text}"
        );
        // The block remembers it was paused; the next block starts with nobody paused.
        assert_eq!(t.take_paused_in_block(), vec!["a".to_string()]);
        assert!(t.take_paused_in_block().is_empty());
        // Paused across a block boundary: listed in both blocks.
        t.miner_paused("b", true);
        assert_eq!(t.take_paused_in_block(), vec!["b".to_string()]);
        assert_eq!(t.take_paused_in_block(), vec!["b".to_string()]);
        // A paused miner that disconnects is offline, not paused.
        t.miner_disconnected("b");
        assert!(!t.is_paused("b"));
        assert!(!t.miners().iter().any(|m| m.paused));
        // Nobody unknown (or disconnected) is marked.
        t.miner_paused("ghost", true);
        t.miner_paused("b", true);
        assert_eq!(t.status().miners_paused, 0);
    }
}
