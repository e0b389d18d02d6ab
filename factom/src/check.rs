//! Checking what a node serves against what was asked for, before anything is built on it.
//!
//! The coordinator grades the previous block from entries factomd serves, and every record it
//! pays for carries the winners it learnt: a node that lies (or anything between it and the
//! coordinator on plain HTTP) could change them. So every entry block fetched must be the one
//! whose key MR was asked for (recomputed from its header and body), of the chain and height
//! asked; and every entry fetched must hash to the entry hash asked for, be of the chain asked, and
//! be within Factom's size limit. A [`NodeFault`] says which check failed; the fetch stops at the
//! first (the node is faulty for that block). A [`FetchBudget`] bounds a whole fetch.

use crate::eblock::EBlock;
use crate::entry::{hash_marshalled, Entry, Hash32, MAX_PAYLOAD};
use crate::error::EBlockError;
use std::time::{Duration, Instant};

/// The largest answer to one `entry` call read (64 KiB): a 10 KiB entry in hex is about 21 KB.
pub const MAX_ENTRY_ANSWER: usize = 64 << 10;

/// Entries one fetch of a block reads at most (default of [`FetchBudget`]).
pub const MAX_FETCH_ENTRIES: usize = 10_000;

/// Bytes of answers one fetch of a block reads at most (64 MiB; default of [`FetchBudget`]).
pub const MAX_FETCH_BYTES: usize = 64 << 20;

/// Why what a node served cannot be used: it is not what was asked for, or the fetch ran past its
/// budget.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeFault {
    /// An entry whose recomputed hash is not the hash asked for: its content was changed.
    #[error("entry {} was served with hash {}: changed on the node or on the way", hex::encode(.asked), hex::encode(.got))]
    EntryHash {
        /// The entry hash asked for.
        asked: Hash32,
        /// The hash of what was served.
        got: Hash32,
    },
    /// An entry of another chain.
    #[error("entry {} is of chain {}, not {}", hex::encode(.entry), hex::encode(.got), hex::encode(.want))]
    EntryChain {
        /// The entry hash asked for.
        entry: Hash32,
        /// The chain asked for.
        want: Hash32,
        /// The chain served.
        got: Hash32,
    },
    /// An entry over Factom's size limit (10240 bytes of ExtIDs, their 2-byte lengths and
    /// content).
    #[error("entry {} is {payload} bytes (ExtIDs with their lengths, and content), over Factom's 10240", hex::encode(.entry))]
    EntrySize {
        /// The entry hash asked for.
        entry: Hash32,
        /// Its payload size as served.
        payload: usize,
    },
    /// An entry block whose key MR, recomputed from its header and body, is not the one asked
    /// for.
    #[error("entry block {} was served with key MR {}: changed on the node or on the way", hex::encode(.asked), hex::encode(.got))]
    KeyMr {
        /// The key MR asked for.
        asked: Hash32,
        /// The key MR of what was served.
        got: Hash32,
    },
    /// An entry block whose bytes do not parse.
    #[error("entry block {} does not parse: {detail}", hex::encode(.keymr))]
    Malformed {
        /// The key MR asked for.
        keymr: Hash32,
        /// What is wrong with it.
        detail: EBlockError,
    },
    /// An entry block of another chain than the one asked for.
    #[error("entry block {} is of chain {}, not {}", hex::encode(.keymr), hex::encode(.got), hex::encode(.want))]
    BlockChain {
        /// The key MR asked for.
        keymr: Hash32,
        /// The chain asked for.
        want: Hash32,
        /// The chain of what was served.
        got: Hash32,
    },
    /// An entry block of another height than the one asked for.
    #[error("entry block {} is of height {got}, not {want}", hex::encode(.keymr))]
    Height {
        /// The key MR asked for.
        keymr: Hash32,
        /// The height asked for.
        want: u32,
        /// The height of what was served.
        got: u32,
    },
    /// The fetch needed more than its budget.
    #[error("fetching the block took more than its budget: {0}")]
    Budget(BudgetSpent),
    /// An answer larger than any honest one.
    #[error("factomd's answer to {method} is over {limit} bytes")]
    OversizedAnswer {
        /// The method asked.
        method: String,
        /// The most bytes its answer may have.
        limit: usize,
    },
}

/// Which part of a [`FetchBudget`] ran out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BudgetSpent {
    /// The block lists more entries than a fetch reads.
    #[error("{count} entries listed, at most {max} are read")]
    Entries {
        /// Entries the block lists.
        count: usize,
        /// Entries a fetch reads at most.
        max: usize,
    },
    /// The answers add up to more bytes than a fetch reads.
    #[error("answers over {max} bytes")]
    Bytes {
        /// Bytes a fetch reads at most.
        max: usize,
    },
    /// The deadline passed.
    #[error("not done within {:.1} s", .limit.as_secs_f64())]
    Time {
        /// The time the fetch had.
        limit: Duration,
    },
}

