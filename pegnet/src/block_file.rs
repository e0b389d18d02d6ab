//! Blocks of OPR entries in the test-data JSON shape (PegNet's Go `TestBlock`), as
//! `testdata/pegnet/` holds real MainNet blocks and as `netcoordinator grade` reads them:
//!
//! ```json
//! {"Height":H,"PreviousWinners":["…"],"Winners":["…"],
//!  "Entries":[{"Hash":"<hex>","ExtIDs":["<base64>",…],"Content":"<base64>"}]}
//! ```
//!
//! One parser for the program and every test; a malformed part is an error saying where.

use base64::Engine;
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawBlock {
    height: i64,
    #[serde(default)]
    previous_winners: Vec<String>,
    #[serde(default)]
    winners: Vec<String>,
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
#[derive(Debug, Clone)]
pub struct BlockEntry {
    /// The entry hash (`Hash`, decoded from hex; 32 bytes).
    pub hash: Vec<u8>,
    /// The entry's external IDs (`ExtIDs`, decoded from base64): nonce, difficulty, version.
    pub ext_ids: Vec<Vec<u8>>,
    /// The entry's content (`Content`, decoded from base64): the OPR in JSON (V1) or protobuf.
    pub content: Vec<u8>,
}

/// A block file, decoded.
#[derive(Debug, Clone)]
pub struct BlockFile {
    /// Directory block height the entries were recorded in (`Height`).
    pub height: u32,
    /// The previous graded block's winners (`PreviousWinners`).
    pub previous_winners: Vec<String>,
    /// This block's winners as pegnetd graded them (`Winners`; empty when the file has none).
    pub winners: Vec<String>,
    /// Entries in entry-block order.
    pub entries: Vec<BlockEntry>,
}

/// Why a block file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BlockFileError {
    /// The file cannot be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not JSON of the block-file shape.
    #[error("not a block file (expected {{\"Height\":…,\"PreviousWinners\":[…],\"Entries\":[{{\"Hash\",\"ExtIDs\",\"Content\"}}]}}): {0}")]
    Shape(#[from] serde_json::Error),
    /// A part of it is malformed.
    #[error("{0}")]
    Malformed(String),
}

/// Reads and decodes the block file at `path`.
pub fn read(path: &Path) -> Result<BlockFile, BlockFileError> {
    let bytes = std::fs::read(path).map_err(|source| BlockFileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&bytes)
}

/// Decodes a block file's bytes.
pub fn parse(bytes: &[u8]) -> Result<BlockFile, BlockFileError> {
    let bad = BlockFileError::Malformed;
    let raw: RawBlock = serde_json::from_slice(bytes)?;
    let height = u32::try_from(raw.height)
        .ok()
        .filter(|h| *h <= i32::MAX as u32)
        .ok_or_else(|| bad(format!("Height {} is not a block height", raw.height)))?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut entries = Vec::with_capacity(raw.entries.len());
    for (k, e) in raw.entries.into_iter().enumerate() {
        let hash = hex::decode(&e.hash).map_err(|_| bad(format!("entry {k}: Hash is not hex")))?;
        if hash.len() != 32 {
            return Err(bad(format!(
                "entry {k}: Hash is {} bytes, expected 32",
                hash.len()
            )));
        }
        let ext_ids = e
            .ext_ids
            .iter()
            .enumerate()
            .map(|(j, x)| {
                b64.decode(x)
                    .map_err(|_| bad(format!("entry {k}: ExtIDs[{j}] is not base64")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let content = b64
            .decode(&e.content)
            .map_err(|_| bad(format!("entry {k}: Content is not base64")))?;
        entries.push(BlockEntry {
            hash,
            ext_ids,
            content,
        });
    }
    Ok(BlockFile {
        height,
        previous_winners: raw.previous_winners,
        winners: raw.winners,
        entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_malformed_part_is_named() {
        let e = |s: &str| parse(s.as_bytes()).unwrap_err().to_string();
        assert!(e("[]").contains("not a block file"));
        assert!(e(r#"{"Height":-1,"Entries":[]}"#).contains("Height -1"));
        assert!(e(r#"{"Height":1,"Entries":[{"Hash":"zz"}]}"#).contains("entry 0: Hash is not hex"));
        assert!(e(r#"{"Height":1,"Entries":[{"Hash":"00"}]}"#).contains("1 bytes"));
        let h = "00".repeat(32);
        assert!(e(&format!(
            r#"{{"Height":1,"Entries":[{{"Hash":"{h}","ExtIDs":["!"]}}]}}"#
        ))
        .contains("ExtIDs[0]"));
        let ok = parse(
            format!(r#"{{"Height":7,"Entries":[{{"Hash":"{h}","Content":"YWJj"}}]}}"#).as_bytes(),
        )
        .unwrap();
        assert_eq!(
            (ok.height, ok.entries[0].content.as_slice()),
            (7, &b"abc"[..])
        );
    }
}
