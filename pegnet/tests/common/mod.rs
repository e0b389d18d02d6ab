//! Shared test helpers.
#![allow(dead_code)]

use base64::Engine;
use std::sync::{Arc, OnceLock};

pub struct TestEntry {
    pub hash: Vec<u8>,
    pub ext_ids: Vec<Vec<u8>>,
    pub content: Vec<u8>,
}

pub struct TestBlock {
    pub height: u32,
    pub previous_winners: Vec<String>,
    pub winners: Vec<String>,
    pub entries: Vec<TestEntry>,
}

pub fn block(height: u32) -> TestBlock {
    let path = format!(
        "{}/../testdata/pegnet/block-{height}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    let strings = |x: &serde_json::Value| -> Vec<String> {
        x.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    TestBlock {
        height: v["Height"].as_u64().unwrap() as u32,
        previous_winners: strings(&v["PreviousWinners"]),
        winners: strings(&v["Winners"]),
        entries: v["Entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| TestEntry {
                hash: hex::decode(e["Hash"].as_str().unwrap()).unwrap(),
                ext_ids: e["ExtIDs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| b64.decode(x.as_str().unwrap()).unwrap())
                    .collect(),
                content: b64.decode(e["Content"].as_str().unwrap()).unwrap(),
            })
            .collect(),
    }
}

/// The real 30-bit table from `~/.lxrhash`, generated there first if missing (1 GiB, minutes).
/// Tests that call it are `#[ignore]`d with that reason, and run with `--include-ignored`.
pub fn full_table() -> Arc<hashcore::Table> {
    static T: OnceLock<Arc<hashcore::Table>> = OnceLock::new();
    T.get_or_init(|| {
        hashcore::load_or_build(&hashcore::TableOptions {
            bits: 30,
            dir: None,
            progress: false,
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
