//! The Prometheus metrics (`GET /metrics`, OpenMetrics text format through `prometheus-client`).
//! Every metric is named `netmine_…`; counters get the `_total` suffix from the encoder.
//!
//! A relay serves the same metrics for its own miners, less those only a coordinator that pays
//! has ([`PRIMARY_ONLY`]: entries, EC, blocks, factomd, prices; a relay showing them at 0 would
//! look like a farm in trouble), plus its link's (`netmine_relay_…`, served only by a relay).

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

/// A label set: `[(name, value)]`.
pub(super) type Labels = Vec<(String, String)>;

/// A floating-point gauge.
type FloatGauge = Gauge<f64, AtomicU64>;

/// The coordinator's metrics, registered once.
pub(super) struct Metrics {
    registry: Registry,
    pub(super) miners_connected: Gauge,
    pub(super) hashrate: Family<Labels, FloatGauge>,
    pub(super) farm_hashrate: FloatGauge,
    pub(super) records: Family<Labels, Counter>,
    pub(super) entries_paid: Counter,
    pub(super) entries_failed: Counter,
    pub(super) ec_balance: Gauge,
    pub(super) ec_spent: Counter,
    pub(super) blocks: Family<Labels, Counter>,
    pub(super) winners: Counter,
    pub(super) factomd_up: Gauge,
    pub(super) node_faults: Family<Labels, Counter>,
    pub(super) price_source_up: Family<Labels, Gauge>,
    pub(super) auth_failures: Counter,
    pub(super) height: Gauge,
    pub(super) miner_paused: Family<Labels, Gauge>,
    pub(super) miners_paused: Gauge,
    pub(super) miner_last_seen: Family<Labels, Gauge>,
    pub(super) miner_effective: Family<Labels, FloatGauge>,
    pub(super) blocks_unpaid_with_miners: Counter,
    pub(super) relay_upstream_up: Gauge,
    pub(super) relay_links: Counter,
    pub(super) relay_waiting: Gauge,
    pub(super) devices: super::device_metrics::DeviceMetrics,
}

/// The names and help texts, in the order `/metrics` lists them (docs/http-api.md lists the same).
pub const METRICS: &[(&str, &str)] = &[
    (
        "netmine_miners_connected",
        "Miners connected and authenticated now",
    ),
    (
        "netmine_hashrate_hashes_per_second",
        "Hash rate each connected miner reports over 10 s, by identity",
    ),
    (
        "netmine_farm_hashrate_hashes_per_second",
        "The connected miners' reported 10 s hash rates added up (as of the scrape)",
    ),
    (
        "netmine_records",
        "Records submitted by miners, by result (accepted or the refusal reason)",
    ),
    ("netmine_entries_paid", "Entries paid for (revealed)"),
    (
        "netmine_entries_failed",
        "Entries that could not be paid before their block ended",
    ),
    ("netmine_ec_balance", "Entry-credit balance when last asked"),
    ("netmine_ec_spent", "Entry credits spent on commits"),
    (
        "netmine_blocks",
        "Blocks by outcome: paid, nothing_paid (a job ran, no entry landed), skipped",
    ),
    (
        "netmine_winners",
        "Our entries among the graded winners of a block",
    ),
    (
        "netmine_factomd_up",
        "1 when factomd answers and moves, else 0",
    ),
    (
        "netmine_node_faults",
        "Blocks skipped because factomd served something other than what was asked for, by kind \
         (entry_hash, chain, entry_size, keymr, malformed, height, budget, oversized_answer)",
    ),
    (
        "netmine_price_source_up",
        "1 when the price source gave quotes in the last poll (fetched or cached), else 0",
    ),
    (
        "netmine_auth_failures",
        "Failed miner handshakes (wrong secret, malformed, timed out)",
    ),
    ("netmine_height", "Height of the block being built"),
    (
        "netmine_miner_paused",
        "1 while a connected miner is paused by the operator (remote control), else 0, by identity",
    ),
    (
        "netmine_miners_paused",
        "Connected miners paused by the operator (remote control)",
    ),
    (
        "netmine_miner_last_seen_timestamp_seconds",
        "Unix time of the last frame heard from each miner listed (connected, or seen in the last \
         hour), by identity",
    ),
    (
        "netmine_miner_effective_hashrate_hashes_per_second",
        "Hash rate each miner's records prove over its last blocks, by identity",
    ),
    (
        "netmine_blocks_unpaid_with_miners",
        "Blocks whose job ran with miners connected and that paid nothing (not counting a block \
         another coordinator of the farm paid)",
    ),
    (
        "netmine_relay_upstream_up",
        "Relays only: 1 while the relay's link to its upstream is up, else 0",
    ),
    (
        "netmine_relay_upstream_links",
        "Relays only: links made to the upstream since the relay started (each one after the \
         first follows a cut)",
    ),
    (
        "netmine_relay_submissions_waiting",
        "Relays only: accepted submissions of the relay's miners the upstream has not answered \
         yet (held while the link is cut, or sent and unanswered)",
    ),
];

