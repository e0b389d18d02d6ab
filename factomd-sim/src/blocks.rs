//! The simulated node's blocks: closing a block (entry blocks per chain, laid out and hashed as
//! factomd does by `factom::eblock`, and the directory block listing them) and the calls that read
//! them back (`chain-head`, `entry-block`, `raw-data`, `dblock-by-height`, `directory-block-head`,
//! `directory-block`).

use crate::state::{SimState, LOCAL_NETWORK_ID};
use factom::eblock::{merkle_root, EBlock};
use factom::entry::Hash32;
use factom::rpc::{self, RpcError};
use factom::types::*;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::time::Instant;

/// A chain's position: the key MR of its last entry block, that block's sequence number + 1, and
/// its full hash (the next block links to both).
pub(crate) struct Chain {
    pub(crate) head: Option<Hash32>,
    pub(crate) seq: u32,
    pub(crate) prev_full: Hash32,
}

/// A saved entry block, with its directory block's timestamp (Unix seconds).
pub(crate) struct EBlockData {
    pub(crate) block: EBlock,
    pub(crate) timestamp: i64,
}

/// A saved directory block.
pub(crate) struct DBlockData {
    pub(crate) height: u32,
    pub(crate) keymr: Hash32,
    pub(crate) prev: Hash32,
    pub(crate) timestamp_min: i64,
    pub(crate) entries: Vec<(Hash32, Hash32)>,
}

