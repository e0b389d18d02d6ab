//! What a peer of an older protocol version may be sent. A version-1 peer refuses any frame with
//! a value it does not know (its enums are closed), so every code added later is mapped, before
//! sending, to the version-1 code that means the most nearly the same; the example text keeps the
//! details. ([`ConnectionRefusal::for_version`](crate::ConnectionRefusal::for_version) does the
//! same for the handshake's refusals.)

use crate::message::{Message, RefusalCode, RefusalCount};

impl RefusalCode {
    /// The code to send a peer of protocol `version`: `over_budget` (version 2) goes to a
    /// version-1 peer as `verification_failed` ("the coordinator did not check these records"),
    /// which it only logs, like every refusal.
    pub fn for_version(self, version: u32) -> RefusalCode {
        match self {
            RefusalCode::OverBudget if version < 2 => RefusalCode::VerificationFailed,
            other => other,
        }
    }
}

/// `rejected` for a peer of `version`: each code mapped, and two entries that map to one code
/// merged (counts added, the first example kept), so there is still at most one entry per code.
pub fn refusals_for_version(rejected: Vec<RefusalCount>, version: u32) -> Vec<RefusalCount> {
    let mut out: Vec<RefusalCount> = Vec::with_capacity(rejected.len());
    for mut r in rejected {
        r.code = r.code.for_version(version);
        match out.iter_mut().find(|o| o.code == r.code) {
            Some(o) => o.count = o.count.saturating_add(r.count),
            None => out.push(r),
        }
    }
    out
}

impl Message {
    /// This message as a peer of protocol `version` may receive it: the refusal codes of
    /// `submission_result` and `relay_submission_result` mapped (see
    /// [`RefusalCode::for_version`]), `paused` left out of the stats of a peer older than
    /// version 3; every other message unchanged. (The control messages of version 3 have no
    /// older form: [`Message::needs_version`] says which version a message needs, and a sender
    /// never sends one to an older peer.)
    pub fn for_version(self, version: u32) -> Message {
        match self {
            Message::Stats(mut s) if version < crate::control::CONTROL_VERSION => {
                s.paused = None;
                Message::Stats(s)
            }
            Message::RelayStats {
                identity,
                coinbase,
                address,
                mut stats,
            } if version < crate::control::CONTROL_VERSION => {
                stats.paused = None;
                Message::RelayStats {
                    identity,
                    coinbase,
                    address,
                    stats,
                }
            }
            Message::SubmissionResult {
                job_id,
                accepted,
                rejected,
            } => Message::SubmissionResult {
                job_id,
                accepted,
                rejected: refusals_for_version(rejected, version),
            },
            Message::RelaySubmissionResult {
                identity,
                job_id,
                accepted,
                rejected,
            } => Message::RelaySubmissionResult {
                identity,
                job_id,
                accepted,
                rejected: refusals_for_version(rejected, version),
            },
            other => other,
        }
    }

    /// The oldest protocol version that knows this message (1 for most of them).
    pub fn needs_version(&self) -> u32 {
        match self {
            Message::Control { .. }
            | Message::ControlResult { .. }
            | Message::RelayControl { .. }
            | Message::RelayControlResult { .. } => crate::control::CONTROL_VERSION,
            _ => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(code: RefusalCode, n: u32, example: &str) -> RefusalCount {
        RefusalCount {
            code,
            count: n,
            example: example.into(),
        }
    }

    #[test]
    fn a_version_1_peer_never_sees_over_budget_and_codes_stay_unique() {
        let result = Message::SubmissionResult {
            job_id: 1,
            accepted: 2,
            rejected: vec![
                count(RefusalCode::VerificationFailed, 1, "failed"),
                count(RefusalCode::OverBudget, 4, "over budget"),
                count(RefusalCode::Duplicate, 1, "dup"),
            ],
        };
        let Message::SubmissionResult { rejected, .. } = result.clone().for_version(1) else {
            panic!("not a result")
        };
        assert_eq!(
            rejected,
            vec![
                count(RefusalCode::VerificationFailed, 5, "failed"),
                count(RefusalCode::Duplicate, 1, "dup"),
            ]
        );
        // The text a version-1 peer reads names no code it does not know.
        let v1 = serde_json::to_string(&result.clone().for_version(1)).unwrap();
        assert!(!v1.contains("over_budget"), "{v1}");
        // Version 2 gets it unchanged.
        assert_eq!(result.clone().for_version(2), result);
        let relayed = Message::RelaySubmissionResult {
            identity: "a".into(),
            job_id: 1,
            accepted: 0,
            rejected: vec![count(RefusalCode::OverBudget, 3, "x")],
        };
        let v1 = serde_json::to_string(&relayed.for_version(1)).unwrap();
        assert!(
            !v1.contains("over_budget") && v1.contains("verification_failed"),
            "{v1}"
        );
    }

    #[test]
    fn older_peers_never_see_what_version_3_added() {
        let s = crate::Stats {
            rate_10s: 1.0,
            paused: Some(true),
            ..crate::Stats::default()
        };
        let old = serde_json::to_string(&Message::Stats(s.clone()).for_version(2)).unwrap();
        assert!(!old.contains("paused"), "{old}");
        let relayed = Message::RelayStats {
            identity: "a".into(),
            coinbase: "b".into(),
            address: "c".into(),
            stats: s.clone(),
        };
        let old = serde_json::to_string(&relayed.for_version(1)).unwrap();
        assert!(!old.contains("paused"), "{old}");
        assert_eq!(
            Message::Stats(s.clone()).for_version(3),
            Message::Stats(s.clone())
        );
        // Stats without the flag are the bytes version 2 sent.
        let plain = crate::Stats::default();
        assert_eq!(
            serde_json::to_string(&Message::Stats(plain.clone())).unwrap(),
            serde_json::to_string(&Message::Stats(plain).for_version(2)).unwrap()
        );
        let control = Message::Control {
            id: 1,
            action: crate::ControlAction::Pause,
        };
        assert_eq!(control.needs_version(), 3);
        assert_eq!(Message::Stop { job_id: 1 }.needs_version(), 1);
    }

    #[test]
    fn every_code_a_version_1_peer_is_sent_is_one_version_1_knew() {
        // The codes of the last version-1 build, in its order.
        let v1 = [
            "stale_job",
            "nonce_too_long",
            "wrong_difficulty",
            "below_minimum",
            "duplicate",
            "over_limit",
            "bad_record",
            "verification_failed",
        ];
        for code in <RefusalCode as strum::IntoEnumIterator>::iter() {
            assert!(
                v1.contains(&code.for_version(1).name()),
                "{code:?} reaches a version-1 peer as {}",
                code.for_version(1).name()
            );
        }
    }
}
