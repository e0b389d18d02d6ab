//! The devices' health in the miner's `stats`: the watchdog's view of each GPU
//! ([`hashcore::MiningBackend::device_health`]) with its 10 s rate and its label.

use hashcore::devices::{self, DeviceHealth as Watched};
use protocol::{DeviceHealth, DeviceState};

fn state(s: devices::DeviceState) -> DeviceState {
    match s {
        devices::DeviceState::Ok => DeviceState::Ok,
        devices::DeviceState::Reinitializing => DeviceState::Reinitializing,
        devices::DeviceState::Hot => DeviceState::Hot,
        devices::DeviceState::Disabled => DeviceState::Disabled,
    }
}

/// One entry per supervised device; `labels` and `per_worker` are the backend's, by worker.
pub(crate) fn report(
    watched: &[Watched],
    labels: &[String],
    per_worker: &[f64],
) -> Vec<DeviceHealth> {
    watched
        .iter()
        .map(|h| DeviceHealth {
            name: labels.get(h.worker).cloned().unwrap_or_default(),
            rate_10s: per_worker.get(h.worker).copied().unwrap_or(0.0),
            state: state(h.state),
            restarts: h.restarts,
            temp_c: h.reading.temp_c.map(f64::from),
            fan_percent: h.reading.fan_percent.map(f64::from),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hashcore::devices::Reading;

    #[test]
    fn each_device_gets_its_workers_label_and_rate() {
        let watched = [Watched {
            worker: 2,
            state: devices::DeviceState::Hot,
            restarts: 1,
            reading: Reading {
                temp_c: Some(84.0),
                fan_percent: None,
            },
        }];
        let labels = ["cpu0".to_string(), "cpu1".into(), "opencl0:0 GPU".into()];
        let r = report(&watched, &labels, &[1.0, 2.0, 300.0]);
        assert_eq!(
            r,
            vec![DeviceHealth {
                name: "opencl0:0 GPU".into(),
                rate_10s: 300.0,
                state: DeviceState::Hot,
                restarts: 1,
                temp_c: Some(84.0),
                fan_percent: None,
            }]
        );
        // A worker index the lists lack gives an empty name and a zero rate, not a panic.
        let far = [Watched {
            worker: 9,
            ..watched[0].clone()
        }];
        assert_eq!(
            report(&far, &labels, &[]).first().map(|h| h.rate_10s),
            Some(0.0)
        );
    }
}