impl NodeFault {
    /// Every kind [`NodeFault::kind`] names, for metrics that list them all from the start.
    pub const KINDS: &'static [&'static str] = &[
        "entry_hash",
        "chain",
        "entry_size",
        "keymr",
        "malformed",
        "height",
        "budget",
        "oversized_answer",
    ];

    /// A short name for the fault's kind (a metric label).
    pub fn kind(&self) -> &'static str {
        match self {
            NodeFault::EntryHash { .. } => "entry_hash",
            NodeFault::EntryChain { .. } | NodeFault::BlockChain { .. } => "chain",
            NodeFault::EntrySize { .. } => "entry_size",
            NodeFault::KeyMr { .. } => "keymr",
            NodeFault::Malformed { .. } => "malformed",
            NodeFault::Height { .. } => "height",
            NodeFault::Budget(_) => "budget",
            NodeFault::OversizedAnswer { .. } => "oversized_answer",
        }
    }
}

/// Checks an entry served for `asked`, which must be of `chain`: size first (so nothing is hashed
/// beyond the limit), then chain, then the entry hash.
pub fn check_entry(asked: &Hash32, chain: &Hash32, entry: &Entry) -> Result<(), NodeFault> {
    let payload = entry.payload_len();
    if payload > MAX_PAYLOAD {
        return Err(NodeFault::EntrySize {
            entry: *asked,
            payload,
        });
    }
    if entry.chain_id != *chain {
        return Err(NodeFault::EntryChain {
            entry: *asked,
            want: *chain,
            got: entry.chain_id,
        });
    }
    let marshalled = entry.marshal().map_err(|_| NodeFault::EntrySize {
        entry: *asked,
        payload,
    })?;
    let got = hash_marshalled(&marshalled);
    if got != *asked {
        return Err(NodeFault::EntryHash { asked: *asked, got });
    }
    Ok(())
}

/// Parses and checks the binary entry block served for key MR `asked`, which must be of `chain`
/// at `height`.
pub fn check_entry_block(
    asked: &Hash32,
    chain: &Hash32,
    height: u32,
    raw: &[u8],
) -> Result<EBlock, NodeFault> {
    let block = EBlock::unmarshal(raw).map_err(|detail| NodeFault::Malformed {
        keymr: *asked,
        detail,
    })?;
    block
        .check_key_mr(asked)
        .map_err(|got| NodeFault::KeyMr { asked: *asked, got })?;
    if block.chain_id != *chain {
        return Err(NodeFault::BlockChain {
            keymr: *asked,
            want: *chain,
            got: block.chain_id,
        });
    }
    if block.db_height != height {
        return Err(NodeFault::Height {
            keymr: *asked,
            want: height,
            got: block.db_height,
        });
    }
    Ok(block)
}

/// What one fetch of a block may read: entries, bytes of answers, and time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchBudget {
    /// Entries read at most ([`MAX_FETCH_ENTRIES`] by default).
    pub max_entries: usize,
    /// Bytes of answers read at most ([`MAX_FETCH_BYTES`] by default).
    pub max_bytes: usize,
    /// The fetch fails with [`BudgetSpent::Time`] once this passes (none by default).
    pub deadline: Option<Instant>,
}

impl Default for FetchBudget {
    fn default() -> Self {
        FetchBudget {
            max_entries: MAX_FETCH_ENTRIES,
            max_bytes: MAX_FETCH_BYTES,
            deadline: None,
        }
    }
}

impl FetchBudget {
    /// The default budget, due `within` from now.
    pub fn within(within: Duration) -> Self {
        FetchBudget {
            deadline: Some(Instant::now() + within),
            ..FetchBudget::default()
        }
    }

    /// Fails when a block listing `count` entries is more than this budget reads.
    pub fn check_entries(&self, count: usize) -> Result<(), NodeFault> {
        if count > self.max_entries {
            return Err(NodeFault::Budget(BudgetSpent::Entries {
                count,
                max: self.max_entries,
            }));
        }
        Ok(())
    }

    /// Counts `bytes` more into `spent`, failing once the total passes the budget.
    pub fn spend(&self, spent: &mut usize, bytes: usize) -> Result<(), NodeFault> {
        *spent = spent.saturating_add(bytes);
        if *spent > self.max_bytes {
            return Err(NodeFault::Budget(BudgetSpent::Bytes {
                max: self.max_bytes,
            }));
        }
        Ok(())
    }
}
