//! The per-device (GPU) series of `/metrics`: each miner's devices' rate, watchdog state,
//! restarts, temperature and fan, from the health its stats report (already bounded and cleaned
//! by the hub).
//!
//! Cardinality stays bounded whatever miners send: the `device` label is the device's position in
//! the miner's report (`0` to `63`, at most [`protocol::Stats::MAX_DEVICES`]), never its name,
//! so a miner renaming its devices every report creates no new series; the names are in
//! `/api/miners`. The `state` series exists only for the device's current state. A miner's series
//! go when its report shrinks or it disconnects.

use super::metrics::Labels;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use protocol::{DeviceHealth, DeviceState};
use std::sync::atomic::AtomicU64;

type FloatGauge = Gauge<f64, AtomicU64>;

/// The names and help texts (docs/http-api.md lists the same).
pub const DEVICE_METRICS: &[(&str, &str)] = &[
    (
        "netmine_device_hashrate_hashes_per_second",
        "Hash rate of each GPU of each connected miner over 10 s, by identity and device (its position in the miner's list)",
    ),
    (
        "netmine_device_state",
        "1 for each GPU's watchdog state (ok, reinitializing, hot, disabled, unknown), by identity and device",
    ),
    (
        "netmine_device_restarts",
        "Times the miner's watchdog reinitialized the GPU since the miner started",
    ),
    (
        "netmine_device_temperature_celsius",
        "GPU temperature, where the miner's driver exposes it",
    ),
    (
        "netmine_device_fan_percent",
        "GPU fan speed in percent of its maximum, where the miner's driver exposes it",
    ),
];

/// The per-device families.
#[derive(Default)]
pub(super) struct DeviceMetrics {
    rate: Family<Labels, FloatGauge>,
    state: Family<Labels, Gauge>,
    restarts: Family<Labels, Gauge>,
    temp: Family<Labels, FloatGauge>,
    fan: Family<Labels, FloatGauge>,
}

fn labels(identity: &str, device: usize) -> Labels {
    vec![
        ("identity".to_string(), identity.to_string()),
        ("device".to_string(), device.to_string()),
    ]
}

fn with_state(mut l: Labels, state: DeviceState) -> Labels {
    l.push(("state".to_string(), state.as_str().to_string()));
    l
}

impl DeviceMetrics {
    /// Registers the families in `registry`.
    pub(super) fn register(&self, registry: &mut Registry) {
        let help = |name: &str| {
            DEVICE_METRICS
                .iter()
                .find(|(n, _)| *n == name)
                .map_or("", |(_, h)| *h)
        };
        let [rate, state, restarts, temp, fan] = [0, 1, 2, 3, 4].map(|k| DEVICE_METRICS[k].0);
        registry.register(rate, help(rate), self.rate.clone());
        registry.register(state, help(state), self.state.clone());
        registry.register(restarts, help(restarts), self.restarts.clone());
        registry.register(temp, help(temp), self.temp.clone());
        registry.register(fan, help(fan), self.fan.clone());
    }

    /// `identity` reported `health` (it had `before` devices).
    pub(super) fn report(&self, identity: &str, before: usize, health: &[DeviceHealth]) {
        for (k, h) in health.iter().enumerate() {
            let l = labels(identity, k);
            self.rate.get_or_create(&l).set(h.rate_10s);
            for s in DeviceState::ALL {
                if s != h.state {
                    self.state.remove(&with_state(l.clone(), s));
                }
            }
            self.state
                .get_or_create(&with_state(l.clone(), h.state))
                .set(1);
            self.restarts.get_or_create(&l).set(i64::from(h.restarts));
            match h.temp_c {
                Some(t) => {
                    self.temp.get_or_create(&l).set(t);
                }
                None => {
                    self.temp.remove(&l);
                }
            }
            match h.fan_percent {
                Some(p) => {
                    self.fan.get_or_create(&l).set(p);
                }
                None => {
                    self.fan.remove(&l);
                }
            }
        }
        self.remove(identity, health.len(), before);
    }

    /// Removes `identity`'s series of devices `from..to`.
    pub(super) fn remove(&self, identity: &str, from: usize, to: usize) {
        for k in from..to {
            let l = labels(identity, k);
            self.rate.remove(&l);
            for s in DeviceState::ALL {
                self.state.remove(&with_state(l.clone(), s));
            }
            self.restarts.remove(&l);
            self.temp.remove(&l);
            self.fan.remove(&l);
        }
    }
}
