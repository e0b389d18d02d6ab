//! What the coordinator knows about its farm right now, for its operators: the HTTP API, the
//! dashboard, `/metrics` and the 15-minute stats line all read it from here.
//!
//! The hub, the connections and the block engine report what happens (a miner connected, a
//! submission's outcome, a block paid, factomd down); [`Telemetry`] keeps the current picture
//! (bounded: see [`miners`]), the farm's hash-rate history for the dashboard's chart, the counters
//! of the current stats period, and the Prometheus metrics. Every method takes one short lock and
//! never waits for I/O, so the async threads may call it.

mod device_metrics;
mod facts;
mod metrics;
mod miners;
mod paused;
mod relay;
pub mod views;

pub use device_metrics::DEVICE_METRICS;
pub use facts::{Facts, MinerFact};
pub use metrics::{METRICS, PRIMARY_ONLY};
pub use miners::{EFFECTIVE_BLOCKS, KEEP_DISCONNECTED};

use crate::store::BlockRecord;
use factom::NodeFault;
use metrics::{label, Metrics};
use miners::MinerBook;
use protocol::{RefusalCount, Stats};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use views::{
    FarmRate, FenceView, JobView, MinerView, NodeState, NodeView, PriceSourceView, RelayView,
    StatusView,
};

/// How often the farm's hash rate is sampled for the chart.
pub const RATE_SAMPLE_EVERY: Duration = Duration::from_secs(30);

/// Samples of the farm's hash rate kept (12 hours at [`RATE_SAMPLE_EVERY`]).
pub const RATE_SAMPLES: usize = 1440;

/// Blocks averaged for the EC spend per block (and so the blocks the balance lasts).
const SPEND_BLOCKS: usize = 12;

/// Unix seconds now.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// How many hashes a miner did, estimated from its `n` best records, the worst of them at
/// `difficulty`: each hash exceeds `d` with probability `p = 1 − d/2⁶⁴`, so the `n`-th best of
/// `H` hashes sits where `H·p ≈ n`. `(n − 1) / p` is the unbiased estimate of `H` (plain `n / p`
/// overstates it by `n / (n − 1)`: 1.5× with 3 records); with a single record, `1 / p`. A
/// miner's *effective* hash rate is that over the time it mined, whatever rate it reports.
pub fn effective_hashes(n: usize, difficulty: u64) -> f64 {
    let p = ((u64::MAX - difficulty) as f64 + 1.0) / 18_446_744_073_709_551_616.0;
    n.saturating_sub(1).max(1) as f64 / p
}

/// What the stats line covers: counters since the previous line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Period {
    /// Blocks finished (paid or not) and skipped.
    pub blocks: u64,
    /// Records received from miners.
    pub records: u64,
    /// Records that verified.
    pub records_accepted: u64,
    /// Entries paid (revealed).
    pub entries_paid: u64,
    /// Entries that could not be paid.
    pub entries_failed: u64,
    /// Entry credits spent.
    pub ec_spent: u64,
    /// Our entries among graded winners.
    pub winners: u64,
}

struct Inner {
    network: Option<String>,
    ec_address: Option<String>,
    height: Option<u32>,
    minute: Option<u8>,
    job: Option<JobView>,
    skipped: Option<String>,
    ec_balance: Option<i64>,
    node: NodeView,
    prices: Vec<PriceSourceView>,
    miners: MinerBook,
    rate_history: VecDeque<(u64, f64)>,
    spend: VecDeque<u64>,
    period: Period,
    standby: bool,
    active_since: Option<u64>,
    fence: Option<FenceView>,
    /// Miners paused at some time during the current block (for its record; see `paused.rs`).
    paused_in_block: std::collections::BTreeSet<String>,
    /// The last block that paid nothing while miners were connected, until a block pays.
    unpaid_with_miners: Option<u32>,
    /// On a relay, its link to the upstream (see `relay.rs`).
    relay: Option<RelayView>,
}

