//! What the HTTP API returns (and `netcoordinator status` reads back): plain serde structs, one per
//! JSON object, so the API's shape is written down in one place.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `GET /api/status`: the coordinator and its farm right now.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StatusView {
    /// The coordinator's version (`CARGO_PKG_VERSION`).
    pub version: String,
    /// The network mined (`mainnet`, `testnet`, `devnet`), once the daemon has started.
    pub network: Option<String>,
    /// Height of the block being built, as factomd last reported it.
    pub height: Option<u32>,
    /// Minute of that block (0..=9).
    pub minute: Option<u8>,
    /// The job the miners are working on; `null` between minute 9 and the next minute 1, or when a
    /// block is skipped.
    pub job: Option<JobView>,
    /// Why the current block is skipped, if it is.
    pub skipped: Option<String>,
    /// The entry-credit address paying for entries (public; never the secret).
    pub ec_address: Option<String>,
    /// Its balance when last asked.
    pub ec_balance: Option<i64>,
    /// Entry credits spent per block, averaged over the last blocks that paid.
    pub ec_spent_per_block: Option<f64>,
    /// Blocks the balance lasts at that spend.
    pub blocks_left: Option<u64>,
    /// Seconds since the coordinator started.
    pub uptime_secs: u64,
    /// factomd's health, as the minute monitor sees it.
    pub factomd: NodeView,
    /// Each price source's outcome in the last poll (minute 1).
    pub prices: Vec<PriceSourceView>,
    /// Miners connected now.
    pub miners_connected: usize,
    /// Of those, miners the operator paused (remote control).
    #[serde(default)]
    pub miners_paused: usize,
    /// The farm's hash rate: the sum of the connected miners' reported rates.
    pub hash_rate: FarmRate,
    /// `primary`, `standby` (`standby = true`: pays only when the primary did not; see
    /// docs/availability.md) or `relay` (a site's relay: see `relay`; it pays nothing).
    #[serde(default)]
    pub role: String,
    /// Since when (Unix seconds) miners have been connected here without a break: the
    /// coordinator the farm is using. `null`: no miner is connected (a standby following).
    #[serde(default)]
    pub active_since: Option<u64>,
    /// What the minute-9 fence found in the last block this coordinator finished.
    #[serde(default)]
    pub fence: Option<FenceView>,
    /// On a relay (`role` is then `relay`): its name and its link to the upstream. `null` on a
    /// coordinator.
    #[serde(default)]
    pub relay: Option<RelayView>,
}

/// A relay's link to its upstream, as its own `GET /api/status` shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RelayView {
    /// The relay's name: its identity at the upstream.
    pub name: String,
    /// The upstream addresses it was given, preferred first.
    pub upstreams: Vec<String>,
    /// Whether the link to an upstream is up now.
    pub linked: bool,
    /// The upstream linked to now (`null` while the link is cut).
    pub upstream: Option<String>,
    /// Unix seconds of the link's last change (linked or cut; the relay's start before its first
    /// link).
    pub since: u64,
    /// Why the link was last cut (kept after it is back, for the record).
    pub last_error: Option<String>,
    /// Links made to an upstream since the relay started (more than one: it was cut and came
    /// back).
    pub links: u64,
    /// Its miners' accepted submissions the upstream has not answered yet: held while the link
    /// is cut, or sent and waiting for the upstream's answer.
    pub waiting: usize,
}

/// The minute-9 fence's finding for one block (see `engine::Fence`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FenceView {
    /// The block.
    pub height: u32,
    /// `clear` (nothing spent since minute 1: paid as usual), `paid_elsewhere` (another
    /// coordinator paid: this one paid nothing) or `unknown` (no balance to compare).
    pub outcome: String,
    /// Entry credits spent with the farm's key by another coordinator since minute 1.
    pub ec_spent_elsewhere: u64,
}

/// The job being mined.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct JobView {
    /// Job id (counts up from 1 per coordinator run).
    pub id: u64,
    /// Height the records are for.
    pub height: u32,
    /// Records must be strictly above this difficulty (16 hex digits).
    pub min_difficulty: String,
}

/// factomd's health.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum NodeState {
    /// Not polled yet.
    #[default]
    Unknown,
    /// Answering and moving.
    Up,
    /// Not answering.
    Down,
    /// Answering, but its minute has not moved for too long.
    Stalled,
}

