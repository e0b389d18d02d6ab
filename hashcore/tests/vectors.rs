//! LXRHash against every reference vector: tables and hashes at 10 and 20 bits always, at 30 bits
//! (ignored unless run with `--include-ignored`: it needs the 1 GiB table); both the single-input reference and the batched hasher.

mod common;

use common::{full_table, small_table, vectors};
use hashcore::{BatchHasher, Table};
use std::sync::Arc;

fn check_size(table: &Arc<Table>) {
    let bits = table.bits();
    let v = vectors();
    let (_, digest) = v.tables.iter().find(|(b, _)| *b == bits).unwrap();
    assert_eq!(&table.sha256_hex(), digest, "table digest at {bits} bits");
    let mut n = 0;
    for (_, input, expected) in v.hashes.iter().filter(|(b, _, _)| *b == bits) {
        assert_eq!(
            &hex::encode(table.hash(input)),
            expected,
            "hash of {} at {bits} bits",
            hex::encode(input)
        );
        // Batched: every split of the input into a shared prefix and a suffix.
        for split in 0..=input.len() {
            let mut h: BatchHasher = BatchHasher::new(table.clone(), &input[..split]);
            let mut out = [[0u8; 32]; 1];
            h.hash_batch(&input[split..], input.len() - split, &mut out);
            assert_eq!(&hex::encode(out[0]), expected, "batched, split {split}");
        }
        n += 1;
    }
    assert!(n >= 10, "expected vectors at {bits} bits, found {n}");
}

#[test]
fn ten_bit_vectors() {
    check_size(&small_table(10));
}

#[test]
fn twenty_bit_vectors() {
    check_size(&small_table(20));
}

#[test]
#[ignore = "needs the 30-bit LXRHash table (1 GiB; generated into ~/.lxrhash on first use, ~10 min): cargo test -- --include-ignored"]
fn thirty_bit_vectors() {
    check_size(&full_table());
}

#[test]
fn pegnet_test_string_vectors() {
    // pegnet/LXRHash singletons_test.go: "test string" with 8-, 9- and 10-bit tables.
    for (bits, expected) in [
        (
            8,
            "abab21b95cee68a5d70d871161e092530638b3b4bd4e88cadab3a5d6bbcf5f80",
        ),
        (
            9,
            "c56d9652bc709713af194e2a64e0e2ff1bc0980b2395c772187186fbbf6cf9a9",
        ),
        (
            10,
            "3c7df3fac7481d630571926c9be01056b36822baccdf2b1872936194477df2ff",
        ),
    ] {
        assert_eq!(
            hex::encode(small_table(bits).hash(b"test string")),
            expected,
            "{bits} bits"
        );
    }
}

#[test]
#[ignore = "needs the 30-bit LXRHash table (1 GiB; generated into ~/.lxrhash on first use, ~10 min): cargo test -- --include-ignored"]
fn pegnet_known_30_bit_hashes() {
    // pegnet/LXRHash lxrhash_test.go TestKnownHashes (the ASCII ones; vectors.txt has the rest).
    let t = full_table();
    for (input, expected) in [
        (
            "abcde",
            "00e9ef8262f154b6aef3b4bb1a95644bbd651040df34c3d88dd696d519445989",
        ),
        (
            "bar",
            "66a7c02adcf00ed55a11877fa543ccc27a0a4c59268cc36cd8fe9616ce6cda63",
        ),
    ] {
        assert_eq!(hex::encode(t.hash(input.as_bytes())), expected);
    }
}
