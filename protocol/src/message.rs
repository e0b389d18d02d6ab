//! The messages, as tagged JSON objects (`{"type":"job",…}`).
//!
//! Big integers (difficulties) travel as 16-digit hex strings and byte strings as hex, so no JSON
//! number ever loses precision.

use serde::{Deserialize, Serialize};

pub use crate::control::ControlAction;
pub use crate::refusal::{ConnectionRefusal, PeerRole, RefusalCode, RefusalCount};

/// The newest protocol version this build speaks (see [`crate::auth::version`] for how two peers
/// agree on one, and the oldest this build still serves).
///
/// Version 2 added to the handshake: the peer's role (miner or relay), a box's own signing key
/// and its signature over the transcript, and the coinbase the coordinator assigns (`welcome`).
/// Version 3 added remote control: `control` and `control_result` (and their relayed forms), and
/// `paused` in `stats` (see [`crate::control`]).
pub const PROTOCOL_VERSION: u32 = crate::auth::version::NEWEST;

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

/// A byte string that travels as lowercase hex in JSON (nonces, challenges, MACs); decoding
/// accepts either case.
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

/// A mined record: the nonce and the difficulty it reaches (never a whole entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmittedRecord {
    /// The nonce (ExtID 0 of the record's entry): miner id byte ‖ big-endian counter, at most
    /// 9 bytes from our miners.
    pub nonce: HexBytes,
    /// Difficulty of LXRHash(OPR hash ‖ nonce) as the miner computed it; the coordinator
    /// recomputes it and refuses the record if it differs.
    pub difficulty: Difficulty,
}

/// The OPR fields a job carries: everything but the miner's identity and coinbase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OprFields {
    /// Network name (`mainnet`, `testnet`, `devnet`); picks the asset list and OPR chain.
    pub network: String,
    /// Directory block height the records are for (the block being built).
    pub height: u32,
    /// OPR version for that height and network (1 = JSON, 2 and later = protobuf); fixes the
    /// asset list and the encoding the miner must hash.
    pub version: u8,
    /// Short hashes of the previous block's winners (16 hex digits each), as the record must
    /// carry them; empty strings where the winner is unknown.
    pub winners: Vec<String>,
    /// Prices in the version's asset order, each in units of 10⁻⁸ USD (USD × 1e8).
    pub prices: Vec<u64>,
}

/// Hash rates a miner reports in its `stats` message (every 10 s from netminer), for the
/// coordinator's logs and status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Stats {
    /// Hashes per second averaged over the last 10 s, all workers together.
    pub rate_10s: f64,
    /// Hashes per second averaged over the last 60 s, all workers together.
    pub rate_60s: f64,
    /// Hashes per second averaged over the last 15 minutes, all workers together.
    pub rate_15m: f64,
    /// Hashes per second of each worker (CPU thread or OpenCL device) over the last 10 s.
    pub per_worker: Vec<f64>,
    /// Hashes computed since the miner process started, all jobs together.
    pub total_hashes: u64,
    /// The hashing backend (`cpu`, `opencl`, `cpu+opencl`), for the coordinator's dashboard.
    /// Absent from older miners.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    /// One short description per worker (`cpu thread 3`, `NVIDIA H200 (opencl 0:0)`), in the
    /// order of `per_worker`. The coordinator keeps at most [`Stats::MAX_DEVICES`] of at most
    /// [`Stats::MAX_NAME`] bytes each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<String>,
    /// Version 3: whether the coordinator paused this miner (`control`); absent from older
    /// miners and never sent to an older peer. A paused miner reports zero current rates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<bool>,
    /// The health of the supervised devices (GPUs): rate, watchdog state, temperature, fan.
    /// Absent from older miners and from CPU-only ones; the coordinator keeps at most
    /// [`Stats::MAX_DEVICES`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub device_health: Vec<crate::device_health::DeviceHealth>,
}

