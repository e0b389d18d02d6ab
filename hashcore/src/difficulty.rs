//! Difficulty (spec §2.2) and the minimum-difficulty estimate (spec §2.5).

use crate::params::HASH_SIZE;

/// Seconds of hashing PegNet assumes per block (minute 1 to minute 9).
pub const MINING_PERIOD_SECS: f64 = 480.0;
/// Size of PegNet's graded set: the 50 best valid records of a block, from which the winners
/// are chosen. The minimum-difficulty estimate reads the 50th best difficulty.
pub const GRADED_SET: usize = 50;
/// PegNet's default `SubmissionCutOff`: how many records a block is expected to pay for
/// network-wide. The floor of [`minimum_difficulty`] is the estimated 200th best difficulty.
pub const DEFAULT_CUTOFF: usize = 200;
/// `float64(math.MaxUint64)`, which rounds to exactly 2^64.
const SPACE: f64 = 18_446_744_073_709_551_616.0;

/// The difficulty of a hash: its first 8 bytes as a big-endian integer. Higher is better.
#[inline]
pub fn difficulty(hash: &[u8; HASH_SIZE]) -> u64 {
    u64::from_be_bytes([
        hash[0], hash[1], hash[2], hash[3], hash[4], hash[5], hash[6], hash[7],
    ])
}

/// The network hash rate (hashes/s) implied by `min` being the `spot`-th best difficulty of
/// [`MINING_PERIOD_SECS`] of hashing.
pub fn effective_hash_rate(min: u64, spot: usize) -> f64 {
    spot as f64 * SPACE / (SPACE - min as f64) / MINING_PERIOD_SECS
}

/// The difficulty expected of the `spot`-th best record at hash rate `rate`. Clamped to 0 when the
/// rate is too low for `spot` records (where Go's float-to-uint conversion wraps around).
pub fn expected_minimum_difficulty(rate: f64, spot: usize) -> u64 {
    let hashes = rate * MINING_PERIOD_SECS;
    let v = SPACE * (hashes - spot as f64) / hashes;
    if v.is_nan() || v <= 0.0 {
        0
    } else {
        // `as` saturates at u64::MAX, and truncates toward zero like Go's conversion.
        v as u64
    }
}

/// The lowest difficulty worth paying for: the estimated `cutoff`-th best difficulty of the next
/// block, from the difficulties of the previous block's graded records (best first). 0 (no floor)
/// when there is no graded record or `cutoff` is 0.
pub fn minimum_difficulty(graded_desc: &[u64], cutoff: usize) -> u64 {
    if graded_desc.is_empty() || cutoff == 0 {
        return 0;
    }
    let spot = graded_desc.len().min(GRADED_SET);
    let min = graded_desc[spot - 1];
    expected_minimum_difficulty(effective_hash_rate(min, spot), cutoff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn difficulty_is_the_big_endian_prefix() {
        let mut h = [0u8; 32];
        h[..8].copy_from_slice(&[0xff, 0xfd, 0xc4, 0x20, 0x20, 0x6a, 0xc0, 0x01]);
        h[8] = 0xff;
        assert_eq!(difficulty(&h), 0xfffd_c420_206a_c001);
    }

    #[test]
    fn spec_example_is_reproduced() {
        // Spec §2.5: min = 18446586878042484810 at spot 50.
        let rate = effective_hash_rate(18_446_586_878_042_484_810, 50);
        assert!((rate - 12223.85).abs() < 0.01, "{rate}");
        assert_eq!(
            expected_minimum_difficulty(rate, 50),
            18_446_586_878_042_484_736
        );
        assert_eq!(
            expected_minimum_difficulty(rate, 200),
            0xfffd_c420_206a_c000
        );
    }

    #[test]
    fn floor_uses_the_50th_record_or_the_last() {
        let mut diffs: Vec<u64> = (0..60).map(|k| u64::MAX - 1_000_000 * k).collect();
        let with_50 = minimum_difficulty(&diffs, 200);
        let expect = expected_minimum_difficulty(effective_hash_rate(diffs[49], 50), 200);
        assert_eq!(with_50, expect);
        diffs.truncate(10);
        let expect = expected_minimum_difficulty(effective_hash_rate(diffs[9], 10), 200);
        assert_eq!(minimum_difficulty(&diffs, 200), expect);
        assert_eq!(minimum_difficulty(&[], 200), 0);
        assert_eq!(minimum_difficulty(&diffs, 0), 0);
    }

    #[test]
    fn idle_network_clamps_to_zero() {
        // A 50th record this weak implies fewer than 200 hashes per block.
        assert_eq!(minimum_difficulty(&[1u64 << 60; 50], 200), 0);
    }
}
