//! Property tests: the batched hasher equals the reference for random prefixes, suffixes, lengths
//! and batch sizes; top-N keeps exactly the N best.

mod common;

use common::small_table;
use hashcore::{BatchHasher, Found, Nonce, TopN};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn batched_equals_single(
        bits in prop::sample::select(vec![8u32, 12, 16]),
        prefix in prop::collection::vec(any::<u8>(), 0..70),
        suffix_len in 0usize..12,
        count in 1usize..40,
        seed in any::<u64>(),
    ) {
        let table = small_table(bits);
        let suffixes: Vec<u8> = (0..suffix_len * count)
            .map(|k| (seed.wrapping_mul(k as u64 + 1) >> 17) as u8)
            .collect();
        let mut out = vec![[0u8; 32]; count];
        let mut h: BatchHasher<7> = BatchHasher::new(table.clone(), &prefix);
        h.hash_batch(&suffixes, suffix_len, &mut out);
        for k in 0..count {
            let mut input = prefix.clone();
            input.extend_from_slice(&suffixes[k * suffix_len..(k + 1) * suffix_len]);
            prop_assert_eq!(out[k], table.hash(&input), "lane {}", k);
        }
    }

    #[test]
    fn top_n_keeps_exactly_the_n_best(
        keep in 0usize..8,
        counters in prop::collection::vec(1u64..60, 0..80),
    ) {
        // A nonce always has the same difficulty; few distinct difficulties make ties common.
        let diff = |c: u64| (c * 7919) % 23;
        let mut t = TopN::new(keep);
        for &c in &counters {
            t.offer(Found { nonce: Nonce::new(1, c), difficulty: diff(c) });
        }
        let mut expect: Vec<(u64, Nonce)> =
            counters.iter().map(|&c| (diff(c), Nonce::new(1, c))).collect();
        expect.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        expect.dedup();
        expect.truncate(keep);
        let got: Vec<(u64, Nonce)> = t.sorted().iter().map(|f| (f.difficulty, f.nonce)).collect();
        prop_assert_eq!(got, expect);
    }
}