/// A hash rate for people: `950 H/s`, `12.3 kH/s`, `4.56 MH/s`, `1.20 GH/s` (logs, `status`).
pub fn format_rate(hashes_per_sec: f64) -> String {
    let r = if hashes_per_sec.is_finite() {
        hashes_per_sec.max(0.0)
    } else {
        0.0
    };
    let (v, unit) = match r {
        r if r >= 1e9 => (r / 1e9, "GH/s"),
        r if r >= 1e6 => (r / 1e6, "MH/s"),
        r if r >= 1e3 => (r / 1e3, "kH/s"),
        r => return format!("{r:.0} H/s"),
    };
    let digits = if v >= 10.0 { 1 } else { 2 };
    format!("{v:.digits$} {unit}")
}

impl Stats {
    /// Most device descriptions a coordinator keeps from one report.
    pub const MAX_DEVICES: usize = 64;
    /// Longest backend name or device description a coordinator keeps, in bytes.
    pub const MAX_NAME: usize = 120;
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
        /// Protocol version the coordinator speaks ([`PROTOCOL_VERSION`]).
        version: u32,
        /// 32 fresh random bytes the miner's MAC must cover, so an old `auth` cannot be
        /// replayed.
        challenge: HexBytes,
    },
    /// Miner → coordinator: proof of the secret over both challenges and the miner's names, and
    /// the miner's own challenge.
    Auth {
        /// Protocol version the miner speaks: the `challenge`'s.
        version: u32,
        /// Version 2: what the peer is (absent: a miner).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<PeerRole>,
        /// Miner identity (letters, digits and commas); goes into its records and must be
        /// unique among the coordinator's connected miners. A relay's name.
        identity: String,
        /// Coinbase FA address the miner asks to be paid to; goes into its records unless the
        /// coordinator assigns another (version 2: empty for a relay).
        coinbase: String,
        /// 32 fresh random bytes the coordinator's `welcome` MAC must cover.
        challenge: HexBytes,
        /// Version 2: the box's ed25519 public key (32 bytes).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<HexBytes>,
        /// Version 2: the box key's signature over the transcript (64 bytes).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signature: Option<HexBytes>,
        /// HMAC-BLAKE2b under the shared secret over both challenges and the miner's names
        /// (version 2: and its role and key).
        mac: HexBytes,
    },
    /// Coordinator → miner: the coordinator's proof of the secret; the session starts.
    Welcome {
        /// The coordinator's HMAC under the shared secret over the same transcript (version 2:
        /// and the assigned coinbase), proving it knows the secret too.
        mac: HexBytes,
        /// Version 2: the coinbase the miner's records must carry (the one it asked for, or the
        /// farm's when the coordinator pays every record to one address).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        coinbase: Option<String>,
    },
    /// Coordinator → miner: connection refused; the socket closes after it.
    Rejected {
        /// Machine-readable reason; [`ConnectionRefusal::is_fatal`] says whether retrying can help.
        code: ConnectionRefusal,
        /// Human-readable explanation for the operator, saying what to fix.
        reason: String,
    },
    /// Coordinator → miner: a block's work. The miner hashes it with its own identity and
    /// coinbase until `stop` for this job (or a newer job) arrives.
    Job {
        /// Job id, counting up from 1 per coordinator run; `stop` and `submission` name it.
        job_id: u64,
        /// The record's fields, except the miner's own identity and coinbase.
        opr: OprFields,
        /// Floor estimated from the previous block: only records strictly above it are worth
        /// submitting (the coordinator refuses the others). 0 accepts everything.
        min_difficulty: Difficulty,
        /// How many records (best first) the miner should submit at most; more are refused.
        records_wanted: u32,
    },
    /// Coordinator → miner: no job for this block; the miner idles until the next job.
    Skip {
        /// Height of the block for which no job will be sent.
        height: u32,
        /// Why (node down, prices stale, EC balance low, …).
        reason: String,
    },
    /// Coordinator → miner: factomd moved to a new minute; the miner only logs it.
    Minute {
        /// Height of the block being built (factomd's `directoryblockheight` + 1).
        height: u32,
        /// Minute of that block, 0..=9.
        minute: u8,
    },
    /// Coordinator → miner: stop hashing this job and submit its best records now (sent at
    /// minute 9).
    Stop {
        /// The job to submit for.
        job_id: u64,
    },
    /// Miner → coordinator: the best records of a job.
    Submission {
        /// The job they belong to.
        job_id: u64,
        /// The miner's best records for the job, best (highest difficulty) first.
        records: Vec<SubmittedRecord>,
    },
    /// Coordinator → miner: what became of a submission.
    SubmissionResult {
        /// The job the submission was for.
        job_id: u64,
        /// How many of the submitted records passed verification and will be considered for
        /// payment.
        accepted: u32,
        /// Records refused, counted per reason (at most one entry per [`RefusalCode`]).
        rejected: Vec<RefusalCount>,
    },
    /// Miner → coordinator: hash rates.
    Stats(Stats),
    /// Either direction: a non-fatal error the peer should log; the connection stays open.
    Error {
        /// Human-readable description of the error.
        message: String,
    },
    /// Either direction: liveness probe; the peer answers with a `pong` carrying the same nonce.
    Ping {
        /// Arbitrary value the pong must echo, to match answers to probes.
        nonce: u64,
    },
    /// Answer to a ping.
    Pong {
        /// The nonce of the ping being answered.
        nonce: u64,
    },
    /// Miner → coordinator: send me your LXRHash table of `bits`, from byte `offset` (a resumed
    /// copy asks for the rest). Answered with `table_offer` and the bytes, or
    /// `table_unavailable`.
    TableRequest {
        /// Table size in bits (30 on the networks).
        bits: u32,
        /// The first byte wanted (the length of what the miner already holds).
        offset: u64,
    },
    /// Coordinator → miner: the table follows, as binary WebSocket messages of at most
    /// [`TABLE_CHUNK`] bytes, from `offset` to `size`. Binary messages carry no MAC: the miner
    /// checks the whole table against `sha256` (this message is authenticated; for 10, 20 and 30
    /// bits the miner also knows the digest itself) before using it.
    TableOffer {
        /// Table size in bits.
        bits: u32,
        /// The table's length in bytes (`2^bits`).
        size: u64,
        /// Where the bytes that follow start.
        offset: u64,
        /// SHA-256 of the whole table, 64 lowercase hex digits.
        sha256: String,
    },
    /// Coordinator → miner: no table now (another size, too many copies in progress, …).
    TableUnavailable {
        /// Why, for the miner's log.
        reason: String,
        /// When retrying may help: seconds to wait (absent: this coordinator will not serve it).
        retry_after_secs: Option<u32>,
        /// The size (bits) of the table this coordinator mines with, so a miner set up for
        /// another size learns it is misconfigured.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bits: Option<u32>,
    },
    /// Relay → its upstream coordinator: records one of the relay's miners submitted (already
    /// verified by the relay), to be verified again and paid as that miner's own.
    RelaySubmission {
        /// The job they belong to (the upstream's job id, which the relay passes on unchanged).
        job_id: u64,
        /// The miner's identity (its records carry it).
        identity: String,
        /// The miner's coinbase (its records carry it).
        coinbase: String,
        /// The records, best first.
        records: Vec<SubmittedRecord>,
    },
    /// Upstream → relay: what became of a relayed submission.
    RelaySubmissionResult {
        /// The miner the submission was for.
        identity: String,
        /// The job.
        job_id: u64,
        /// Records that verified.
        accepted: u32,
        /// Records refused, per reason.
        rejected: Vec<RefusalCount>,
    },
    /// Relay → upstream: one of its miners' hash rates (every 10 s), for the upstream's
    /// dashboard.
    RelayStats {
        /// The miner.
        identity: String,
        /// Its coinbase.
        coinbase: String,
        /// The address it reached the relay from.
        address: String,
        /// Its report.
        stats: Stats,
    },
    /// Relay → upstream: one of its miners disconnected.
    RelayMinerGone {
        /// The miner.
        identity: String,
    },
    /// Version 3, coordinator → miner: do `action` (see [`crate::control`]); answered with a
    /// `control_result` of the same id.
    Control {
        /// Names the request; the answer carries it back.
        id: u64,
        /// What to do.
        action: ControlAction,
    },
    /// Version 3, miner → coordinator: what became of `control` `id`.
    ControlResult {
        /// The request's id.
        id: u64,
        /// Whether the miner did it.
        ok: bool,
        /// One line: what it did, or why not (at most [`crate::control::MAX_DETAIL`] bytes are
        /// kept).
        detail: String,
    },
    /// Version 3, upstream → relay: pass `control` on to one of the relay's miners.
    RelayControl {
        /// The miner.
        identity: String,
        /// The upstream's request id.
        id: u64,
        /// What to do.
        action: ControlAction,
    },
    /// Version 3, relay → upstream: the answer of one of its miners (or the relay's own, when it
    /// could not pass the request on).
    RelayControlResult {
        /// The miner.
        identity: String,
        /// The upstream's request id.
        id: u64,
        /// Whether the miner did it.
        ok: bool,
        /// What it did, or why not.
        detail: String,
    },
}

