//! The health of a miner's devices (GPUs) in its `stats`: per-device rate, watchdog state,
//! restarts, temperature and fan. An optional part of [`crate::Stats`]: older miners send none,
//! older coordinators ignore it.

use serde::{Deserialize, Serialize};

/// Where a device stands, as the miner's watchdog sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceState {
    /// Hashing (or waiting for a job like the rest of the box).
    Ok,
    /// It stopped returning results and is being restarted.
    Reinitializing,
    /// Paused at its temperature limit until it cools.
    Hot,
    /// Failed too often: out of the rotation until the miner restarts.
    Disabled,
    /// A state this coordinator does not know (a newer miner's).
    #[serde(other)]
    Unknown,
}

impl DeviceState {
    /// Every state, in the order of the metrics' `state` label values.
    pub const ALL: [DeviceState; 5] = [
        DeviceState::Ok,
        DeviceState::Reinitializing,
        DeviceState::Hot,
        DeviceState::Disabled,
        DeviceState::Unknown,
    ];

    /// The state's name (`ok`, `reinitializing`, `hot`, `disabled`, `unknown`).
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceState::Ok => "ok",
            DeviceState::Reinitializing => "reinitializing",
            DeviceState::Hot => "hot",
            DeviceState::Disabled => "disabled",
            DeviceState::Unknown => "unknown",
        }
    }
}

/// One device's health in a miner's `stats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceHealth {
    /// The device's description, as in [`crate::Stats::devices`].
    pub name: String,
    /// Its hashes per second over the last 10 s.
    pub rate_10s: f64,
    /// Its watchdog state.
    pub state: DeviceState,
    /// How often the watchdog restarted it since the miner started.
    #[serde(default)]
    pub restarts: u32,
    /// GPU temperature in °C, where the driver exposes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temp_c: Option<f64>,
    /// Fan speed in percent of its maximum, where the driver exposes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fan_percent: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_state_reads_as_unknown_and_readings_are_optional() {
        let h: DeviceHealth = serde_json::from_str(
            r#"{"name":"gpu","rate_10s":5.0,"state":"melting","future_field":1}"#,
        )
        .unwrap();
        assert_eq!(h.state, DeviceState::Unknown);
        assert_eq!((h.restarts, h.temp_c, h.fan_percent), (0, None, None));
        let back = serde_json::to_string(&DeviceHealth {
            state: DeviceState::Hot,
            temp_c: Some(81.0),
            ..h
        })
        .unwrap();
        assert_eq!(
            back,
            r#"{"name":"gpu","rate_10s":5.0,"state":"hot","restarts":0,"temp_c":81.0}"#
        );
    }
}
