//! The miner's config file (every key documented in `config/netminer.toml`); command-line flags
//! override it.

use secrecy::SecretString;
use serde::Deserialize;

/// `netminer.toml`: every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MinerFile {
    /// Coordinators, preferred first.
    pub caddr: Vec<String>,
    /// The farm's shared secret; no `Debug` shows it.
    pub secret: Option<SecretString>,
    /// CPU hashing threads.
    pub miners: Option<usize>,
    /// Records submitted per block.
    pub top: Option<usize>,
    /// Identity written into this box's records.
    pub identity: Option<String>,
    /// FA address that receives this box's rewards.
    pub coinbase: Option<String>,
}

impl MinerFile {
    /// Parses the text of a config file.
    pub fn parse(text: &str) -> Result<MinerFile, toml::de::Error> {
        toml::from_str(text)
    }
}
