//! Shared test helpers.
#![allow(dead_code)]

use std::sync::{Arc, OnceLock};

pub use pegnet::block_file::BlockFile as TestBlock;

/// A MainNet block of `testdata/pegnet/`.
pub fn block(height: u32) -> TestBlock {
    let path = format!(
        "{}/../testdata/pegnet/block-{height}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    pegnet::block_file::read(std::path::Path::new(&path)).unwrap()
}

/// The real 30-bit table from `~/.lxrhash`, generated there first if missing (1 GiB, minutes).
/// Tests that call it are `#[ignore]`d with that reason, and run with `--include-ignored`.
pub fn full_table() -> Arc<hashcore::Table> {
    static T: OnceLock<Arc<hashcore::Table>> = OnceLock::new();
    T.get_or_init(|| {
        hashcore::load_or_build(&hashcore::TableOptions {
            bits: 30,
            dir: None,
            progress: None,
        })
        .expect("30-bit table")
        .0
    })
    .clone()
}

/// A proof of work that believes every self-reported difficulty: exercises grading without a table.
pub struct Honest;
impl pegnet::Pow for Honest {
    fn difficulty(&self, _: &[u8; 32], nonce: &[u8]) -> u64 {
        // Tests encode the SRD into the nonce's first 8 bytes.
        let mut b = [0u8; 8];
        let n = nonce.len().min(8);
        b[..n].copy_from_slice(&nonce[..n]);
        u64::from_be_bytes(b)
    }
}
