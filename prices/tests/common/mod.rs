//! Helpers shared by the oracle tests: a fixture server with the devnet prices and configs that
//! point chosen sources at it.

#![allow(dead_code)]

use pegnet::Network;
use prices::breaker::Clock;
use prices::sources::{fixed, kind};
use prices::{Oracle, PricesConfig};
use prices_fixture::{FixtureServer, FIXTURE_KEY};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The devnet's USD prices.
pub fn devnet_prices() -> BTreeMap<String, f64> {
    fixed::parse(fixed::DEVNET_PRICES, "t")
        .unwrap()
        .into_iter()
        .map(|(a, q)| (a, q.value))
        .collect()
}

/// `[prices]` TOML enabling exactly `sources` (name, priority) at the fixture; every other source
/// disabled. `extra` is appended inside `[prices]`.
pub fn config(fx: &FixtureServer, sources: &[(&str, i64)], extra: &str) -> PricesConfig {
    let mut t = format!("timeout_secs = 0.5\nrefresh_secs = 0\n{extra}\n");
    for k in &prices::sources::KINDS {
        let p = sources
            .iter()
            .find(|(n, _)| *n == k.name)
            .map_or(-1, |(_, p)| *p);
        t.push_str(&format!("[sources.{}]\npriority = {p}\n", k.name));
        if p >= 0 && k.url.is_some() {
            t.push_str(&format!("url = \"{}\"\n", fx.url(k.name)));
            if kind(k.name).unwrap().needs_key {
                t.push_str(&format!("key = \"{FIXTURE_KEY}\"\n"));
            }
        }
    }
    toml::from_str(&t).unwrap_or_else(|e| panic!("{e}\n{t}"))
}

/// An oracle over `cfg` on mainnet defaults.
pub fn oracle(cfg: &PricesConfig) -> Oracle {
    Oracle::new(cfg.plan(Network::MainNet).unwrap()).unwrap()
}

/// An oracle on a given clock.
pub fn oracle_on(cfg: &PricesConfig, clock: Arc<dyn Clock>) -> Oracle {
    Oracle::with_clock(cfg.plan(Network::MainNet).unwrap(), clock).unwrap()
}

/// Relative closeness (the forex sources invert twice).
pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-8 + b.abs() * 1e-9
}