/// The largest binary message of a table copy (under the WebSocket limit of [`crate::MAX_FRAME`]).
pub const TABLE_CHUNK: usize = 32 * 1024;

impl Message {
    /// An `error` message saying `what` (a peer's answer to a message it cannot act on).
    pub fn error(what: impl std::fmt::Display) -> Message {
        Message::Error {
            message: what.to_string(),
        }
    }

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
                version: 2,
                role: Some(PeerRole::Relay),
                identity: "a".into(),
                coinbase: "b".into(),
                challenge: hex(),
                key: Some(hex()),
                signature: Some(hex()),
                mac: hex(),
            },
            Message::Welcome {
                mac: hex(),
                coinbase: Some("FA…".into()),
            },
            Message::Rejected {
                code: ConnectionRefusal::Busy,
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
            Message::TableRequest {
                bits: 30,
                offset: 0,
            },
            Message::TableOffer {
                bits: 30,
                size: 1 << 30,
                offset: 0,
                sha256: "00".repeat(32),
            },
            Message::TableUnavailable {
                reason: "r".into(),
                retry_after_secs: Some(5),
                bits: Some(30),
            },
            Message::RelaySubmission {
                job_id: 1,
                identity: "a".into(),
                coinbase: "b".into(),
                records: vec![],
            },
            Message::RelaySubmissionResult {
                identity: "a".into(),
                job_id: 1,
                accepted: 0,
                rejected: vec![],
            },
            Message::RelayStats {
                identity: "a".into(),
                coinbase: "b".into(),
                address: "c".into(),
                stats: Stats::default(),
            },
            Message::RelayMinerGone {
                identity: "a".into(),
            },
            Message::Control {
                id: 1,
                action: ControlAction::Pause,
            },
            Message::ControlResult {
                id: 1,
                ok: true,
                detail: "paused".into(),
            },
            Message::RelayControl {
                identity: "a".into(),
                id: 1,
                action: ControlAction::Restart,
            },
            Message::RelayControlResult {
                identity: "a".into(),
                id: 1,
                ok: false,
                detail: "d".into(),
            },
        ]
    }

    #[test]
    fn rates_are_formatted_for_people() {
        assert_eq!(format_rate(950.0), "950 H/s");
        assert_eq!(format_rate(12_345.0), "12.3 kH/s");
        assert_eq!(format_rate(4_560_000.0), "4.56 MH/s");
        assert_eq!(format_rate(1.2e9), "1.20 GH/s");
        assert_eq!(format_rate(f64::NAN), "0 H/s");
        assert_eq!(format_rate(-5.0), "0 H/s");
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
