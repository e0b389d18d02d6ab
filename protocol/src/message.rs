//! The messages, as tagged JSON objects (`{"type":"job",…}`).
//!
//! Big integers (difficulties) travel as 16-digit hex strings and byte strings as hex, so no JSON
//! number ever loses precision.

use serde::{Deserialize, Serialize};

/// Protocol version spoken by this build.
pub const PROTOCOL_VERSION: u32 = 1;

/// A 64-bit difficulty as 16 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Difficulty(pub u64);

impl Serialize for Difficulty {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{:016x}", self.0))
    }
}

impl<'de> Deserialize<'de> for Difficulty {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.len() != 16 {
            return Err(serde::de::Error::custom("difficulty must be 16 hex digits"));
        }
        u64::from_str_radix(&s, 16)
            .map(Difficulty)
            .map_err(|_| serde::de::Error::custom("difficulty must be 16 hex digits"))
    }
}

/// Bytes as lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct HexBytes(pub Vec<u8>);

impl Serialize for HexBytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for HexBytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        hex::decode(&s)
            .map(HexBytes)
            .map_err(|_| serde::de::Error::custom("expected hex"))
    }
}

/// Why the coordinator refused a connection or a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectCode {
    /// Wrong shared secret (the miner should stop and fix its config).
    BadSecret,
    /// Identity invalid (must be letters, digits and commas).
    BadIdentity,
    /// Coinbase not a valid FA address.
    BadCoinbase,
    /// Another miner is connected with this identity.
    DuplicateIdentity,
    /// Too many connections.
    Busy,
    /// This address failed authentication too often; try later.
    Banned,
    /// Protocol violation (malformed, oversized, out of order, unauthenticated in time).
    Protocol,
}

impl RejectCode {
    /// True when retrying cannot help until the operator changes something.
    pub fn is_fatal(self) -> bool {
        matches!(
            self,
            RejectCode::BadSecret
                | RejectCode::BadIdentity
                | RejectCode::BadCoinbase
                | RejectCode::DuplicateIdentity
        )
    }
}

/// A mined record: the nonce and the difficulty it reaches (never a whole entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Nonce bytes.
    pub nonce: HexBytes,
    /// Difficulty of LXRHash(OPR hash ‖ nonce).
    pub difficulty: Difficulty,
}

/// The OPR fields a job carries: everything but the miner's identity and coinbase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OprFields {
    /// Network name (`mainnet`, `testnet`, `devnet`).
    pub network: String,
    /// Height of the block the records are for.
    pub height: u32,
    /// OPR version.
    pub version: u8,
    /// Previous winners (16 hex digits each, or empty strings).
    pub winners: Vec<String>,
    /// Prices in asset order, round(USD × 1e8).
    pub prices: Vec<u64>,
}

/// Hash rates a miner reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Stats {
    /// Hashes/s over the last 10 s.
    pub rate_10s: f64,
    /// Over the last 60 s.
    pub rate_60s: f64,
    /// Over the last 15 min.
    pub rate_15m: f64,
    /// Per worker (thread or device), over the last 10 s.
    pub per_worker: Vec<f64>,
    /// Hashes since the miner started.
    pub total_hashes: u64,
}

