//! Entry blocks as factomd encodes them (spec `factom-node.md` §3.4): the binary form (what
//! factomd's `raw-data` returns for an entry block's key MR), the body's Merkle root, the key MR,
//! the full hash and the minute markers.
//!
//! The binary form is a 140-byte header followed by the body, 32 bytes per item:
//!
//! | bytes | field |
//! |---|---|
//! | 32 | chain ID |
//! | 32 | body MR: Merkle root of the body's items |
//! | 32 | previous key MR (zeros for a chain's first block) |
//! | 32 | previous full hash (SHA-256 of the previous block's binary form) |
//! | 4 | sequence number, big-endian |
//! | 4 | directory block height, big-endian |
//! | 4 | item count (entries and minute markers), big-endian |
//!
//! The **key MR** is `SHA256(SHA256(header) ‖ body MR)`; the **full hash** is the SHA-256 of the
//! whole binary form. The body lists entry hashes in order; after the entries of each minute comes
//! the minute marker `00…0m` (m = 1…10). factomd never writes a marker after another marker (a
//! minute with no entry leaves none), and never starts a body with one.

use crate::entry::Hash32;
use crate::error::EBlockError;
use sha2::{Digest, Sha256};

/// Bytes of an entry block's header.
pub const HEADER_LEN: usize = 140;

/// An entry block: its header fields and its body (entry hashes and minute markers, in order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EBlock {
    /// The chain the block belongs to.
    pub chain_id: Hash32,
    /// The body MR as the header states it (see [`EBlock::body_mr`] for the recomputed one).
    pub header_body_mr: Hash32,
    /// Key MR of the chain's previous entry block (zeros for its first).
    pub prev_keymr: Hash32,
    /// Full hash of the chain's previous entry block (zeros for its first).
    pub prev_full_hash: Hash32,
    /// 0-based position of this block in its chain.
    pub sequence: u32,
    /// Height of the directory block holding it.
    pub db_height: u32,
    /// Entry hashes and minute markers, in order.
    pub body: Vec<Hash32>,
}

fn sha(parts: &[&[u8]]) -> Hash32 {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// The Merkle root factomd computes over `leaves`: pairs hashed as `SHA256(left ‖ right)`, an odd
/// last node paired with itself; the zero hash for no leaves.
pub fn merkle_root(leaves: &[Hash32]) -> Hash32 {
    if leaves.is_empty() {
        return [0; 32];
    }
    let mut level = leaves.to_vec();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|p| sha(&[&p[0], p.get(1).unwrap_or(&p[0])]))
            .collect();
    }
    level[0]
}

/// The minute marker `00…0m` that follows the entries of minute `m` (1…10).
pub fn minute_marker(m: u8) -> Hash32 {
    let mut h = [0u8; 32];
    h[31] = m;
    h
}

/// The minute of a minute marker (1…10), or `None` for an entry hash.
pub fn marker_minute(h: &Hash32) -> Option<u8> {
    (h[..31].iter().all(|&b| b == 0) && (1..=10).contains(&h[31])).then_some(h[31])
}

impl EBlock {
    /// A block of `chain` at `db_height` holding `entries`, each with the minute marker (1…10)
    /// that follows it, in order: the body is laid out as factomd writes it (a marker after the
    /// last entry of each minute that has entries), and the header's body MR is computed.
    pub fn build(
        chain_id: Hash32,
        prev_keymr: Hash32,
        prev_full_hash: Hash32,
        sequence: u32,
        db_height: u32,
        entries: &[(Hash32, u8)],
    ) -> EBlock {
        let mut body = Vec::with_capacity(entries.len() + 10);
        for (k, (h, m)) in entries.iter().enumerate() {
            body.push(*h);
            if entries.get(k + 1).is_none_or(|(_, next)| next != m) {
                body.push(minute_marker(*m));
            }
        }
        EBlock {
            chain_id,
            header_body_mr: merkle_root(&body),
            prev_keymr,
            prev_full_hash,
            sequence,
            db_height,
            body,
        }
    }

