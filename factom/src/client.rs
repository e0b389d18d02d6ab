//! A factomd client for the calls a PegNet coordinator makes (spec `factom-node.md` §2, §8).
//!
//! Each method is one JSON-RPC call (or, for the block helpers at the end, a short walk of them)
//! returning the result shapes of [`crate::types`]. Transport failures are retried with backoff
//! for the configured [`RpcConfig::retry_for`]; JSON-RPC errors from the node are returned at
//! once as [`ClientError`]s carrying the code.

use crate::address::EcAddress;
use crate::check::{
    check_entry, check_entry_block, BudgetSpent, FetchBudget, NodeFault, MAX_ENTRY_ANSWER,
};
use crate::commit::{Commit, ComposedEntry};
use crate::entry::{Entry, Hash32};
use crate::rpc;
use crate::transport::{ClientError, JsonRpc, RpcConfig, MAX_BODY};
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
    /// hex. Non-hex fields are a [`ClientError::Decode`]. Not checked against `hash`: what
    /// anything is built on comes from [`FactomdClient::entries_at`], which checks every entry.
    pub async fn entry(&self, hash: &Hash32) -> Result<Entry, ClientError> {
        Ok(self.entry_sized(hash, MAX_BODY).await?.0)
    }

    /// `entry`, reading at most `max_body` bytes; with the answer's size.
    async fn entry_sized(
        &self,
        hash: &Hash32,
        max_body: usize,
    ) -> Result<(Entry, usize), ClientError> {
        let (r, size): (EntryResult, usize) = self
            .rpc
            .call_sized("entry", json!({"hash": hex32(hash)}), max_body)
            .await?;
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
        let entry = Entry {
            chain_id,
            ext_ids,
            content,
        };
        Ok((entry, size))
    }

    /// The binary form of the block or entry with this hash or key MR (`raw-data`), decoded from
    /// hex; `-32008` if the node has none.
    pub async fn raw_data(&self, hash: &Hash32) -> Result<Vec<u8>, ClientError> {
        Ok(self.raw_data_sized(hash).await?.0)
    }

    async fn raw_data_sized(&self, hash: &Hash32) -> Result<(Vec<u8>, usize), ClientError> {
        let (r, size): (RawData, usize) = self
            .rpc
            .call_sized("raw-data", json!({"hash": hex32(hash)}), MAX_BODY)
            .await?;
        let data = hex::decode(&r.data).map_err(|_| ClientError::Decode {
            url: self.url().to_string(),
            method: "raw-data".into(),
            detail: "data is not hex".into(),
        })?;
        Ok((data, size))
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
        Ok(self.keymr_at_sized(chain, height).await?.0)
    }

    async fn keymr_at_sized(
        &self,
        chain: &Hash32,
        height: u32,
    ) -> Result<(Option<Hash32>, usize), ClientError> {
        let (d, size): (DBlockByHeight, usize) = self
            .rpc
            .call_sized(
                "dblock-by-height",
                json!({"height": height, "noraw": true}),
                MAX_BODY,
            )
            .await?;
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
                return Ok((Some(k), size));
            }
        }
        Ok((None, size))
    }

    /// Every entry of `chain` in directory block `height` (empty if it has no entry block there),
    /// each one checked, within the default [`FetchBudget`]: see
    /// [`FactomdClient::entries_at_within`].
    pub async fn entries_at(
        &self,
        chain: &Hash32,
        height: u32,
    ) -> Result<Vec<(Hash32, Entry)>, FetchError> {
        self.entries_at_within(chain, height, &FetchBudget::default())
            .await
    }

    /// Every entry of `chain` in directory block `height`, in block order, each one checked
    /// before it is returned ([`crate::check`]): the entry block (`raw-data` of the key MR the
    /// directory block lists) must have that key MR recomputed from its header and body, and be
    /// of `chain` at `height`; every entry must hash to the hash the block lists, be of `chain`
    /// and within 10 KiB. The first that fails ends the fetch with a [`NodeFault`], and so does
    /// running past `budget` (entries, bytes of answers, deadline).
    ///
    /// The directory block itself is taken as served: its key MR is not checked.
    pub async fn entries_at_within(
        &self,
        chain: &Hash32,
        height: u32,
        budget: &FetchBudget,
    ) -> Result<Vec<(Hash32, Entry)>, FetchError> {
        let fetch = self.checked_entries(chain, height, budget);
        match budget.deadline {
            None => fetch.await,
            Some(at) => {
                let limit = at.saturating_duration_since(std::time::Instant::now());
                tokio::time::timeout_at(at.into(), fetch)
                    .await
                    .unwrap_or(Err(FetchError::Fault(NodeFault::Budget(
                        BudgetSpent::Time { limit },
                    ))))
            }
        }
    }

    async fn checked_entries(
        &self,
        chain: &Hash32,
        height: u32,
        budget: &FetchBudget,
    ) -> Result<Vec<(Hash32, Entry)>, FetchError> {
        let mut spent = 0;
        let (keymr, size) = self.keymr_at_sized(chain, height).await?;
        budget.spend(&mut spent, size)?;
        let Some(keymr) = keymr else {
            return Ok(Vec::new());
        };
        let (raw, size) = self.raw_data_sized(&keymr).await?;
        budget.spend(&mut spent, size)?;
        let block = check_entry_block(&keymr, chain, height, &raw)?;
        let hashes: Vec<Hash32> = block.entry_hashes().copied().collect();
        budget.check_entries(hashes.len())?;
        let mut out = Vec::with_capacity(hashes.len());
        for h in hashes {
            let (entry, size) = self.entry_sized(&h, MAX_ENTRY_ANSWER).await?;
            budget.spend(&mut spent, size)?;
            check_entry(&h, chain, &entry)?;
            out.push((h, entry));
        }
        Ok(out)
    }
}

/// Why [`FactomdClient::entries_at`] returned nothing.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The node could not be asked, or answered with an error.
    #[error(transparent)]
    Node(ClientError),
    /// The node served something that is not what was asked for, or more than the budget.
    #[error("node fault: {0}")]
    Fault(#[from] NodeFault),
}

impl From<ClientError> for FetchError {
    /// An answer over its size limit is a fault of the node; anything else is a node error.
    fn from(e: ClientError) -> Self {
        match e.as_fault() {
            Some(fault) => FetchError::Fault(fault),
            None => FetchError::Node(e),
        }
    }
}