pub(crate) fn sha(parts: &[&[u8]]) -> Hash32 {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

fn chain_const(last: u8) -> Hash32 {
    let mut h = [0u8; 32];
    h[31] = last;
    h
}

impl SimState {
    pub(crate) fn close_block(&mut self) {
        let height = self.building;
        let ts = self.block_unix_secs(height);
        let mut dentries = vec![
            (chain_const(0x0a), sha(&[b"admin", &height.to_be_bytes()])),
            (chain_const(0x0c), sha(&[b"ec", &height.to_be_bytes()])),
            (chain_const(0x0f), sha(&[b"factoid", &height.to_be_bytes()])),
        ];
        for (chain, items) in std::mem::take(&mut self.pending) {
            let Some(c) = self.chains.get_mut(&chain) else {
                continue;
            };
            // An entry of minute m (0-based) is followed by minute marker m + 1.
            let entries: Vec<(Hash32, u8)> = items.iter().map(|(h, m)| (*h, m + 1)).collect();
            let block = EBlock::build(
                chain,
                c.head.unwrap_or([0; 32]),
                c.prev_full,
                c.seq,
                height,
                &entries,
            );
            let keymr = block.key_mr();
            c.head = Some(keymr);
            c.seq += 1;
            c.prev_full = block.full_hash();
            self.eblocks.insert(
                keymr,
                EBlockData {
                    block,
                    timestamp: ts,
                },
            );
            dentries.push((chain, keymr));
        }
        let prev = self.dblocks.last().map_or([0; 32], |d| d.keymr);
        let mut parts: Vec<u8> = height.to_be_bytes().to_vec();
        parts.extend_from_slice(&prev);
        for (c, k) in &dentries {
            parts.extend_from_slice(c);
            parts.extend_from_slice(k);
        }
        self.dblocks.push(DBlockData {
            height,
            keymr: sha(&[&parts]),
            prev,
            timestamp_min: ts / 60,
            entries: dentries,
        });
        self.building += 1;
    }

    /// Answers `chain-head`: the key MR of the chain's newest saved entry block ("" if none yet)
    /// and whether entries are pending; `-32009 Missing Chain Head` for an unknown chain.
    pub fn chain_head(&mut self, chain: &Hash32, now: Instant) -> Result<ChainHead, RpcError> {
        self.advance(now);
        let c = self
            .chains
            .get(chain)
            .ok_or_else(|| RpcError::new(rpc::MISSING_CHAIN_HEAD, "Missing Chain Head"))?;
        Ok(ChainHead {
            chainhead: c.head.map(hex::encode).unwrap_or_default(),
            chaininprocesslist: self.pending.contains_key(chain),
        })
    }

    /// Answers `entry-block` for a saved entry block's key MR; `-32008 Block not found` otherwise.
    pub fn entry_block(&mut self, keymr: &Hash32, now: Instant) -> Result<EntryBlock, RpcError> {
        self.advance(now);
        let b = self
            .eblocks
            .get(keymr)
            .ok_or_else(|| RpcError::new(rpc::NOT_FOUND, "Block not found"))?;
        let e = &b.block;
        Ok(EntryBlock {
            header: EntryBlockHeader {
                blocksequencenumber: e.sequence as i64,
                chainid: hex::encode(e.chain_id),
                prevkeymr: hex::encode(e.prev_keymr),
                timestamp: b.timestamp,
                dbheight: e.db_height as i64,
            },
            entrylist: e
                .entries_with_minutes()
                .into_iter()
                .map(|(h, m)| EntryBlockItem {
                    entryhash: hex::encode(h),
                    timestamp: b.timestamp + 60 * i64::from(m),
                })
                .collect(),
        })
    }

    /// The saved entry block with key MR `keymr`, if any (`raw-data` serves its binary form).
    pub fn saved_entry_block(&mut self, keymr: &Hash32, now: Instant) -> Option<&EBlock> {
        self.advance(now);
        self.eblocks.get(keymr).map(|b| &b.block)
    }

    fn dblock(&self, d: &DBlockData) -> DBlock {
        let entries: Vec<DBlockEntry> = d
            .entries
            .iter()
            .map(|(c, k)| DBlockEntry {
                chainid: hex::encode(c),
                keymr: hex::encode(k),
            })
            .collect();
        let leaves: Vec<Hash32> = d.entries.iter().map(|(_, k)| *k).collect();
        DBlock {
            dbhash: hex::encode(sha(&[&d.keymr, b"full"])),
            keymr: hex::encode(d.keymr),
            headerhash: Some(hex::encode(sha(&[&d.keymr, b"header"]))),
            header: DBlockHeader {
                version: 0,
                networkid: LOCAL_NETWORK_ID,
                bodymr: hex::encode(merkle_root(&leaves)),
                prevkeymr: hex::encode(d.prev),
                prevfullhash: hex::encode(sha(&[&d.prev, b"full"])),
                timestamp: d.timestamp_min,
                dbheight: d.height as i64,
                blockcount: entries.len() as i64,
                chainid: hex::encode(chain_const(0x0d)),
            },
            dbentries: entries,
        }
    }

    /// Answers `dblock-by-height` for a saved height (without `rawdata`); `-32008 Block not
    /// found` for a height not saved yet or before the simulator's first block.
    pub fn dblock_by_height(
        &mut self,
        height: u32,
        now: Instant,
    ) -> Result<DBlockByHeight, RpcError> {
        self.advance(now);
        let first = self.dblocks.first().map_or(0, |d| d.height);
        let d = height
            .checked_sub(first)
            .and_then(|k| self.dblocks.get(k as usize))
            .ok_or_else(|| RpcError::new(rpc::NOT_FOUND, "Block not found"))?;
        Ok(DBlockByHeight {
            dblock: self.dblock(d),
            rawdata: None,
        })
    }

    /// `directory-block-head` (key MR of the highest saved block).
    pub fn directory_block_head(&mut self, now: Instant) -> Hash32 {
        self.advance(now);
        self.dblocks.last().map_or([0; 32], |d| d.keymr)
    }

    /// `directory-block` by key MR.
    pub fn directory_block(
        &mut self,
        keymr: &Hash32,
        now: Instant,
    ) -> Result<serde_json::Value, RpcError> {
        self.advance(now);
        let d = self
            .dblocks
            .iter()
            .find(|d| d.keymr == *keymr)
            .ok_or_else(|| RpcError::new(rpc::NOT_FOUND, "Block not found"))?;
        Ok(json!({
            "header": {
                "prevblockkeymr": hex::encode(d.prev),
                "sequencenumber": d.height,
                "timestamp": d.timestamp_min * 60,
            },
            "entryblocklist": d.entries.iter().map(|(c, k)| json!({
                "chainid": hex::encode(c), "keymr": hex::encode(k)
            })).collect::<Vec<_>>(),
        }))
    }
}
