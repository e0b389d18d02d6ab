//! A factomd client for the calls a PegNet coordinator makes (spec `factom-node.md` §2, §8).
//!
//! Each method is one JSON-RPC call (or, for the block helpers at the end, a short walk of them)
//! returning the result shapes of [`crate::types`]. Transport failures are retried with backoff
//! for the configured [`RpcConfig::retry_for`]; JSON-RPC errors from the node are returned at
//! once as [`ClientError`]s carrying the code.

use crate::address::EcAddress;
use crate::commit::{Commit, ComposedEntry};
use crate::entry::{Entry, Hash32};
use crate::rpc;
use crate::transport::{ClientError, JsonRpc, RpcConfig};
use crate::types::*;
use serde_json::json;

/// The outcome of `commit-entry`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitOutcome {
    /// factomd accepted this commit now (it may still hold it until the EC address is funded).
    Committed {
        /// The commit's transaction id as factomd reports it, hex (see [`Commit::txid`]).
        txid: String,
    },
    /// factomd already holds a commit paying as much or more (`-32011`): reveal only.
    AlreadyCommitted,
}

/// Client of one factomd node's `/v2` JSON-RPC endpoint, shared by the coordinator's monitor,
/// grader and payer. Cheap to share behind an `Arc`; holds one HTTP client.
#[derive(Debug)]
pub struct FactomdClient {
    rpc: JsonRpc,
}

fn hex32(h: &Hash32) -> String {
    hex::encode(h)
}

impl FactomdClient {
    /// A client for the node at `cfg`'s address, with its timeouts, retry budget and credentials.
    /// Fails only if the HTTP client cannot be built.
    pub fn new(cfg: RpcConfig) -> Result<Self, ClientError> {
        Ok(FactomdClient {
            rpc: JsonRpc::new(cfg)?,
        })
    }

    /// The full `/v2` endpoint URL this client calls, for logs and error messages.
    pub fn url(&self) -> &str {
        self.rpc.url()
    }

    /// The node's saved and processed heights (`heights`).
    pub async fn heights(&self) -> Result<Heights, ClientError> {
        self.rpc.call("heights", ()).await
    }

    /// The node's current block and minute (`current-minute`), retrying transport failures.
    pub async fn current_minute(&self) -> Result<CurrentMinute, ClientError> {
        self.rpc.call("current-minute", ()).await
    }

    /// `current-minute`, a single attempt (for pollers that do their own retrying).
    pub async fn current_minute_once(&self) -> Result<CurrentMinute, ClientError> {
        self.rpc
            .call_once("current-minute", &serde_json::Value::Null)
            .await
    }

    /// The real-time balance of `ec` in entry credits (`entry-credit-balance`); 0 for an address
    /// the node has never seen.
    pub async fn ec_balance(&self, ec: &EcAddress) -> Result<i64, ClientError> {
        let b: Balance = self
            .rpc
            .call("entry-credit-balance", json!({"address": ec.to_string()}))
            .await?;
        Ok(b.balance)
    }

    /// `commit-entry`. `-32011 Repeated Commit` is not an error: it means "reveal only".
    pub async fn commit_entry(&self, commit: &Commit) -> Result<CommitOutcome, ClientError> {
        let msg = hex::encode(commit.to_bytes());
        match self
            .rpc
            .call::<_, CommitResult>("commit-entry", json!({"message": msg}))
            .await
        {
            Ok(r) => Ok(CommitOutcome::Committed { txid: r.txid }),
            Err(e) if e.rpc_code() == Some(rpc::REPEATED_COMMIT) => {
                Ok(CommitOutcome::AlreadyCommitted)
            }
            Err(e) => Err(e),
        }
    }

    /// Reveals a marshalled entry (`reveal-entry`). Success means only that the entry parsed; it
    /// is recorded once factomd pairs it with a commit paying enough.
    pub async fn reveal_entry(&self, marshalled: &[u8]) -> Result<RevealResult, ClientError> {
        self.rpc
            .call("reveal-entry", json!({"entry": hex::encode(marshalled)}))
            .await
    }