/// Every message of protocol version 1.
///
/// The variant names are the one source of the type names on the wire: serde writes them in
/// `snake_case` as the `"type"` tag, and strum derives [`Message::kind`] and [`Message::KINDS`]
/// from the same names with the same rule (a unit test checks they agree).
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, strum::IntoStaticStr, strum::VariantNames,
)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[strum(serialize_all = "snake_case")]
pub enum Message {
    /// Coordinator → miner, first frame: a fresh random challenge.
    Challenge {
        /// Protocol version of the coordinator.
        version: u32,
        /// 32 random bytes.
        challenge: HexBytes,
    },
    /// Miner → coordinator: proof of the secret over both challenges and the miner's names, and
    /// the miner's own challenge.
    Auth {
        /// Protocol version of the miner.
        version: u32,
        /// Miner identity (goes into its records).
        identity: String,
        /// Coinbase FA address (goes into its records).
        coinbase: String,
        /// 32 random bytes.
        challenge: HexBytes,
        /// HMAC proving the secret.
        mac: HexBytes,
    },
    /// Coordinator → miner: the coordinator's proof of the secret; the session starts.
    Welcome {
        /// HMAC proving the secret.
        mac: HexBytes,
    },
    /// Coordinator → miner: connection refused; the socket closes after it.
    Rejected {
        /// Machine-readable reason.
        code: RejectCode,
        /// What to fix.
        reason: String,
    },
    /// A block's work.
    Job {
        /// Job id (unique per coordinator run).
        job_id: u64,
        /// The record fields.
        opr: OprFields,
        /// Only records strictly above this are worth submitting.
        min_difficulty: Difficulty,
        /// How many records to submit at most.
        records_wanted: u32,
    },
    /// The coordinator will not build a job for this block.
    Skip {
        /// Height skipped.
        height: u32,
        /// Why (node down, prices stale, EC balance low, …).
        reason: String,
    },
    /// A new Factom minute.
    Minute {
        /// Height of the block being built.
        height: u32,
        /// Minute 0..=9.
        minute: u8,
    },
    /// Stop hashing and submit now.
    Stop {
        /// The job to submit for.
        job_id: u64,
    },
    /// Miner → coordinator: the best records of a job.
    Submission {
        /// The job they belong to.
        job_id: u64,
        /// Best first.
        records: Vec<Record>,
    },
    /// Coordinator → miner: what became of a submission.
    SubmissionResult {
        /// The job.
        job_id: u64,
        /// Records accepted.
        accepted: u32,
        /// Records refused, with reasons.
        rejected: Vec<String>,
    },
    /// Miner → coordinator: hash rates.
    Stats(Stats),
    /// An error the peer should log.
    Error {
        /// The error.
        message: String,
    },
    /// Liveness probe.
    Ping {
        /// Echoed in the pong.
        nonce: u64,
    },
    /// Answer to a ping.
    Pong {
        /// The ping's nonce.
        nonce: u64,
    },
}

impl Message {
    /// Every type name of this protocol version, as written in the `"type"` tag.
    pub const KINDS: &'static [&'static str] = <Message as strum::VariantNames>::VARIANTS;

    /// The message's type name as written in its `"type"` tag (for logs and errors).
    pub fn kind(&self) -> &'static str {
        self.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One message of every type.
    fn one_of_each() -> Vec<Message> {
        let hex = || HexBytes(vec![1, 2]);
        vec![
            Message::Challenge {
                version: 1,
                challenge: hex(),
            },
            Message::Auth {
                version: 1,
                identity: "a".into(),
                coinbase: "b".into(),
                challenge: hex(),
                mac: hex(),
            },
            Message::Welcome { mac: hex() },
            Message::Rejected {
                code: RejectCode::Busy,
                reason: "r".into(),
            },
            Message::Job {
                job_id: 1,
                opr: OprFields {
                    network: "devnet".into(),
                    height: 1,
                    version: 5,
                    winners: vec![],
                    prices: vec![],
                },
                min_difficulty: Difficulty(0),
                records_wanted: 1,
            },
            Message::Skip {
                height: 1,
                reason: "r".into(),
            },
            Message::Minute {
                height: 1,
                minute: 1,
            },
            Message::Stop { job_id: 1 },
            Message::Submission {
                job_id: 1,
                records: vec![],
            },
            Message::SubmissionResult {
                job_id: 1,
                accepted: 0,
                rejected: vec![],
            },
            Message::Stats(Stats::default()),
            Message::Error {
                message: "e".into(),
            },
            Message::Ping { nonce: 1 },
            Message::Pong { nonce: 1 },
        ]
    }

    #[test]
    fn kind_and_kinds_are_the_serde_tags() {
        let all = one_of_each();
        assert_eq!(all.len(), Message::KINDS.len());
        for (m, kind) in all.iter().zip(Message::KINDS) {
            let v = serde_json::to_value(m).unwrap();
            assert_eq!(v["type"], *kind);
            assert_eq!(m.kind(), *kind);
        }
    }
}
