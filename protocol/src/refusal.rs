//! Why a connection or a record is refused, and who is on the other end of a handshake: the
//! closed vocabularies the messages of [`crate::message`] carry, each with a stable snake_case
//! name (the same on the wire, in the coordinator's logs and in its block summaries).

use serde::{Deserialize, Serialize};

/// Why the coordinator refused a connection or a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionRefusal {
    /// Wrong shared secret (the miner should stop and fix its config).
    BadSecret,
    /// Identity invalid (must be letters, digits and commas).
    BadIdentity,
    /// Coinbase not a valid FA address.
    BadCoinbase,
    /// Another miner is connected with this identity.
    DuplicateIdentity,
    /// The coordinator is at its connection limit; retry later.
    Busy,
    /// This address failed authentication too often; try later.
    Banned,
    /// Protocol violation (malformed, oversized, out of order, unauthenticated in time).
    Protocol,
    /// The box's key is not the one the coordinator pinned for this identity (version 2).
    UnknownKey,
    /// The coordinator only takes identities in its roster, and this one is not (version 2).
    NotEnrolled,
    /// The two sides' protocol versions cannot serve this connection: the reason names both and
    /// which side to upgrade (version 2).
    Upgrade,
}

impl ConnectionRefusal {
    /// True when retrying cannot help until the operator changes something.
    pub fn is_fatal(self) -> bool {
        matches!(
            self,
            ConnectionRefusal::BadSecret
                | ConnectionRefusal::BadIdentity
                | ConnectionRefusal::BadCoinbase
                | ConnectionRefusal::DuplicateIdentity
                | ConnectionRefusal::UnknownKey
                | ConnectionRefusal::NotEnrolled
                | ConnectionRefusal::Upgrade
        )
    }

    /// The code to send a peer of protocol `version`: a version-1 peer knows none of the codes
    /// version 2 added (it would read one as a malformed frame), so those go to it as
    /// `bad_identity`, which it too treats as final; the reason says the rest.
    pub fn for_version(self, version: u32) -> ConnectionRefusal {
        match self {
            ConnectionRefusal::UnknownKey
            | ConnectionRefusal::NotEnrolled
            | ConnectionRefusal::Upgrade
                if version < 2 =>
            {
                ConnectionRefusal::BadIdentity
            }
            other => other,
        }
    }
}

/// Who is on the other end of a handshake (version 2; a version-1 peer is a miner, or a relay the
/// coordinator knows by name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PeerRole {
    /// A netminer: it mines with its own identity and the coinbase it is assigned.
    #[default]
    Miner,
    /// A relay: it mines nothing and speaks for its own miners (`relay_*` messages).
    Relay,
}

impl PeerRole {
    /// `miner` or `relay`.
    pub fn name(self) -> &'static str {
        match self {
            PeerRole::Miner => "miner",
            PeerRole::Relay => "relay",
        }
    }
}

/// Why the coordinator refused a submitted record: a fixed code with a stable snake_case name
/// (the same in `submission_result`, the coordinator's logs and its block summary).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumIter,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum RefusalCode {
    /// For another job than the current one, or the job is already over.
    StaleJob,
    /// The nonce is longer than the coordinator accepts.
    NonceTooLong,
    /// The claimed difficulty is not what LXRHash gives.
    WrongDifficulty,
    /// Not above the job's minimum difficulty.
    BelowMinimum,
    /// The same nonce was already submitted.
    Duplicate,
    /// More records than the miner may submit per block.
    OverLimit,
    /// The miner's identity or coinbase cannot make a valid record.
    BadRecord,
    /// The coordinator failed to check the records (its own fault).
    VerificationFailed,
    /// Not checked: the block's verification budget is spent, or the identity sent a record with
    /// a wrong difficulty earlier in the block (version 2; a version-1 peer is told
    /// `verification_failed`, see [`RefusalCode::for_version`]).
    OverBudget,
}

impl RefusalCode {
    /// The stable name (`stale_job`, `wrong_difficulty`, …).
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// How many records of a submission were refused for one reason, with one example.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusalCount {
    /// The reason.
    pub code: RefusalCode,
    /// Records refused for it.
    pub count: u32,
    /// One of them explained (at most [`RefusalCount::MAX_EXAMPLE`] bytes).
    pub example: String,
}

impl RefusalCount {
    /// Longest example the coordinator sends.
    pub const MAX_EXAMPLE: usize = 200;
}
