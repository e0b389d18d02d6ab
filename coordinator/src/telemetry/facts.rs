//! What the alerts watch ([`crate::alerts`]): a small copy of the farm's state, taken under the
//! telemetry's lock in one go and judged outside it.

use super::{unix_now, Telemetry};
use crate::telemetry::views::NodeState;

/// One miner the book lists (connected, or seen in the last hour).
#[derive(Debug, Clone, PartialEq)]
pub struct MinerFact {
    /// Its identity.
    pub identity: String,
    /// Whether it is connected now.
    pub connected: bool,
    /// Unix seconds of the last frame heard from it (a connected netminer reports its rates
    /// every 10 s and answers the coordinator's pings).
    pub last_seen: u64,
    /// Paused by the operator (remote control, as the miner last reported it): not alerted on.
    pub paused: bool,
}

/// The facts every alert condition is judged on.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    /// Unix seconds when they were taken.
    pub now: u64,
    /// Every listed miner.
    pub miners: Vec<MinerFact>,
    /// The farm's 60 s rate now (the connected miners' reports added up).
    pub farm_rate: f64,
    /// The average of the farm's rate samples of the last hour, when there are enough of them
    /// (at least 10).
    pub farm_rate_1h: Option<f64>,
    /// Blocks the EC balance lasts at the recent spend, once both are known.
    pub blocks_left: Option<u64>,
    /// The EC balance when last asked.
    pub ec_balance: Option<i64>,
    /// factomd's state and since when (Unix seconds).
    pub node: NodeState,
    /// Since when factomd is in that state.
    pub node_since: Option<u64>,
    /// factomd's last error.
    pub node_error: Option<String>,
    /// Node faults since the start, and the last one.
    pub faults: u64,
    /// The last node fault (block, kind, what was wrong).
    pub last_fault: Option<String>,
    /// Price sources whose last poll gave nothing (failed, breaker open), with why.
    pub prices_down: Vec<(String, String)>,
    /// The last block that paid nothing while miners were connected, until a block pays.
    pub unpaid_with_miners: Option<u32>,
}

impl Telemetry {
    /// The facts the alerts judge, now.
    pub fn facts(&self) -> Facts {
        let now = unix_now();
        let farm_rate = self.farm_rate().rate_60s;
        let blocks_left = self.status().blocks_left;
        let mut st = self.lock();
        let miners = st
            .miners
            .views(now)
            .into_iter()
            .map(|m| MinerFact {
                identity: m.identity,
                connected: m.connected,
                last_seen: m.last_seen,
                paused: m.paused,
            })
            .collect();
        let hour: Vec<f64> = st
            .rate_history
            .iter()
            .filter(|(at, _)| now.saturating_sub(*at) <= 3600)
            .map(|(_, r)| *r)
            .collect();
        let farm_rate_1h = (hour.len() >= 10).then(|| hour.iter().sum::<f64>() / hour.len() as f64);
        Facts {
            now,
            miners,
            farm_rate,
            farm_rate_1h,
            blocks_left,
            ec_balance: st.ec_balance,
            node: st.node.state,
            node_since: st.node.since,
            node_error: st.node.last_error.clone(),
            faults: st.node.faults,
            last_fault: st.node.last_fault.clone(),
            prices_down: st
                .prices
                .iter()
                .filter(|p| p.state == "failed" || p.state == "breaker_open")
                .map(|p| {
                    let why = p.last_error.clone().unwrap_or_else(|| p.state.clone());
                    (p.name.clone(), why)
                })
                .collect(),
            unpaid_with_miners: st.unpaid_with_miners,
        }
    }
}
