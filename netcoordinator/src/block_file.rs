//! Blocks of OPR entries in the test-data JSON shape (Go's `TestBlock`):
//! `{"Height":H,"PreviousWinners":[…],"Winners":[…],"Entries":[{"Hash":hex,"ExtIDs":[b64…],"Content":b64}]}`.

use anyhow::{bail, Context, Result};
use base64::Engine;
use serde::Deserialize;
use std::path::Path;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawBlock {
    height: i64,
    #[serde(default)]
    previous_winners: Vec<String>,
    entries: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawEntry {
    hash: String,
    #[serde(rename = "ExtIDs", default)]
    ext_ids: Vec<String>,
    #[serde(default)]
    content: String,
}

/// One entry of a block file, decoded.
pub struct BlockEntry {
    /// The entry hash (`Hash`, decoded from hex; 32 bytes in a well-formed file, which the grader
    /// checks).
    pub hash: Vec<u8>,
    /// The entry's external IDs (`ExtIDs`, decoded from base64): nonce, difficulty, version.
    pub ext_ids: Vec<Vec<u8>>,
    /// The entry's content (`Content`, decoded from base64): the OPR in JSON (V1) or protobuf.
    pub content: Vec<u8>,
}

/// A block file, decoded.
pub struct BlockFile {
    /// Directory block height the entries were recorded in (`Height`).
    pub height: u32,
    /// The previous graded block's winners.
    pub previous_winners: Vec<String>,
    /// Entries in entry-block order.
    pub entries: Vec<BlockEntry>,
}

/// Reads and decodes a block file; every malformed part is an error saying where.
pub fn read(path: &Path) -> Result<BlockFile> {
    let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let raw: RawBlock = serde_json::from_slice(&text).with_context(|| {
        format!(
            "{} is not a block file (expected {{\"Height\":…,\"PreviousWinners\":[…],\"Entries\":[{{\"Hash\",\"ExtIDs\",\"Content\"}}]}})",
            path.display()
        )
    })?;
    let height = u32::try_from(raw.height)
        .ok()
        .filter(|h| *h <= i32::MAX as u32)
        .with_context(|| format!("Height {} is not a block height", raw.height))?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut entries = Vec::with_capacity(raw.entries.len());
    for (k, e) in raw.entries.into_iter().enumerate() {
        let hash = hex::decode(&e.hash).with_context(|| format!("entry {k}: Hash is not hex"))?;
        if hash.len() != 32 {
            bail!("entry {k}: Hash is {} bytes, expected 32", hash.len());
        }
        let ext_ids = e
            .ext_ids
            .iter()
            .enumerate()
            .map(|(j, x)| {
                b64.decode(x)
                    .with_context(|| format!("entry {k}: ExtIDs[{j}] is not base64"))
            })
            .collect::<Result<Vec<_>>>()?;
        let content = b64
            .decode(&e.content)
            .with_context(|| format!("entry {k}: Content is not base64"))?;
        entries.push(BlockEntry {
            hash,
            ext_ids,
            content,
        });
    }
    Ok(BlockFile {
        height,
        previous_winners: raw.previous_winners,
        entries,
    })
}
