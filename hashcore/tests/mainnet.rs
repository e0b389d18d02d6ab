//! Real MainNet records (30-bit: ignored unless run with `--include-ignored`): the self-reported difficulty
//! (ExtID 1) of every OPR entry equals the first 8 bytes of LXRHash(sha256(content) ‖ nonce),
//! except for the one entry of block 210330 that claims a difficulty it did not earn.

mod common;

use base64::Engine;
use common::{full_table, testdata};
use hashcore::{difficulty, BatchHasher};
use sha2::{Digest, Sha256};

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Block {
    height: u32,
    entries: Vec<Entry>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Entry {
    hash: String,
    #[serde(rename = "ExtIDs")]
    ext_ids: Vec<String>,
    content: String,
}

#[test]
#[ignore = "needs the 30-bit LXRHash table (1 GiB; generated into ~/.lxrhash on first use, ~10 min): cargo test -- --include-ignored"]
fn self_reported_difficulties_recompute() {
    let table = full_table();
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut checked = 0;
    let mut dishonest = Vec::new();
    for name in ["pegnet/block-206422.json", "pegnet/block-210330.json"] {
        let block: Block =
            serde_json::from_str(&std::fs::read_to_string(testdata(name)).unwrap()).unwrap();
        for e in &block.entries {
            let content = b64.decode(&e.content).unwrap();
            let ext: Vec<Vec<u8>> = e.ext_ids.iter().map(|x| b64.decode(x).unwrap()).collect();
            let opr_hash: [u8; 32] = Sha256::digest(&content).into();
            let mut input = opr_hash.to_vec();
            input.extend_from_slice(&ext[0]);
            let h = table.hash(&input);
            // The batched path must agree on real data too.
            let mut hb: BatchHasher = BatchHasher::new(table.clone(), &opr_hash);
            let mut out = [[0u8; 32]];
            hb.hash_batch(&ext[0], ext[0].len(), &mut out);
            assert_eq!(out[0], h, "batched hash of entry {}", e.hash);
            let srd = u64::from_be_bytes(ext[1].as_slice().try_into().unwrap());
            if difficulty(&h) != srd {
                dishonest.push((block.height, e.hash.clone()));
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 696);
    assert_eq!(dishonest.len(), 1, "{dishonest:?}");
    assert_eq!(dishonest[0].0, 210330);
    eprintln!("the dishonest entry: {:?}", dishonest[0]);
}
