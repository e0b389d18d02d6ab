//! What the watchdog knows about a device and what it can be told to do: its state, its sensor
//! readings, and the options that decide when it is reinitialized, disabled or paused for heat.

use std::time::Duration;

/// Where a supervised device stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceState {
    /// Hashing (or waiting for a job like every other device).
    Ok,
    /// It stopped returning results; a fresh instance of it is starting.
    Reinitializing,
    /// At or above the temperature limit: it does not launch until it has cooled.
    Hot,
    /// It failed too often: out of the rotation until the miner restarts.
    Disabled,
}

/// One reading of a device's sensors; `None` where the driver exposes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Reading {
    /// Temperature of the GPU die in °C.
    pub temp_c: Option<f32>,
    /// Fan speed as a percentage of its maximum.
    pub fan_percent: Option<f32>,
}

/// A device's temperature and fan sensors (NVML, hwmon, or a fake in tests). Read from the
/// watchdog's thread every few seconds, never from a hashing thread.
pub trait Sensor: Send + Sync {
    /// The current reading; a sensor that cannot be read returns `Reading::default()`.
    fn read(&self) -> Reading;
}

/// A supervised device's health, for stats.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceHealth {
    /// Index of the device's worker in the backend's [`crate::MiningBackend::worker_labels`]
    /// (and `hash_counts`).
    pub worker: usize,
    /// The device's state now.
    pub state: DeviceState,
    /// Reinitializations since the miner started.
    pub restarts: u32,
    /// Its last sensor reading.
    pub reading: Reading,
}

/// How far a device must cool below the limit before it hashes again (°C), so that it does not
/// flap around the limit.
pub const TEMP_HYSTERESIS: f32 = 10.0;

/// Restarts older than this no longer count towards disabling a device: a card that hangs once
/// a day is reinitialized every time, one that hangs every few minutes is taken out.
pub const RESTART_WINDOW: Duration = Duration::from_secs(3600);

/// When the watchdog acts.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchdogOptions {
    /// A device with a job that returns no results for this long is reinitialized (twice as long
    /// when every device stalls at once: a box-wide stall is likelier to be the box than a card).
    pub stall_after: Duration,
    /// Restarts within [`RESTART_WINDOW`] after which the device is disabled.
    pub max_restarts: u32,
    /// Pause a device whose temperature reaches this (°C) until it is [`TEMP_HYSTERESIS`] below.
    pub temp_limit: Option<f32>,
    /// How often sensors are read.
    pub sensor_every: Duration,
}

impl WatchdogOptions {
    /// The default stall timeout: long against a launch (about 200 ms) and a reinitialization's
    /// table upload, short against a 10-minute block.
    pub const DEFAULT_STALL: Duration = Duration::from_secs(30);
    /// The default number of restarts within [`RESTART_WINDOW`] before a device is disabled.
    pub const DEFAULT_MAX_RESTARTS: u32 = 3;
}

impl Default for WatchdogOptions {
    fn default() -> Self {
        WatchdogOptions {
            stall_after: Self::DEFAULT_STALL,
            max_restarts: Self::DEFAULT_MAX_RESTARTS,
            temp_limit: None,
            sensor_every: Duration::from_secs(5),
        }
    }
}

/// The temperature rule with hysteresis: hot at or above `limit`, cool again at or below
/// `limit - TEMP_HYSTERESIS`; in between it stays as it was. No reading keeps the state.
pub fn next_hot(hot: bool, temp: Option<f32>, limit: Option<f32>) -> bool {
    match (temp, limit) {
        (Some(t), Some(l)) if t.is_finite() => {
            if t >= l {
                true
            } else if t <= l - TEMP_HYSTERESIS {
                false
            } else {
                hot
            }
        }
        (_, None) => false,
        _ => hot,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hot_at_the_limit_and_cool_only_below_the_hysteresis() {
        let l = Some(80.0);
        assert!(!next_hot(false, Some(79.9), l));
        assert!(next_hot(false, Some(80.0), l));
        assert!(next_hot(true, Some(75.0), l), "still hot inside the band");
        assert!(
            !next_hot(false, Some(75.0), l),
            "still cool inside the band"
        );
        assert!(!next_hot(true, Some(70.0), l));
        assert!(next_hot(true, None, l), "no reading keeps the state");
        assert!(next_hot(true, Some(f32::NAN), l));
        assert!(!next_hot(true, Some(95.0), None), "no limit: never hot");
    }
}