/// factomd's health and its last error.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct NodeView {
    /// Up, down, stalled (or unknown before the first poll).
    pub state: NodeState,
    /// The last error seen (kept after the node is back, for the record).
    pub last_error: Option<String>,
    /// Unix seconds when `state` last changed.
    pub since: Option<u64>,
    /// Blocks skipped because factomd served something that is not what was asked for (or ran
    /// past the fetch budget) since the coordinator started.
    #[serde(default)]
    pub faults: u64,
    /// The last such fault: block, kind and what was wrong.
    #[serde(default)]
    pub last_fault: Option<String>,
}

/// One price source in the last poll.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PriceSourceView {
    /// The source's name as in the config.
    pub name: String,
    /// `ok`, `cached`, `failed`, `breaker_open` or `unused`.
    pub state: String,
    /// What went wrong, when it failed (API keys are never part of it).
    pub last_error: Option<String>,
    /// Unix seconds of the poll.
    pub checked: u64,
}

/// Hash rates over three windows (hashes per second).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Default)]
pub struct FarmRate {
    /// Over the last 10 s.
    pub rate_10s: f64,
    /// Over the last 60 s.
    pub rate_60s: f64,
    /// Over the last 15 minutes.
    pub rate_15m: f64,
}

/// `GET /api/miners`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MinersView {
    /// Connected miners, then those seen in the last hour, each sorted by identity.
    pub miners: Vec<MinerView>,
}

/// One miner, connected now or seen in the last hour.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MinerView {
    /// Its identity (goes into its records).
    pub identity: String,
    /// Its payout address.
    pub coinbase: String,
    /// The address it connected from (`ip:port`).
    pub address: String,
    /// Whether it is connected now.
    pub connected: bool,
    /// Unix seconds when its (last) connection was authenticated.
    pub connected_at: u64,
    /// Unix seconds of the last frame heard from it.
    pub last_seen: u64,
    /// Reported hash rate over 10 s (hashes per second).
    pub rate_10s: f64,
    /// Reported hash rate over 60 s.
    pub rate_60s: f64,
    /// Reported hash rate over 15 minutes.
    pub rate_15m: f64,
    /// Reported rate of each worker over 10 s.
    pub per_worker: Vec<f64>,
    /// Its hashing backend, if it reports one (`cpu`, `opencl`, …).
    pub backend: Option<String>,
    /// Its workers' descriptions, if it reports them.
    pub devices: Vec<String>,
    /// Its GPUs' health, if it reports it: per device the 10 s rate, the watchdog's state
    /// (`ok`, `reinitializing`, `hot`, `disabled`), restarts, temperature and fan (bounded and
    /// cleaned like the rest of its stats).
    #[serde(default)]
    pub device_health: Vec<protocol::DeviceHealth>,
    /// Records it submitted since the coordinator started.
    pub records_submitted: u64,
    /// Of those, records that verified.
    pub records_accepted: u64,
    /// Of those, records refused, per reason (`stale_job`, `wrong_difficulty`, …).
    pub records_rejected: BTreeMap<String, u64>,
    /// Entries of its records the coordinator paid for (revealed).
    pub entries_paid: u64,
    /// The hash rate its records prove, over its last blocks (see
    /// [`crate::telemetry::effective_hashes`]); `null` until one block of its records was seen.
    pub effective_rate: Option<f64>,
    /// The relay it reaches this coordinator through (`null`: connected directly); `address` is
    /// then the relay's.
    #[serde(default)]
    pub via: Option<String>,
    /// How the roster knows it: `pinned` (its box key, enrolled earlier), `new` (pinned when it
    /// first logged in, since this coordinator started: an operator may want to look), `unsigned`
    /// (a netminer without a box key, older than protocol 2), `relayed` (its relay checks its key).
    #[serde(default)]
    pub trust: Option<String>,
    /// The protocol version it speaks (`null` for a relayed miner).
    #[serde(default)]
    pub protocol: Option<u32>,
    /// Whether the operator paused it (remote control, protocol 3): it is connected and answers,
    /// and hashes nothing until resumed. Alerts on its rate should skip it; a paused miner that
    /// disconnects is not paused any more (it is offline).
    #[serde(default)]
    pub paused: bool,
}

/// `GET /api/blocks`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BlocksView {
    /// Newest first.
    pub blocks: Vec<crate::store::BlockRecord>,
}

/// `GET /api/hashrate`: the farm's hash rate over the last hours, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HashRateView {
    /// `[unix seconds, hashes per second]` samples.
    pub samples: Vec<(u64, f64)>,
}