/// The metrics only a coordinator that pays serves: a relay (which talks to no factomd, polls no
/// prices and pays nothing) leaves them out rather than show them at 0.
pub const PRIMARY_ONLY: &[&str] = &[
    "netmine_entries_paid",
    "netmine_entries_failed",
    "netmine_ec_balance",
    "netmine_ec_spent",
    "netmine_blocks",
    "netmine_winners",
    "netmine_factomd_up",
    "netmine_node_faults",
    "netmine_price_source_up",
    "netmine_blocks_unpaid_with_miners",
];

impl Metrics {
    /// A coordinator's metrics, or with `relay` a relay's (see [`PRIMARY_ONLY`]).
    pub(super) fn new(relay: bool) -> Metrics {
        let mut registry = Registry::default();
        let m = Metrics {
            miners_connected: Gauge::default(),
            hashrate: Family::default(),
            farm_hashrate: FloatGauge::default(),
            records: Family::default(),
            entries_paid: Counter::default(),
            entries_failed: Counter::default(),
            ec_balance: Gauge::default(),
            ec_spent: Counter::default(),
            blocks: Family::default(),
            winners: Counter::default(),
            factomd_up: Gauge::default(),
            node_faults: Family::default(),
            price_source_up: Family::default(),
            auth_failures: Counter::default(),
            height: Gauge::default(),
            miner_paused: Family::default(),
            miners_paused: Gauge::default(),
            miner_last_seen: Family::default(),
            miner_effective: Family::default(),
            blocks_unpaid_with_miners: Counter::default(),
            relay_upstream_up: Gauge::default(),
            relay_links: Counter::default(),
            relay_waiting: Gauge::default(),
            devices: Default::default(),
            registry: Registry::default(),
        };
        let help = |name: &str| {
            METRICS
                .iter()
                .find(|(n, _)| *n == name)
                .map_or("", |(_, h)| *h)
        };
        // Which metrics this role serves (the others are kept, and never encoded).
        let serves = |name: &str| match relay {
            true => !PRIMARY_ONLY.contains(&name),
            false => !name.starts_with("netmine_relay_"),
        };
        macro_rules! reg {
            ($name:literal, $metric:expr) => {
                if serves($name) {
                    registry.register($name, help($name), $metric.clone())
                }
            };
        }
        reg!("netmine_miners_connected", m.miners_connected);
        reg!("netmine_hashrate_hashes_per_second", m.hashrate);
        reg!("netmine_farm_hashrate_hashes_per_second", m.farm_hashrate);
        reg!("netmine_records", m.records);
        reg!("netmine_entries_paid", m.entries_paid);
        reg!("netmine_entries_failed", m.entries_failed);
        reg!("netmine_ec_balance", m.ec_balance);
        reg!("netmine_ec_spent", m.ec_spent);
        reg!("netmine_blocks", m.blocks);
        reg!("netmine_winners", m.winners);
        reg!("netmine_factomd_up", m.factomd_up);
        reg!("netmine_node_faults", m.node_faults);
        reg!("netmine_price_source_up", m.price_source_up);
        reg!("netmine_auth_failures", m.auth_failures);
        reg!("netmine_height", m.height);
        reg!("netmine_miner_paused", m.miner_paused);
        reg!("netmine_miners_paused", m.miners_paused);
        reg!(
            "netmine_miner_last_seen_timestamp_seconds",
            m.miner_last_seen
        );
        reg!(
            "netmine_miner_effective_hashrate_hashes_per_second",
            m.miner_effective
        );
        reg!(
            "netmine_blocks_unpaid_with_miners",
            m.blocks_unpaid_with_miners
        );
        reg!("netmine_relay_upstream_up", m.relay_upstream_up);
        reg!("netmine_relay_upstream_links", m.relay_links);
        reg!("netmine_relay_submissions_waiting", m.relay_waiting);
        m.devices.register(&mut registry);
        // Series that exist from the start (at 0), so a rate() over them works from the first
        // scrape; per-miner and per-source series appear with their miner or source.
        for outcome in ["paid", "nothing_paid", "skipped"] {
            let _ = m.blocks.get_or_create(&label("outcome", outcome));
        }
        let _ = m.records.get_or_create(&label("result", "accepted"));
        for kind in factom::NodeFault::KINDS {
            let _ = m.node_faults.get_or_create(&label("kind", kind));
        }
        Metrics { registry, ..m }
    }

    /// The metrics in the OpenMetrics text format.
    pub(super) fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// One label.
pub(super) fn label(name: &str, value: &str) -> Labels {
    vec![(name.to_string(), value.to_string())]
}
