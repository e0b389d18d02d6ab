//! Result shapes of the factomd methods the coordinator uses (spec `factom-node.md` §2), shared by
//! the client (to parse) and the simulator (to produce).
//!
//! Field names are factomd's JSON keys, all lowercase and unseparated, so the structs
//! (de)serialize as they are. Integers are JSON numbers read as `i64`: nanosecond timestamps are
//! about 1.6e18, too large for an `f64` to hold exactly. Hashes, chain IDs, key MRs and payloads
//! are lowercase hex strings, kept as strings here; callers decode them where they need bytes.

use serde::{Deserialize, Serialize};

/// Result of `current-minute` (spec §2.1): where the node is inside the block it is building.
///
/// This is what the minute monitor polls about once a second. The block being built is
/// `directoryblockheight + 1`; consumers act on minute 1 (start mining) and minute 9 (submit).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CurrentMinute {
    /// The node's leader height, computed from its process lists. In steady state it equals
    /// `directoryblockheight`, the last completed block; the monitor ignores it.
    pub leaderheight: i64,
    /// Highest directory block saved to the node's database; the block being built is this + 1.
    /// During minute 0 (and the transient minute 10) it may still lag one block behind.
    pub directoryblockheight: i64,
    /// Minute of the block being built, 0..=9 (briefly 10).
    pub minute: i64,
    /// Unix time in nanoseconds when the current block (its minute 0) started.
    pub currentblockstarttime: i64,
    /// Unix time in nanoseconds when the current minute started; 0 while the node is syncing.
    pub currentminutestarttime: i64,
    /// Unix time in nanoseconds at the node when it answered.
    pub currenttime: i64,
    /// Block length in seconds (600 on mainnet; a LOCAL network or the simulator use their own
    /// setting). A minute is a tenth of this.
    pub directoryblockinseconds: i64,
    /// True when the node thinks it is stalled: the saved height is more than 3 behind the
    /// leader height, or the current minute has lasted over 1.5 minute lengths (spec §3.3).
    /// Always false while syncing. pegnet never reads it.
    pub stalldetected: bool,
    /// The node's fault timeout in seconds (default 120); reported, not used by netmine.
    pub faulttimeout: i64,
    /// The node's election round timeout in seconds (default 30); reported, not used by netmine.
    pub roundtimeout: i64,
}

/// Result of `heights` (spec §2.2): the node's saved and processed heights.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Heights {
    /// Highest directory block saved to the node's database.
    pub directoryblockheight: i64,
    /// The node's leader height from its process lists; equals `directoryblockheight` in steady
    /// state (see [`CurrentMinute::leaderheight`]).
    pub leaderheight: i64,
    /// Highest saved block as seen by the entry-block store; the same as `directoryblockheight`
    /// on a healthy node.
    pub entryblockheight: i64,
    /// Height up to which all entries have been downloaded and processed; lower than the saved
    /// height while the node is still fetching entries.
    pub entryheight: i64,
}

/// Result of `entry-credit-balance` (spec §2.4).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Balance {
    /// The address's balance as a count of entry credits (not factoshis). This is the real-time
    /// balance: a commit is deducted as soon as the leader processes it, before the block is
    /// saved. An unknown but valid address gives 0, not an error.
    pub balance: i64,
}

/// Result of a successful `commit-entry` (spec §2.5). Success means only that the API checks
/// passed (format, credits 1..=10, signature); the balance is not checked, so an underfunded
/// commit is accepted and held.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CommitResult {
    /// Human-readable status, always "Entry Commit Success"; not needed to detect success.
    pub message: String,
    /// Transaction ID: single SHA-256 of the commit's first 40 bytes (version through
    /// credits), hex. `ack` with chain ID `"c"` looks a commit up by it.
    pub txid: String,
    /// The entry hash the commit pays for (bytes 7..39 of the commit echoed back), hex.
    pub entryhash: String,
}

/// Result of a successful `reveal-entry` (spec §2.6). Only the synchronous checks passed: the
/// entry parses and is at most 10 KiB. Pairing with its commit and the chain's existence are
/// checked later, inside consensus, and a reveal without them waits in holding.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RevealResult {
    /// Human-readable status, always "Entry Reveal Success"; not needed to detect success.
    pub message: String,
    /// Hash of the revealed entry, hex; matches the `entryhash` of its commit.
    pub entryhash: String,
    /// Chain the entry was revealed into, hex.
    pub chainid: String,
}

/// Result of `chain-head` (spec §2.8). An unknown chain with nothing pending is an error
/// (`-32009 Missing Chain Head`), not this struct.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChainHead {
    /// Key MR (hex) of the chain's newest saved entry block, the start of a walk back through
    /// `entry-block` and `prevkeymr`; "" when the chain exists only in the process list.
    pub chainhead: String,
    /// True while the chain has a new or pending entry block in the current or previous process
    /// list, i.e. entries not yet saved in a block.
    pub chaininprocesslist: bool,
}