    /// Commits then reveals. Safe to call again after any failure: a commit that already reached
    /// the node comes back as `-32011` and only the reveal is sent again.
    pub async fn commit_and_reveal(
        &self,
        composed: &ComposedEntry,
    ) -> Result<(CommitOutcome, RevealResult), ClientError> {
        let outcome = self.commit_entry(&composed.commit).await?;
        let reveal = self.reveal_entry(&composed.reveal).await?;
        Ok((outcome, reveal))
    }

    /// `chain-head`. A chain that does not exist is `Rpc` error `-32009`.
    pub async fn chain_head(&self, chain: &Hash32) -> Result<ChainHead, ClientError> {
        self.rpc
            .call("chain-head", json!({"chainid": hex32(chain)}))
            .await
    }

    /// The entry block with key MR `keymr` (`entry-block`); `-32008` if the node has none.
    pub async fn entry_block(&self, keymr: &Hash32) -> Result<EntryBlock, ClientError> {
        self.rpc
            .call("entry-block", json!({"keymr": hex32(keymr)}))
            .await
    }

    /// The entry with hash `hash` (`entry`), its chain ID, external IDs and content decoded from
    /// hex. Non-hex fields are a [`ClientError::Decode`].
    pub async fn entry(&self, hash: &Hash32) -> Result<Entry, ClientError> {
        let r: EntryResult = self.rpc.call("entry", json!({"hash": hex32(hash)})).await?;
        let bad = |what: &str| ClientError::Decode {
            url: self.url().to_string(),
            method: "entry".into(),
            detail: format!("{what} is not hex"),
        };
        let chain = hex::decode(&r.chainid).map_err(|_| bad("chainid"))?;
        let chain_id: Hash32 = chain.try_into().map_err(|_| bad("chainid"))?;
        let ext_ids = r
            .extids
            .iter()
            .map(|x| hex::decode(x).map_err(|_| bad("an extid")))
            .collect::<Result<Vec<_>, _>>()?;
        let content = hex::decode(&r.content).map_err(|_| bad("content"))?;
        Ok(Entry {
            chain_id,
            ext_ids,
            content,
        })
    }

    /// The directory block at `height` (`dblock-by-height` with `noraw`, so without the binary).
    pub async fn dblock_by_height(&self, height: u32) -> Result<DBlockByHeight, ClientError> {
        self.rpc
            .call("dblock-by-height", json!({"height": height, "noraw": true}))
            .await
    }

    /// The key MR of `chain`'s entry block in directory block `height`, if it has one.
    pub async fn entry_block_keymr_at(
        &self,
        chain: &Hash32,
        height: u32,
    ) -> Result<Option<Hash32>, ClientError> {
        let d = self.dblock_by_height(height).await?;
        let want = hex32(chain);
        for e in d.dblock.dbentries {
            if e.chainid.eq_ignore_ascii_case(&want) {
                let k = hex::decode(&e.keymr)
                    .ok()
                    .and_then(|v| Hash32::try_from(v).ok())
                    .ok_or_else(|| ClientError::Decode {
                        url: self.url().to_string(),
                        method: "dblock-by-height".into(),
                        detail: "keymr is not 32 bytes of hex".into(),
                    })?;
                return Ok(Some(k));
            }
        }
        Ok(None)
    }

    /// Every entry of `chain` in directory block `height` (empty if it has no entry block there).
    pub async fn entries_at(
        &self,
        chain: &Hash32,
        height: u32,
    ) -> Result<Vec<(Hash32, Entry)>, ClientError> {
        let Some(keymr) = self.entry_block_keymr_at(chain, height).await? else {
            return Ok(Vec::new());
        };
        let block = self.entry_block(&keymr).await?;
        let mut out = Vec::with_capacity(block.entrylist.len());
        for item in block.entrylist {
            let h: Hash32 = hex::decode(&item.entryhash)
                .ok()
                .and_then(|v| v.try_into().ok())
                .ok_or_else(|| ClientError::Decode {
                    url: self.url().to_string(),
                    method: "entry-block".into(),
                    detail: "entry hash is not 32 bytes of hex".into(),
                })?;
            out.push((h, self.entry(&h).await?));
        }
        Ok(out)
    }
}
