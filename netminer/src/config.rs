//! The miner's config file (every key documented in `config/netminer.toml`); command-line flags
//! override it.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// `netminer.toml`: every key optional. Serializing it (`check-config`) writes the secret as
/// `"***"`.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MinerFile {
    /// Coordinators, preferred first.
    pub caddr: Vec<String>,
    /// The farm's shared secret; no `Debug` shows it.
    #[serde(serialize_with = "redacted")]
    pub secret: Option<SecretString>,
    /// CPU hashing threads.
    pub miners: Option<usize>,
    /// Records submitted per block.
    pub top: Option<usize>,
    /// Identity written into this box's records.
    pub identity: Option<String>,
    /// FA address that receives this box's rewards.
    pub coinbase: Option<String>,
    /// Pinned certificates of `wss://` coordinators (`sha256:<hex>`, as `netcoordinator
    /// tls-fingerprint` prints them).
    pub tls_fingerprint: Vec<String>,
    /// A CA certificate (PEM) trusted for `wss://` coordinators instead of the system roots.
    pub tls_ca: Option<std::path::PathBuf>,
    /// Seconds between the stats lines in the log (default 900).
    pub stats_interval_secs: Option<f64>,
    /// Where a missing table comes from: `coordinator` (default; generated when no coordinator
    /// serves it) or `generate`.
    pub table_source: Option<TableSource>,
}

/// Where the miner gets an LXRHash table its cache does not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum TableSource {
    /// Copy it from the coordinator (seconds on a LAN); generate it if no coordinator serves it
    /// or the copy fails.
    Coordinator,
    /// Generate it here (7–10 minutes at 30 bits).
    Generate,
}

impl MinerFile {
    /// Parses the text of a config file.
    pub fn parse(text: &str) -> Result<MinerFile, toml::de::Error> {
        toml::from_str(text)
    }
}

/// Serializes a secret as `"***"` (and an absent one as nothing), so no output shows it.
fn redacted<S: serde::Serializer>(v: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(_) => s.serialize_some("***"),
        None => s.serialize_none(),
    }
}
