//! The simulated node's entries: `commit-entry` (with factomd's repeated-commit rules),
//! `reveal-entry`, paying a commit from the EC balance, landing a revealed entry in the block being
//! built once its commit is paid, and `entry`.

use crate::state::SimState;
use factom::address::EcAddress;
use factom::commit::Commit;
use factom::entry::{hash_marshalled, ksize, Entry, Hash32};
use factom::rpc::{self, RpcError};
use factom::types::*;
use serde_json::json;
use std::time::Instant;

/// A commit factomd holds for an entry: its bytes (an identical re-send is deduplicated), the
/// credits it pays, the paying key, whether the credits were taken, and whether an entry used it.
pub(crate) struct HeldCommit {
    pub(crate) bytes: Vec<u8>,
    pub(crate) credits: u8,
    pub(crate) key: EcAddress,
    pub(crate) paid: bool,
    pub(crate) used: bool,
}

impl SimState {
    /// `commit-entry` with the decoded message.
    pub fn commit(&mut self, msg: &[u8], now: Instant) -> Result<CommitResult, RpcError> {
        self.advance(now);
        let invalid = || {
            RpcError::with_data(
                rpc::INVALID_PARAMS,
                "Invalid params",
                "Invalid Commit Entry",
            )
        };
        let c = Commit::parse(msg).map_err(|_| invalid())?;
        c.verify().map_err(|_| invalid())?;
        let bytes = msg[..factom::commit::COMMIT_LEN].to_vec();
        let result = CommitResult {
            message: "Entry Commit Success".into(),
            txid: hex::encode(c.txid()),
            entryhash: hex::encode(c.entry_hash),
        };
        if let Some(old) = self.commits.get(&c.entry_hash) {
            if old.bytes == bytes {
                return Ok(result); // an identical re-submission is silently deduplicated
            }
            if old.credits >= c.credits {
                return Err(RpcError {
                    code: rpc::REPEATED_COMMIT,
                    message: "Repeated Commit".into(),
                    data: Some(json!({
                        "info": "A commit with equal or greater payment already exists",
                        "entryhash": hex::encode(c.entry_hash),
                    })),
                });
            }
        }
        self.commits.insert(
            c.entry_hash,
            HeldCommit {
                bytes,
                credits: c.credits,
                key: c.ec_public,
                paid: false,
                used: false,
            },
        );
        self.try_pay(&c.entry_hash);
        self.try_land(&c.entry_hash, now);
        Ok(result)
    }

    pub(crate) fn try_pay(&mut self, h: &Hash32) {
        if let Some(c) = self.commits.get_mut(h) {
            let bal = self.balances.entry(c.key.0).or_default();
            if !c.paid && *bal >= c.credits as i64 {
                *bal -= c.credits as i64;
                c.paid = true;
            }
        }
    }

    /// `reveal-entry` with the decoded entry bytes.
    pub fn reveal(&mut self, data: &[u8], now: Instant) -> Result<RevealResult, RpcError> {
        self.advance(now);
        let invalid =
            || RpcError::with_data(rpc::INVALID_PARAMS, "Invalid params", "Invalid Entry");
        let entry = Entry::unmarshal(data).map_err(|_| invalid())?;
        if ksize(data.len()) > 10 {
            return Err(invalid());
        }
        let h = hash_marshalled(data);
        let result = RevealResult {
            message: "Entry Reveal Success".into(),
            entryhash: hex::encode(h),
            chainid: hex::encode(entry.chain_id),
        };
        if !self.entries.contains_key(&h) {
            self.held_reveals.insert(h, (entry, data.len()));
            self.try_land(&h, now);
        }
        Ok(result)
    }

    /// Puts a revealed entry into the current block once it has a paid commit covering its size
    /// and its chain exists.
    pub(crate) fn try_land(&mut self, h: &Hash32, now: Instant) {
        let Some((entry, len)) = self.held_reveals.get(h) else {
            return;
        };
        let Some(c) = self.commits.get(h) else { return };
        if !c.paid
            || c.used
            || (c.credits as usize) < ksize(*len)
            || !self.chains.contains_key(&entry.chain_id)
        {
            return;
        }
        let chain = entry.chain_id;
        if let Some((entry, _)) = self.held_reveals.remove(h) {
            let (_, minute, ..) = self.clock(now);
            if let Some(c) = self.commits.get_mut(h) {
                c.used = true;
            }
            self.entries.insert(*h, entry);
            self.pending.entry(chain).or_default().push((*h, minute));
        }
    }

    /// The binary form of a saved, in-process or held entry (`raw-data` of an entry hash).
    pub fn raw_entry(&self, hash: &Hash32) -> Option<Vec<u8>> {
        let e = self
            .entries
            .get(hash)
            .or_else(|| self.held_reveals.get(hash).map(|(e, _)| e))?;
        e.marshal().ok()
    }

    /// `entry`: saved, in-process, or revealed-but-held entries.
    pub fn entry(&mut self, hash: &Hash32, now: Instant) -> Result<EntryResult, RpcError> {
        self.advance(now);
        let e = self
            .entries
            .get(hash)
            .or_else(|| self.held_reveals.get(hash).map(|(e, _)| e))
            .ok_or_else(|| RpcError::new(rpc::NOT_FOUND, "Entry not found"))?;
        Ok(EntryResult {
            chainid: hex::encode(e.chain_id),
            content: hex::encode(&e.content),
            extids: e.ext_ids.iter().map(hex::encode).collect(),
        })
    }
}
