//! Remote control of a miner (protocol version 3): what a coordinator may ask a miner to do, and
//! how big a request may be.
//!
//! The coordinator sends `control` (an id and a [`ControlAction`]); the miner acts on it and
//! answers `control_result` with the same id, saying whether it did and, in a line, what it did or
//! why not. A miner of version 1 or 2 does not know these messages (its enums are closed: it
//! would close the link), so a coordinator never sends them to one; asked to, it answers the
//! operator that the miner needs protocol 3. Through a relay the same travels as
//! `relay_control` and `relay_control_result`, naming the miner.
//!
//! Every field is bounded: a miner checks the action before acting ([`ControlAction::check`]),
//! and refuses, with a `control_result` that says why, what it cannot do.

use serde::{Deserialize, Serialize};

/// The version that introduced the control messages.
pub const CONTROL_VERSION: u32 = 3;

/// Most CPU threads a `set_threads` may ask for (nonce ids are one byte, shared with the
/// OpenCL devices).
pub const MAX_THREADS: u32 = 255;

/// Longest device list a `set_devices` may carry, in bytes (the `opencl_devices` syntax: `0,1`,
/// `0:1,1:0`, `all`).
pub const MAX_DEVICES_SPEC: usize = 256;

/// Longest `detail` of a `control_result` a peer keeps, in bytes.
pub const MAX_DETAIL: usize = 300;

/// What a coordinator asks a miner to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[strum(serialize_all = "snake_case")]
pub enum ControlAction {
    /// Stop hashing (the current job is kept, and mined again on `resume`). The miner stays
    /// connected, answers pings and reports its (zero) rate with `paused: true`. A paused miner
    /// stays paused across reconnects, until `resume` or until its process restarts.
    Pause,
    /// Hash again: the current job, if any, from where it was.
    Resume,
    /// Run this many CPU threads from now on (the backends restart; the block's best records so
    /// far are kept).
    SetThreads {
        /// 1 to [`MAX_THREADS`].
        threads: u32,
    },
    /// Mine on these OpenCL devices from now on (the `opencl_devices` syntax; the backends
    /// restart).
    SetDevices {
        /// At most [`MAX_DEVICES_SPEC`] bytes.
        devices: String,
    },
    /// Stop the hashing backends and start them again with the same settings (a hung GPU).
    Restart,
}

/// Why a miner will not act on a control action (before trying).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadControl {
    /// `set_threads` with 0 or more than [`MAX_THREADS`].
    #[error("threads must be 1 to {MAX_THREADS}, not {0}")]
    Threads(u32),
    /// `set_devices` with an empty, overlong or unprintable list.
    #[error(
        "devices must be a list such as 0,1 or 0:1 (at most {MAX_DEVICES_SPEC} printable bytes)"
    )]
    Devices,
}

impl ControlAction {
    /// The action's name as written in its `"kind"` tag (`pause`, `set_threads`, …).
    pub fn name(&self) -> &'static str {
        self.into()
    }

    /// Whether the action's values are in range (the miner still decides whether it can do it).
    pub fn check(&self) -> Result<(), BadControl> {
        match self {
            ControlAction::SetThreads { threads } if *threads == 0 || *threads > MAX_THREADS => {
                Err(BadControl::Threads(*threads))
            }
            ControlAction::SetDevices { devices }
                if devices.trim().is_empty()
                    || devices.len() > MAX_DEVICES_SPEC
                    || devices.chars().any(|c| c.is_control()) =>
            {
                Err(BadControl::Devices)
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_travel_as_tagged_objects_and_are_checked() {
        let a = ControlAction::SetThreads { threads: 4 };
        let text = serde_json::to_string(&a).unwrap();
        assert_eq!(text, r#"{"kind":"set_threads","threads":4}"#);
        assert_eq!(serde_json::from_str::<ControlAction>(&text).unwrap(), a);
        assert_eq!(
            serde_json::to_string(&ControlAction::Pause).unwrap(),
            r#"{"kind":"pause"}"#
        );
        assert_eq!(a.name(), "set_threads");
        assert!(a.check().is_ok());
        for bad in [
            r#"{"kind":"explode"}"#,
            r#"{"kind":"set_threads","threads":-1}"#,
            r#"{"kind":"set_threads"}"#,
            r#"{"kind":"set_devices","devices":7}"#,
            r#"{}"#,
            r#"[]"#,
        ] {
            assert!(serde_json::from_str::<ControlAction>(bad).is_err(), "{bad}");
        }
        assert!(ControlAction::SetThreads { threads: 0 }.check().is_err());
        assert!(ControlAction::SetThreads { threads: 256 }.check().is_err());
        for bad in ["", "  ", "0\u{1b}", &"1,".repeat(200)] {
            let d = ControlAction::SetDevices {
                devices: bad.to_string(),
            };
            assert!(d.check().is_err(), "{bad:?}");
        }
        assert!(ControlAction::SetDevices {
            devices: "0:1,1:0".into()
        }
        .check()
        .is_ok());
    }
}