/// Header of an entry block, the `header` of an `entry-block` result (spec §2.9).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EntryBlockHeader {
    /// 0-based index of this entry block within its chain.
    pub blocksequencenumber: i64,
    /// Chain the entry block belongs to, hex.
    pub chainid: String,
    /// Key MR of the same chain's previous entry block, hex; 64 zeros for the chain's first
    /// block, where a walk back stops.
    pub prevkeymr: String,
    /// Timestamp of the directory block containing it, in Unix seconds (the directory block
    /// header stores minutes; factomd multiplies by 60).
    pub timestamp: i64,
    /// Height of the directory block containing this entry block.
    pub dbheight: i64,
}

/// One entry of an entry block listing (`entrylist` of `entry-block`). Minute markers are not
/// listed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EntryBlockItem {
    /// Entry hash, hex; fetch the entry itself with `entry`.
    pub entryhash: String,
    /// Unix seconds: the block timestamp + 60 × the number of the minute marker that follows the
    /// entry. factomd always counts 60 s per minute, whatever the block length.
    pub timestamp: i64,
}

/// Result of `entry-block` (spec §2.9): one entry block of a chain, looked up by its key MR.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EntryBlock {
    /// The block's chain, sequence number, link to the previous block and heights.
    pub header: EntryBlockHeader,
    /// Entries in block order (`null` on the wire when empty; read as an empty list). Consensus
    /// does not guarantee arrival order within one minute.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub entrylist: Vec<EntryBlockItem>,
}

/// Result of `entry` (spec §2.10). factomd also answers for entries still in its process lists or
/// holding queue, so an entry can be returned before it is in a saved block.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EntryResult {
    /// Chain the entry belongs to, hex.
    pub chainid: String,
    /// The entry's content bytes, hex (for an OPR: its JSON or protobuf encoding).
    pub content: String,
    /// External IDs in order, each hex (`null` on the wire when none; read as an empty list). An
    /// OPR entry has three: nonce, difficulty (u64 big-endian) and OPR version (1 byte).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub extids: Vec<String>,
}

/// Result of `raw-data`: the binary form of the block, entry or transaction with that hash (for an
/// entry block's key MR, the header and body of [`crate::eblock`]).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RawData {
    /// The binary form, hex.
    pub data: String,
}

/// One (chain, key MR) pair of a directory block's `dbentries`: which block of which chain was
/// saved at that height.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DBlockEntry {
    /// Chain ID, hex; `00…0a`, `00…0c` and `00…0f` are the admin, EC and factoid chains.
    pub chainid: String,
    /// Key MR of that chain's block at this height, hex (an entry block for a user chain).
    pub keymr: String,
}

/// Header of a directory block, as returned by `dblock-by-height` (spec §2.11).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DBlockHeader {
    /// Block format version; always 0.
    pub version: i64,
    /// The network's ID: MAIN `0xFA92E5A2` (4203931042), TEST `0xFA92E5A3`, LOCAL `0xFA92E5A4`.
    pub networkid: i64,
    /// Merkle root of the block's body (its `dbentries`), hex.
    pub bodymr: String,
    /// Key MR of the previous directory block, hex.
    pub prevkeymr: String,
    /// Hash of the previous directory block's full binary, hex.
    pub prevfullhash: String,
    /// Block timestamp in minutes since the Unix epoch (not seconds; entry blocks report the
    /// same instant × 60).
    pub timestamp: i64,
    /// Height of this directory block.
    pub dbheight: i64,
    /// Number of `dbentries` in the block: the admin, EC and factoid blocks plus one per user
    /// chain.
    pub blockcount: i64,
    /// Chain ID of the directory-block chain, hex (`00…0d`).
    pub chainid: String,
}

/// The `dblock` object of `dblock-by-height` (spec §2.11): one directory block.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DBlock {
    /// Hash of the directory block, hex.
    pub dbhash: String,
    /// Key MR of the directory block, hex: what `directory-block-head` and the next block's
    /// `prevkeymr` refer to.
    pub keymr: String,
    /// Hash of the header, hex; `null` on old blocks, hence optional.
    #[serde(default)]
    pub headerhash: Option<String>,
    /// Version, network, links to the previous block, timestamp and height.
    pub header: DBlockHeader,
    /// Blocks saved at this height: always the admin, EC and factoid blocks first, then one per
    /// user chain that has an entry block at this height.
    pub dbentries: Vec<DBlockEntry>,
}

/// Result of `dblock-by-height` (spec §2.11). An unknown height is an error (`-32008 Block not
/// found`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DBlockByHeight {
    /// The directory block, decoded.
    pub dblock: DBlock,
    /// The block's binary encoding, hex; absent when the request set `"noraw": true`.
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
