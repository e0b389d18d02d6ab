//! LXRHash parameters as PegNet uses them, and the choice of table size.

use crate::error::{Error, Result};

/// The seed every PegNet component passes to LXRHash.
pub const SEED: u64 = 0xFAFA_ECEC_FAFA_ECEC;
/// Shuffle passes over the table.
pub const PASSES: u32 = 5;
/// Hash output length in bytes (LXRHash is configured for 256 bits).
pub const HASH_SIZE: usize = 32;
/// Smallest table PegNet's LXRHash accepts.
pub const MIN_BITS: u32 = 8;
/// Largest table we support; PegNet mines and grades with exactly this size.
pub const MAX_BITS: u32 = 30;
/// The table size of the real network.
pub const DEFAULT_BITS: u32 = 30;
/// The environment variable PegNet reads to shrink the table (tests only).
pub const BITS_ENV: &str = "LXRBITSIZE";

/// Table generator constants (spec §1.3).
pub(crate) const FIRSTRAND: u64 = 2_458_719_153_079_158_768;
pub(crate) const FIRSTB: u64 = 4_631_534_797_403_582_785;
pub(crate) const FIRSTV: u64 = 3_523_455_478_921_636_871;

/// SHA-256 of whole tables whose digest is known from independent implementations
/// (`testdata/lxrhash/vectors.txt`).
const KNOWN_DIGESTS: &[(u32, &str)] = &[
    (
        10,
        "c1e50b47f68732bce96e3a01bf53d889071ef31b5732c3f07f460c6aa4adf204",
    ),
    (
        20,
        "e1369a997f98c3d4dbcf85e0c52b759f7daa57654190665ca62baf05037ea957",
    ),
    (
        30,
        "55a02ed711747012e92fe70424ed1904de6af0b8def259cc068616b86684e93f",
    ),
];

/// The known SHA-256 (lowercase hex) of the table of `bits` bits, if there is one.
pub fn known_digest(bits: u32) -> Option<&'static str> {
    KNOWN_DIGESTS
        .iter()
        .find(|(b, _)| *b == bits)
        .map(|(_, d)| *d)
}

/// Checks that `bits` is a size we can build.
pub fn check_bits(bits: u32) -> Result<u32> {
    if (MIN_BITS..=MAX_BITS).contains(&bits) {
        Ok(bits)
    } else {
        Err(Error::BitsOutOfRange(bits))
    }
}

/// Parses a `LXRBITSIZE` value. PegNet silently falls back to 30 on garbage; we refuse it,
/// because a miner that quietly uses another size than intended wastes a whole block.
pub fn parse_bits_env(value: &str) -> Result<u32> {
    let bad = || Error::BadBitsEnv {
        value: value.to_string(),
    };
    let bits: u32 = value.trim().parse().map_err(|_| bad())?;
    check_bits(bits).map_err(|_| bad())
}

/// The table size to use: an explicit choice (a `--bits` flag) wins, then `LXRBITSIZE`, then 30.
pub fn resolve_bits(explicit: Option<u32>) -> Result<u32> {
    if let Some(bits) = explicit {
        return check_bits(bits);
    }
    match std::env::var(BITS_ENV) {
        Ok(v) => parse_bits_env(&v),
        Err(std::env::VarError::NotPresent) => Ok(DEFAULT_BITS),
        Err(std::env::VarError::NotUnicode(v)) => Err(Error::BadBitsEnv {
            value: v.to_string_lossy().into_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values_are_parsed_strictly() {
        assert_eq!(parse_bits_env("30").unwrap(), 30);
        assert_eq!(parse_bits_env(" 8 ").unwrap(), 8);
        for bad in ["", "7", "31", "abc", "-1", "10.5", "0x10"] {
            let err = parse_bits_env(bad).unwrap_err();
            assert!(
                matches!(err, Error::BadBitsEnv { .. }),
                "{bad:?} gave {err:?}"
            );
            assert!(err.to_string().contains("LXRBITSIZE"));
        }
    }

    #[test]
    fn explicit_bits_are_range_checked() {
        assert_eq!(resolve_bits(Some(12)).unwrap(), 12);
        assert!(matches!(
            resolve_bits(Some(31)),
            Err(Error::BitsOutOfRange(31))
        ));
        assert!(matches!(
            resolve_bits(Some(7)),
            Err(Error::BitsOutOfRange(7))
        ));
    }

    #[test]
    fn known_digests_cover_the_vector_sizes() {
        assert!(known_digest(30).unwrap().starts_with("55a02ed7"));
        assert!(known_digest(10).is_some());
        assert!(known_digest(11).is_none());
    }
}
