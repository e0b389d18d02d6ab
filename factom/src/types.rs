//! Result shapes of the factomd methods the coordinator uses (spec `factom-node.md` §2), shared by
//! the client (to parse) and the simulator (to produce).

use serde::{Deserialize, Serialize};

/// `current-minute`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CurrentMinute {
    /// Last completed block, in steady state.
    pub leaderheight: i64,
    /// Highest saved block; the block being built is this + 1.
    pub directoryblockheight: i64,
    /// Minute of the block being built, 0..=9 (briefly 10).
    pub minute: i64,
    /// Unix ns when the current block started.
    pub currentblockstarttime: i64,
    /// Unix ns when the current minute started (0 while syncing).
    pub currentminutestarttime: i64,
    /// Unix ns at the node.
    pub currenttime: i64,
    /// Block length in seconds.
    pub directoryblockinseconds: i64,
    /// The node's stall flag.
    pub stalldetected: bool,
    /// Seconds.
    pub faulttimeout: i64,
    /// Seconds.
    pub roundtimeout: i64,
}

/// `heights`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Heights {
    /// Highest saved directory block.
    pub directoryblockheight: i64,
    /// Leader height.
    pub leaderheight: i64,
    /// Highest saved entry block height.
    pub entryblockheight: i64,
    /// Height up to which entries are processed.
    pub entryheight: i64,
}

/// `entry-credit-balance`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Balance {
    /// Entry credits.
    pub balance: i64,
}

/// `commit-entry` success.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CommitResult {
    /// "Entry Commit Success".
    pub message: String,
    /// SHA-256 of the signed part, hex.
    pub txid: String,
    /// The committed entry hash, hex.
    pub entryhash: String,
}

/// `reveal-entry` success.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RevealResult {
    /// "Entry Reveal Success".
    pub message: String,
    /// Entry hash, hex.
    pub entryhash: String,
    /// Chain ID, hex.
    pub chainid: String,
}

/// `chain-head`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChainHead {
    /// Key MR of the newest saved entry block, or "" if none is saved yet.
    pub chainhead: String,
    /// True while the chain has unsaved entries.
    pub chaininprocesslist: bool,
}

/// Header of an entry block.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EntryBlockHeader {
    /// 0-based index in its chain.
    pub blocksequencenumber: i64,
    /// The chain, hex.
    pub chainid: String,
    /// Previous entry block's key MR (64 zeros for the first).
    pub prevkeymr: String,
    /// Directory block timestamp, seconds.
    pub timestamp: i64,
    /// Directory block height containing it.
    pub dbheight: i64,
}

/// One entry of an entry block listing.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EntryBlockItem {
    /// Entry hash, hex.
    pub entryhash: String,
    /// Seconds (block timestamp + 60 × minute).
    pub timestamp: i64,
}

/// `entry-block`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EntryBlock {
    /// Header.
    pub header: EntryBlockHeader,
    /// Entries in block order (`null` on the wire when empty).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub entrylist: Vec<EntryBlockItem>,
}

/// `entry`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EntryResult {
    /// Chain ID, hex.
    pub chainid: String,
    /// Content, hex.
    pub content: String,
    /// ExtIDs, hex each (`null` on the wire when none).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub extids: Vec<String>,
}

/// A (chain, key MR) pair of a directory block.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DBlockEntry {
    /// Chain ID, hex.
    pub chainid: String,
    /// Key MR of that chain's block, hex.
    pub keymr: String,
}

/// Header of a directory block (`dblock-by-height`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DBlockHeader {
    /// Always 0.
    pub version: i64,
    /// Network id.
    pub networkid: i64,
    /// Body Merkle root, hex.
    pub bodymr: String,
    /// Previous key MR, hex.
    pub prevkeymr: String,
    /// Previous full hash, hex.
    pub prevfullhash: String,
    /// Minutes since the epoch.
    pub timestamp: i64,
    /// Height.
    pub dbheight: i64,
    /// Number of entries.
    pub blockcount: i64,
    /// The directory-block chain ID.
    pub chainid: String,
}

/// The `dblock` object of `dblock-by-height`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DBlock {
    /// Hash, hex.
    pub dbhash: String,
    /// Key MR, hex.
    pub keymr: String,
    /// Header hash (null on old blocks).
    #[serde(default)]
    pub headerhash: Option<String>,
    /// Header.
    pub header: DBlockHeader,
    /// Admin, EC and factoid blocks, then one per user chain.
    pub dbentries: Vec<DBlockEntry>,
}

/// `dblock-by-height`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DBlockByHeight {
    /// The block.
    pub dblock: DBlock,
    /// Binary block, hex (absent with `noraw`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rawdata: Option<String>,
}

fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}