/// The coordinator's live picture of its farm. One per coordinator, shared through the hub
/// ([`crate::server::Hub::telemetry`]).
pub struct Telemetry {
    started: Instant,
    inner: Mutex<Inner>,
    metrics: Metrics,
    /// Where the HTTP API finds the hub to send remote-control requests (the API starts first).
    control: crate::server::ControlDesk,
}

impl Telemetry {
    /// A coordinator's telemetry listing at most `max_miners` miners (connected ones are always
    /// listed). A relay's is [`Telemetry::for_relay`].
    pub fn new(max_miners: usize) -> Telemetry {
        Telemetry::build(max_miners, None)
    }

    /// The telemetry of a coordinator (`relay: None`) or of a relay.
    fn build(max_miners: usize, relay: Option<RelayView>) -> Telemetry {
        let metrics = Metrics::new(relay.is_some());
        Telemetry {
            started: Instant::now(),
            inner: Mutex::new(Inner {
                network: None,
                ec_address: None,
                height: None,
                minute: None,
                job: None,
                skipped: None,
                ec_balance: None,
                node: NodeView::default(),
                prices: Vec::new(),
                miners: MinerBook::new(max_miners),
                rate_history: VecDeque::new(),
                spend: VecDeque::new(),
                period: Period::default(),
                standby: false,
                active_since: None,
                fence: None,
                paused_in_block: Default::default(),
                unpaid_with_miners: None,
                relay,
            }),
            metrics,
            control: Default::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The network mined and the paying EC address (public), once known.
    pub fn set_identity(&self, network: &str, ec_address: &str) {
        let mut st = self.lock();
        st.network = Some(network.to_string());
        st.ec_address = Some(ec_address.to_string());
    }

    /// Whether this coordinator runs as a standby (`standby = true`) or as the primary.
    pub fn set_standby(&self, standby: bool) {
        self.lock().standby = standby;
    }

    /// What the minute-9 fence found for `height` (see `engine::Fence`).
    pub fn fence(&self, height: u32, fence: crate::engine::Fence) {
        use crate::engine::Fence;
        let (outcome, ec) = match fence {
            Fence::Clear => ("clear", 0),
            Fence::PaidElsewhere { ec } => ("paid_elsewhere", ec),
            Fence::Unknown => ("unknown", 0),
        };
        self.lock().fence = Some(FenceView {
            height,
            outcome: outcome.to_string(),
            ec_spent_elsewhere: ec,
        });
    }

    /// factomd moved to `minute` of `height`.
    pub fn minute(&self, height: u32, minute: u8) {
        let mut st = self.lock();
        if st.height != Some(height) {
            st.skipped = None;
        }
        st.height = Some(height);
        st.minute = Some(minute);
        self.metrics.height.set(i64::from(height));
    }

    /// A job started (`Some`) or was collected (`None`).
    pub fn job(&self, job: Option<JobView>) {
        let mut st = self.lock();
        if job.is_some() {
            st.skipped = None;
        }
        st.job = job;
    }

    /// The block being built is skipped, and why.
    pub fn skipped(&self, reason: &str) {
        let mut st = self.lock();
        st.skipped = Some(reason.to_string());
        st.job = None;
        st.period.blocks += 1;
        self.metrics
            .blocks
            .get_or_create(&label("outcome", "skipped"))
            .inc();
    }

    /// factomd's health changed.
    pub fn node(&self, state: NodeState, error: Option<String>) {
        let mut st = self.lock();
        if st.node.state != state {
            st.node.since = Some(unix_now());
        }
        st.node.state = state;
        if error.is_some() {
            st.node.last_error = error;
        }
        self.metrics
            .factomd_up
            .set(i64::from(state == NodeState::Up));
    }

    /// factomd was faulty for `height`: it served something that is not what was asked for (the
    /// block is skipped). Counted per kind in `netmine_node_faults_total`.
    pub fn node_fault(&self, height: u32, fault: &NodeFault) {
        let mut st = self.lock();
        st.node.faults += 1;
        st.node.last_fault = Some(format!("block {height}, {}: {fault}", fault.kind()));
        self.metrics
            .node_faults
            .get_or_create(&label("kind", fault.kind()))
            .inc();
    }

    /// The price sources' outcomes of the last poll.
    pub fn prices(&self, report: &prices::Report) {
        use prices::report::SourceOutcome as O;
        let now = unix_now();
        let views: Vec<PriceSourceView> = report
            .sources
            .iter()
            .map(|s| {
                let (state, error) = match &s.outcome {
                    O::Fetched => ("ok", None),
                    O::Cached { .. } => ("cached", None),
                    O::Failed(e) => ("failed", Some(e.clone())),
                    O::BreakerOpen { .. } => ("breaker_open", None),
                    O::Unused => ("unused", None),
                };
                // A source no asset needed is neither up nor down: no series (so the price
                // alert watches only the sources in use).
                let series = label("source", &s.name);
                if matches!(s.outcome, O::Unused) {
                    self.metrics.price_source_up.remove(&series);
                } else {
                    let up = matches!(s.outcome, O::Fetched | O::Cached { .. });
                    self.metrics
                        .price_source_up
                        .get_or_create(&series)
                        .set(i64::from(up));
                }
                PriceSourceView {
                    name: s.name.clone(),
                    state: state.into(),
                    last_error: error,
                    checked: now,
                }
            })
            .collect();
        self.lock().prices = views;
    }

    /// The EC balance, when asked.
    pub fn ec_balance(&self, balance: i64) {
        self.lock().ec_balance = Some(balance);
        self.metrics.ec_balance.set(balance);
    }

    /// A failed handshake (wrong secret, malformed, timed out).
    pub fn auth_failure(&self) {
        self.metrics.auth_failures.inc();
    }

    /// A miner authenticated.
    pub fn miner_connected(&self, identity: &str, coinbase: &str, addr: SocketAddr) {
        self.miner_connected_via(identity, coinbase, addr, None)
    }

    /// A miner behind the relay `via` (whose link comes from `addr`) was first heard of.
    pub fn miner_connected_via(
        &self,
        identity: &str,
        coinbase: &str,
        addr: SocketAddr,
        via: Option<&str>,
    ) {
        let mut st = self.lock();
        st.miners
            .connected(identity, coinbase, addr, via, unix_now());
        st.active_since.get_or_insert_with(unix_now);
        self.paused_changed(&mut st, identity);
        self.metrics
            .miners_connected
            .set(st.miners.connected_rates().count() as i64);
    }

    /// How the roster knows a connected miner (`pinned`, `new`, `unsigned`) and its protocol
    /// version.
    pub fn miner_trust(&self, identity: &str, trust: &str, version: u32) {
        self.lock().miners.trust(identity, trust, version);
    }

    /// A miner's connection ended.
    pub fn miner_disconnected(&self, identity: &str) {
        let mut st = self.lock();
        let devices = st.miners.device_count(identity);
        st.miners.disconnected(identity, unix_now());
        self.metrics.hashrate.remove(&label("identity", identity));
        self.paused_changed(&mut st, identity);
        self.metrics.devices.remove(identity, 0, devices);
        let connected = st.miners.connected_rates().count();
        if connected == 0 {
            st.active_since = None;
        }
        self.metrics.miners_connected.set(connected as i64);
    }

    /// A frame was heard from a miner.
    pub fn miner_seen(&self, identity: &str) {
        self.lock().miners.seen(identity, unix_now());
    }

    /// A miner's hash-rate report (cleaned and bounded by the hub).
    pub fn miner_stats(&self, identity: &str, s: &Stats) {
        let mut st = self.lock();
        let before = st.miners.device_count(identity);
        st.miners.stats(identity, s, unix_now());
        if s.paused.is_some() {
            self.paused_changed(&mut st, identity);
        }
        // Under the lock, so two reports of one miner cannot interleave their series.
        self.metrics
            .devices
            .report(identity, before, &s.device_health);
        drop(st);
        self.metrics
            .hashrate
            .get_or_create(&label("identity", identity))
            .set(s.rate_10s);
    }

    /// What became of a submission of `submitted` records.
    pub fn miner_submission(
        &self,
        identity: &str,
        submitted: usize,
        accepted: u32,
        rejected: &[RefusalCount],
    ) {
        let mut st = self.lock();
        st.miners
            .submission(identity, submitted, accepted, rejected, unix_now());
        st.period.records += submitted as u64;
        st.period.records_accepted += u64::from(accepted);
        if accepted > 0 {
            self.metrics
                .records
                .get_or_create(&label("result", "accepted"))
                .inc_by(u64::from(accepted));
        }
        for r in rejected {
            self.metrics
                .records
                .get_or_create(&label("result", r.code.name()))
                .inc_by(u64::from(r.count));
        }
    }

    /// One block's proof of a miner's work (see [`effective_hashes`]).
    pub fn miner_effective(&self, identity: &str, hashes: f64, secs: f64) {
        self.lock().miners.effective(identity, hashes, secs);
    }

    /// A block finished: its record as stored, and the entries paid per miner.
    pub fn block_finished(&self, b: &BlockRecord, paid_per_miner: &[(String, u64)]) {
        let mut st = self.lock();
        for (identity, n) in paid_per_miner {
            st.miners.paid(identity, *n);
        }
        st.period.blocks += 1;
        st.period.entries_paid += b.entries_paid as u64;
        st.period.entries_failed += b.entries_failed as u64;
        st.period.ec_spent += b.ec_spent;
        if b.ec_spent > 0 {
            st.spend.push_back(b.ec_spent);
            while st.spend.len() > SPEND_BLOCKS {
                st.spend.pop_front();
            }
        }
        if let Some(bal) = b.ec_balance {
            st.ec_balance = Some(bal);
            self.metrics.ec_balance.set(bal);
        }
        self.metrics.entries_paid.inc_by(b.entries_paid as u64);
        self.metrics.entries_failed.inc_by(b.entries_failed as u64);
        self.metrics.ec_spent.inc_by(b.ec_spent);
        let outcome = if b.entries_paid > 0 {
            "paid"
        } else {
            "nothing_paid"
        };
        // Nothing paid while miners mined: an alert (unless another coordinator of the farm paid
        // this block: the fence saw its spend).
        let paid_elsewhere = st
            .fence
            .as_ref()
            .is_some_and(|f| f.height == b.height && f.outcome == "paid_elsewhere");
        if b.entries_paid == 0 && b.miners > 0 && b.job_id.is_some() && !paid_elsewhere {
            self.metrics.blocks_unpaid_with_miners.inc();
            st.unpaid_with_miners = Some(b.height);
        } else if b.entries_paid > 0 {
            st.unpaid_with_miners = None;
        }
        self.metrics
            .blocks
            .get_or_create(&label("outcome", outcome))
            .inc();
        drop(st);
        // Each block adds a point to the chart too (so short devnet blocks draw one at once);
        // the chart and the blocks both show the 60 s rate.
        self.push_rate(unix_now(), b.hash_rate);
    }

    /// A block we paid for was graded: `ours` of its winners are our entries.
    pub fn graded(&self, ours: usize) {
        self.lock().period.winners += ours as u64;
        self.metrics.winners.inc_by(ours as u64);
    }

    /// Whether `identity` is listed as connected.
    pub fn is_connected(&self, identity: &str) -> bool {
        self.lock().miners.is_connected(identity)
    }

    /// Miners connected now, directly or through a relay.
    pub fn miners_connected(&self) -> usize {
        self.lock().miners.connected_rates().count()
    }

    /// The connected miners' reported rates added up.
    pub fn farm_rate(&self) -> FarmRate {
        let st = self.lock();
        let mut r = FarmRate::default();
        for (_, v) in st.miners.connected_rates() {
            r.rate_10s += v.rate_10s;
            r.rate_60s += v.rate_60s;
            r.rate_15m += v.rate_15m;
        }
        r
    }

    /// Records the farm's hash rate now for the chart (the daemon calls it every
    /// [`RATE_SAMPLE_EVERY`]).
    pub fn sample_rate(&self) {
        self.push_rate(unix_now(), self.farm_rate().rate_60s);
    }

    /// Adds a sample to the history (also used to seed it from the stored blocks at start).
    pub fn push_rate(&self, at: u64, rate: f64) {
        let mut st = self.lock();
        st.rate_history.push_back((at, rate));
        while st.rate_history.len() > RATE_SAMPLES {
            st.rate_history.pop_front();
        }
    }

    /// The hash-rate history, oldest first.
    pub fn rate_history(&self) -> Vec<(u64, f64)> {
        self.lock().rate_history.iter().copied().collect()
    }

    /// The counters since the last call (for the stats line), reset.
    pub fn take_period(&self) -> Period {
        std::mem::take(&mut self.lock().period)
    }

    /// `GET /api/status`.
    pub fn status(&self) -> StatusView {
        let hash_rate = self.farm_rate();
        let st = self.lock();
        let spend = (!st.spend.is_empty())
            .then(|| st.spend.iter().sum::<u64>() as f64 / st.spend.len() as f64);
        let blocks_left = match (st.ec_balance, spend) {
            (Some(b), Some(s)) if s > 0.0 => Some((b.max(0) as f64 / s).floor() as u64),
            _ => None,
        };
        StatusView {
            version: env!("CARGO_PKG_VERSION").to_string(),
            network: st.network.clone(),
            height: st.height,
            minute: st.minute,
            job: st.job.clone(),
            skipped: st.skipped.clone(),
            ec_address: st.ec_address.clone(),
            ec_balance: st.ec_balance,
            ec_spent_per_block: spend,
            blocks_left,
            uptime_secs: self.started.elapsed().as_secs(),
            factomd: st.node.clone(),
            prices: st.prices.clone(),
            miners_connected: st.miners.connected_rates().count(),
            miners_paused: st.miners.paused_now().count(),
            hash_rate,
            role: match (&st.relay, st.standby) {
                (Some(_), _) => "relay",
                (None, true) => "standby",
                (None, false) => "primary",
            }
            .to_string(),
            active_since: st.active_since,
            fence: st.fence.clone(),
            relay: st.relay.clone(),
        }
    }

    /// `GET /api/miners`.
    pub fn miners(&self) -> Vec<MinerView> {
        self.lock().miners.views(unix_now())
    }

    /// `GET /metrics`.
    pub fn metrics_text(&self) -> String {
        // The farm's rate as of this scrape, the same 10 s rates as the per-miner series.
        self.metrics.farm_hashrate.set(self.farm_rate().rate_10s);
        // The per-miner series follow the book (connected, or seen in the last hour; bounded by
        // its cap): rebuilt from it at each scrape, so a forgotten miner's series go too.
        let miners = self.miners();
        self.metrics.miner_last_seen.clear();
        self.metrics.miner_effective.clear();
        for m in &miners {
            let id = label("identity", &m.identity);
            self.metrics
                .miner_last_seen
                .get_or_create(&id)
                .set(i64::try_from(m.last_seen).unwrap_or(i64::MAX));
            if let Some(rate) = m.effective_rate {
                self.metrics.miner_effective.get_or_create(&id).set(rate);
            }
        }
        self.metrics.encode()
    }

    /// Miners listed (for the bound's test).
    pub fn miners_held(&self) -> usize {
        self.lock().miners.len()
    }

    /// Miners listed and the per-worker rates held for them, all together (for the hub's
    /// footprint).
    pub fn reports_held(&self) -> (usize, usize) {
        let st = self.lock();
        (st.miners.len(), st.miners.per_worker_held())
    }
}

#[cfg(test)]
mod tests;
