//! Why a record is not valid (spec §4.2), and the field rules the graders apply.

use factom::FactoidAddress;

/// A reason the grader drops an entry.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InvalidRecord {
    /// Entry hash not 32 bytes.
    #[error("entry hash is {0} bytes, not 32")]
    EntryHashLen(usize),
    /// Not exactly three ExtIDs.
    #[error("{0} ExtIDs, expected 3 (nonce, difficulty, version)")]
    ExtIdCount(usize),
    /// Version ExtID not the one byte expected at this height.
    #[error("version ExtID {got:02x?} is not [{want:02x}]")]
    Version {
        /// The version ExtID as the entry carries it (any length).
        got: Vec<u8>,
        /// The OPR version in force at the block's height.
        want: u8,
    },
    /// Difficulty ExtID not 8 bytes.
    #[error("difficulty ExtID is {0} bytes, expected 8")]
    DifficultyLen(usize),
    /// Content does not decode.
    #[error("content does not decode: {0}")]
    Decode(String),
    /// Height in the content is not the block's.
    #[error("content is for height {got}, not {want}")]
    Height {
        /// Height written in the record's content.
        got: i64,
        /// Height of the block the entry was found in.
        want: u32,
    },
    /// Wrong number of prices.
    #[error("{got} prices, version {version} needs {want}")]
    AssetCount {
        /// Number of prices the record carries.
        got: usize,
        /// Number of assets the version lists.
        want: usize,
        /// The OPR version the record was checked against.
        version: u8,
    },
    /// A V1 asset key is missing.
    #[error("asset {0} is missing")]
    MissingAsset(&'static str),
    /// A price that must not be zero is zero.
    #[error("price of {0} is zero")]
    ZeroPrice(&'static str),
    /// Winner list of the wrong length.
    #[error("{got} previous winners, version {version} needs {want}")]
    WinnerCount {
        /// Number of previous winners the record carries.
        got: usize,
        /// Number the version requires (V1: 10, V2+: 25; V2 also accepts 10).
        want: usize,
        /// The OPR version the record was checked against.
        version: u8,
    },
    /// Winners neither all 16-hex-digit short hashes nor all empty.
    #[error("previous winners are not all 16-hex-digit short hashes (or all empty)")]
    WinnerFormat,
    /// Winners differ from the previous block's.
    #[error("previous winners differ from the previous graded block's winners")]
    WinnersMismatch,
    /// Coinbase is not a valid FA address.
    #[error("coinbase {0:?} is not a valid FA address")]
    Coinbase(String),
    /// Identity has characters other than letters, digits and commas (or is empty).
    #[error("identity {0:?} must be non-empty ASCII letters, digits and commas")]
    Identity(String),
    /// Identity so long that a record carrying it would cost more than 1 EC.
    #[error("identity of {len} bytes is too long: its records would not fit a 1-EC entry (at most {max} bytes)")]
    IdentityTooLong {
        /// Its length in bytes.
        len: usize,
        /// The longest identity whose records fit a 1-EC entry.
        max: usize,
    },
}

/// The V2+ price rules: exactly the version's assets, none zero (except PEG, index 0, in V2).
pub fn check_v2_prices(version: u8, prices: &[u64]) -> Result<(), InvalidRecord> {
    let names = crate::assets::for_version(version);
    if prices.len() != names.len() {
        return Err(InvalidRecord::AssetCount {
            got: prices.len(),
            want: names.len(),
            version,
        });
    }
    let first_checked = if version == 2 { 1 } else { 0 };
    match (first_checked..names.len()).find(|&k| prices[k] == 0) {
        Some(k) => Err(InvalidRecord::ZeroPrice(names[k])),
        None => Ok(()),
    }
}

/// V2+ identity rule: `^[a-zA-Z0-9,]+$`.
pub fn valid_identity(id: &[u8]) -> bool {
    !id.is_empty() && id.iter().all(|&c| c.is_ascii_alphanumeric() || c == b',')
}

/// V2+ coinbase rule: a valid `FA` address.
pub fn valid_coinbase(addr: &[u8]) -> bool {
    std::str::from_utf8(addr).ok().is_some_and(|s| {
        s.parse::<FactoidAddress>().is_ok()
            && !s.starts_with(char::is_whitespace)
            && !s.ends_with(char::is_whitespace)
    })
}

/// `verifyWinnerFormat`: exactly `n` entries; all empty if the first is, else all 16 hex digits.
pub fn winners_format_ok(winners: &[String], n: usize) -> bool {
    if winners.len() != n {
        return false;
    }
    match winners.first() {
        None => true,
        Some(first) if first.is_empty() => winners.iter().all(|w| w.is_empty()),
        Some(_) => winners
            .iter()
            .all(|w| w.len() == 16 && w.bytes().all(|c| c.is_ascii_hexdigit())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_and_coinbase_rules() {
        assert!(valid_identity(b"miner,01"));
        assert!(!valid_identity(b""));
        assert!(!valid_identity(b"my-miner"));
        assert!(!valid_identity(b"my_miner"));
        assert!(!valid_identity("m\u{e9}".as_bytes()));
        assert!(valid_coinbase(
            b"FA2jK2HcLnRdS94dEcU27rF3meoJfpUcZPSinpb7AwQvPRY6RL1Q"
        ));
        assert!(!valid_coinbase(
            b"FA2jK2HcLnRdS94dEcU27rF3meoJfpUcZPSinpb7AwQvPRY6RL1R"
        ));
        assert!(!valid_coinbase(
            b"EC2DKSYyRcNWf7RS963VFYgMExoHRYLHVeCfQ9PGPmNzwrcmgm2r"
        ));
        assert!(!valid_coinbase(
            b" FA2jK2HcLnRdS94dEcU27rF3meoJfpUcZPSinpb7AwQvPRY6RL1Q"
        ));
        assert!(!valid_coinbase(&[0xff, 0xfe]));
    }

    #[test]
    fn winner_format_rule() {
        let hexes = vec!["0123456789abcdef".to_string(); 10];
        assert!(winners_format_ok(&hexes, 10));
        assert!(!winners_format_ok(&hexes, 25));
        assert!(winners_format_ok(&vec![String::new(); 25], 25));
        let mut mixed = hexes.clone();
        mixed[3] = String::new();
        assert!(!winners_format_ok(&mixed, 10));
        let mut bad = hexes;
        bad[0] = "0123456789abcdeg".into();
        assert!(!winners_format_ok(&bad, 10));
    }
}