    /// The 140-byte header, with the body MR the header states.
    pub fn header(&self) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[..32].copy_from_slice(&self.chain_id);
        h[32..64].copy_from_slice(&self.header_body_mr);
        h[64..96].copy_from_slice(&self.prev_keymr);
        h[96..128].copy_from_slice(&self.prev_full_hash);
        h[128..132].copy_from_slice(&self.sequence.to_be_bytes());
        h[132..136].copy_from_slice(&self.db_height.to_be_bytes());
        h[136..140].copy_from_slice(&(self.body.len() as u32).to_be_bytes());
        h
    }

    /// The Merkle root of the body, recomputed.
    pub fn body_mr(&self) -> Hash32 {
        merkle_root(&self.body)
    }

    /// The key MR: `SHA256(SHA256(header) ‖ body MR)`, with the body MR recomputed from the body.
    /// A block whose header states another body MR can match no key MR it was asked for: see
    /// [`EBlock::check_key_mr`].
    pub fn key_mr(&self) -> Hash32 {
        sha(&[&sha(&[&self.header()]), &self.body_mr()])
    }

    /// Whether this is the block with key MR `asked`: the header's body MR is the body's, and the
    /// key MR of header and body is `asked`. Returns the key MR recomputed otherwise.
    pub fn check_key_mr(&self, asked: &Hash32) -> Result<(), Hash32> {
        let body_mr = self.body_mr();
        let got = sha(&[&sha(&[&self.header()]), &body_mr]);
        if body_mr == self.header_body_mr && got == *asked {
            Ok(())
        } else {
            Err(got)
        }
    }

    /// The binary form: header, then the body.
    pub fn marshal(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + 32 * self.body.len());
        out.extend_from_slice(&self.header());
        for h in &self.body {
            out.extend_from_slice(h);
        }
        out
    }

    /// The full hash: SHA-256 of the binary form (what the next block's header links to).
    pub fn full_hash(&self) -> Hash32 {
        sha(&[&self.marshal()])
    }

    /// Parses the binary form. The item count must match the body's length exactly.
    pub fn unmarshal(data: &[u8]) -> Result<EBlock, EBlockError> {
        if data.len() < HEADER_LEN {
            return Err(EBlockError::TooShort(data.len()));
        }
        let hash = |at: usize| -> Hash32 {
            let mut h = [0u8; 32];
            h.copy_from_slice(&data[at..at + 32]);
            h
        };
        let word =
            |at: usize| u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
        let count = word(136) as usize;
        let body_bytes = data.len() - HEADER_LEN;
        if body_bytes % 32 != 0 || body_bytes / 32 != count {
            return Err(EBlockError::CountMismatch {
                declared: count,
                bytes: body_bytes,
            });
        }
        Ok(EBlock {
            chain_id: hash(0),
            header_body_mr: hash(32),
            prev_keymr: hash(64),
            prev_full_hash: hash(96),
            sequence: word(128),
            db_height: word(132),
            body: data[HEADER_LEN..]
                .chunks_exact(32)
                .map(|c| {
                    let mut h = [0u8; 32];
                    h.copy_from_slice(c);
                    h
                })
                .collect(),
        })
    }

    /// The entry hashes of the body (minute markers left out), in order.
    pub fn entry_hashes(&self) -> impl Iterator<Item = &Hash32> + '_ {
        self.body.iter().filter(|h| marker_minute(h).is_none())
    }

    /// The entry hashes with the minute marker that follows each, in order.
    pub fn entries_with_minutes(&self) -> Vec<(Hash32, u8)> {
        let mut out: Vec<(Hash32, u8)> = Vec::new();
        let mut waiting = 0;
        for h in &self.body {
            match marker_minute(h) {
                Some(m) => {
                    for e in &mut out[waiting..] {
                        e.1 = m;
                    }
                    waiting = out.len();
                }
                None => out.push((*h, 0)),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two real MainNet entry blocks with their key MRs and full hashes, as factomd's own tests
    /// carry them (see `testdata/README.md`): (binary, key MR, full hash).
    fn mainnet_blocks() -> Vec<(Vec<u8>, Hash32, Hash32)> {
        let text = include_str!("../../testdata/factom/entry-blocks.txt");
        let h = |s: &str| -> Hash32 { hex::decode(s).unwrap().try_into().unwrap() };
        text.lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (hex::decode(f[0]).unwrap(), h(f[1]), h(f[2]))
            })
            .collect()
    }

    #[test]
    fn mainnet_key_mrs_and_full_hashes_are_recomputed() {
        let blocks = mainnet_blocks();
        assert_eq!(blocks.len(), 2);
        for (raw, keymr, full) in blocks {
            let b = EBlock::unmarshal(&raw).unwrap();
            assert_eq!(b.marshal(), raw);
            assert_eq!(b.body_mr(), b.header_body_mr);
            assert_eq!(b.key_mr(), keymr);
            assert_eq!(b.check_key_mr(&keymr), Ok(()));
            assert_eq!(b.full_hash(), full);
            // Every item ends with a minute marker, as factomd writes them.
            assert!(marker_minute(b.body.last().unwrap()).is_some());
            // Rebuilt from its entries and their minutes, the block is the same.
            let again = EBlock::build(
                b.chain_id,
                b.prev_keymr,
                b.prev_full_hash,
                b.sequence,
                b.db_height,
                &b.entries_with_minutes(),
            );
            assert_eq!(again, b);
        }
    }

    #[test]
    fn a_changed_body_or_header_does_not_match_its_key_mr() {
        for (raw, keymr, _) in mainnet_blocks() {
            let b = EBlock::unmarshal(&raw).unwrap();
            // An entry swapped, with the header's body MR left alone or recomputed.
            let mut swapped = b.clone();
            swapped.body[0][0] ^= 1;
            assert!(swapped.check_key_mr(&keymr).is_err());
            swapped.header_body_mr = swapped.body_mr();
            assert_ne!(swapped.check_key_mr(&keymr), Ok(()));
            // An entry dropped.
            let mut dropped = b.clone();
            dropped.body.remove(0);
            dropped.header_body_mr = dropped.body_mr();
            assert!(dropped.check_key_mr(&keymr).is_err());
            // Another height or chain in the header.
            let mut moved = b.clone();
            moved.db_height += 1;
            assert!(moved.check_key_mr(&keymr).is_err());
            let mut other = b.clone();
            other.chain_id[0] ^= 1;
            assert!(other.check_key_mr(&keymr).is_err());
        }
    }

    #[test]
    fn malformed_blocks_are_errors() {
        assert_eq!(EBlock::unmarshal(&[0; 10]), Err(EBlockError::TooShort(10)));
        let (raw, ..) = mainnet_blocks().remove(0);
        assert!(matches!(
            EBlock::unmarshal(&raw[..raw.len() - 1]),
            Err(EBlockError::CountMismatch { .. })
        ));
        let mut more = raw.clone();
        more.extend_from_slice(&[7; 32]);
        assert!(EBlock::unmarshal(&more).is_err());
    }

    #[test]
    fn minute_markers_are_placed_as_factomd_places_them() {
        let e = |k: u8| [k; 32];
        let b = EBlock::build(
            [9; 32],
            [0; 32],
            [0; 32],
            0,
            5,
            &[(e(1), 2), (e(2), 2), (e(3), 7)],
        );
        assert_eq!(
            b.body,
            vec![e(1), e(2), minute_marker(2), e(3), minute_marker(7)]
        );
        assert_eq!(
            b.entry_hashes().copied().collect::<Vec<_>>(),
            vec![e(1), e(2), e(3)]
        );
        assert_eq!(marker_minute(&minute_marker(10)), Some(10));
        assert_eq!(marker_minute(&minute_marker(11)), None);
        assert_eq!(marker_minute(&[0; 32]), None);
        assert_eq!(merkle_root(&[]), [0; 32]);
        assert_eq!(merkle_root(&[e(4)]), e(4));
        // Three leaves: the third is paired with itself.
        let ab = sha(&[&e(1), &e(2)]);
        let cc = sha(&[&e(3), &e(3)]);
        assert_eq!(merkle_root(&[e(1), e(2), e(3)]), sha(&[&ab, &cc]));
    }
}
