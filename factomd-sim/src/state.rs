//! The simulated node's state: clock, balances, chains, commits, reveals and blocks.
//!
//! Time is passed in explicitly (`now`), so the logic is testable without waiting. Blocks are closed
//! lazily: every call first catches up with the clock, saving each finished block's entry blocks.

use factom::address::EcAddress;
use factom::commit::Commit;
use factom::entry::{chain_id, hash_marshalled, ksize, Entry, Hash32};
use factom::rpc::{self, RpcError};
use factom::types::*;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Network id the simulator reports (factomd's LOCAL network).
pub const LOCAL_NETWORK_ID: i64 = 0xFA92_E5A4;

/// The PegNet chains the simulator starts with: (ExtIDs of the first entry).
pub const PREMADE_CHAINS: [[&str; 3]; 4] = [
    ["PegNet", "MainNet", "OraclePriceRecords"],
    ["PegNet", "TestNet-pM7", "OraclePriceRecords"],
    ["PegNet", "TestNet", "OraclePriceRecords"],
    ["PegNet", "devnet", "OraclePriceRecords"],
];

/// Simulator settings.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Length of a directory block (a minute is a tenth of it).
    pub block_time: Duration,
    /// Height of the block being built when the simulator starts.
    pub start_height: u32,
    /// EC balances to start with.
    pub funded: Vec<(EcAddress, i64)>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            block_time: Duration::from_secs(600),
            start_height: 300_000,
            funded: Vec::new(),
        }
    }
}

struct Chain {
    head: Option<Hash32>,
    seq: u32,
    prev_full: Hash32,
}

struct HeldCommit {
    bytes: Vec<u8>,
    credits: u8,
    key: EcAddress,
    paid: bool,
    used: bool,
}

struct EBlockData {
    chain: Hash32,
    seq: u32,
    prev: Hash32,
    dbheight: u32,
    timestamp: i64,
    items: Vec<(Hash32, i64)>,
}

struct DBlockData {
    height: u32,
    keymr: Hash32,
    prev: Hash32,
    timestamp_min: i64,
    entries: Vec<(Hash32, Hash32)>,
}

/// The node's state.
pub struct SimState {
    cfg: SimConfig,
    origin: Instant,
    origin_unix_ns: i64,
    /// Time the clock spent frozen (stall fault), excluded from the node's time.
    frozen_total: Duration,
    frozen_since: Option<Instant>,
    building: u32,
    balances: HashMap<[u8; 32], i64>,
    chains: HashMap<Hash32, Chain>,
    entries: HashMap<Hash32, Entry>,
    commits: HashMap<Hash32, HeldCommit>,
    held_reveals: HashMap<Hash32, (Entry, usize)>,
    eblocks: HashMap<Hash32, EBlockData>,
    dblocks: Vec<DBlockData>,
    pending: BTreeMap<Hash32, Vec<(Hash32, u8)>>,
}

fn bad_hash() -> RpcError {
    RpcError::with_data(rpc::INVALID_PARAMS, "Invalid params", "Invalid Hash")
}

fn sha(parts: &[&[u8]]) -> Hash32 {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// Merkle root as factomd computes it: pairs hashed, an odd last node paired with itself.
fn merkle_root(leaves: &[Hash32]) -> Hash32 {
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

fn minute_marker(m: u8) -> Hash32 {
    let mut h = [0u8; 32];
    h[31] = m;
    h
}

impl SimState {
    /// A node at `cfg.start_height`, with the PegNet chains created in the block before.
    pub fn new(cfg: SimConfig, now: Instant) -> SimState {
        let origin_unix_ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64);
        let start = cfg.start_height.max(1);
        let mut s = SimState {
            origin: now,
            origin_unix_ns,
            frozen_total: Duration::ZERO,
            frozen_since: None,
            building: start - 1,
            balances: cfg.funded.iter().map(|(k, v)| (k.0, *v)).collect(),
            chains: HashMap::new(),
            entries: HashMap::new(),
            commits: HashMap::new(),
            held_reveals: HashMap::new(),
            eblocks: HashMap::new(),
            dblocks: Vec::new(),
            pending: BTreeMap::new(),
            cfg: SimConfig {
                start_height: start,
                ..cfg
            },
        };
        for names in PREMADE_CHAINS {
            let ext: Vec<Vec<u8>> = names.iter().map(|n| n.as_bytes().to_vec()).collect();
            let id = chain_id(&ext);
            let e = Entry {
                chain_id: id,
                ext_ids: ext,
                content: b"chain created by the netmine factomd simulator".to_vec(),
            };
            if let Ok(m) = e.marshal() {
                let h = hash_marshalled(&m);
                s.chains.insert(
                    id,
                    Chain {
                        head: None,
                        seq: 0,
                        prev_full: [0; 32],
                    },
                );
                s.entries.insert(h, e);
                s.pending.entry(id).or_default().push((h, 0));
            }
        }
        s.close_block();
        s
    }

    fn block_time(&self) -> Duration {
        self.cfg.block_time.max(Duration::from_millis(10))
    }

    /// Node time since the simulator started (stops while stalled).
    fn elapsed(&self, now: Instant) -> Duration {
        let at = self.frozen_since.unwrap_or(now);
        at.saturating_duration_since(self.origin)
            .saturating_sub(self.frozen_total)
    }

    /// (height being built, minute, start of block, start of minute) at `now`.
    fn clock(&self, now: Instant) -> (u32, u8, Duration, Duration) {
        let e = self.elapsed(now);
        let bt = self.block_time();
        let k = (e.as_nanos() / bt.as_nanos()) as u32;
        let block_start = bt * k;
        let minute = (((e - block_start).as_nanos() * 10) / bt.as_nanos()).min(9) as u8;
        let minute_start = block_start + bt * minute as u32 / 10;
        (self.cfg.start_height + k, minute, block_start, minute_start)
    }

    /// Saves every block that ended before `now`.
    pub fn advance(&mut self, now: Instant) {
        let (target, ..) = self.clock(now);
        while self.building < target {
            self.close_block();
        }
    }

    /// Freezes or resumes the clock (stall fault).
    pub fn set_stalled(&mut self, stalled: bool, now: Instant) {
        match (stalled, self.frozen_since) {
            (true, None) => {
                self.advance(now);
                self.frozen_since = Some(now);
            }
            (false, Some(since)) => {
                self.frozen_total += now.saturating_duration_since(since);
                self.frozen_since = None;
            }
            _ => {}
        }
    }

    fn unix_ns(&self, offset: Duration) -> i64 {
        self.origin_unix_ns + offset.as_nanos() as i64
    }

    fn block_unix_secs(&self, height: u32) -> i64 {
        let k = height.saturating_sub(self.cfg.start_height);
        let offset = self.block_time() * k;
        let s = self.unix_ns(offset) / 1_000_000_000;
        if height < self.cfg.start_height {
            s - self.block_time().as_secs() as i64
        } else {
            s
        }
    }

    fn close_block(&mut self) {
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
            let mut body = Vec::new();
            let mut listed = Vec::new();
            let mut minute = 0u8;
            for (h, m) in &items {
                while minute < *m {
                    minute += 1;
                    body.push(minute_marker(minute));
                }
                body.push(*h);
                listed.push((*h, ts + 60 * (*m as i64 + 1)));
            }
            body.push(minute_marker(minute + 1));
            let body_mr = merkle_root(&body);
            let prev = c.head.unwrap_or([0; 32]);
            let mut header = Vec::with_capacity(140);
            header.extend_from_slice(&chain);
            header.extend_from_slice(&body_mr);
            header.extend_from_slice(&prev);
            header.extend_from_slice(&c.prev_full);
            header.extend_from_slice(&c.seq.to_be_bytes());
            header.extend_from_slice(&height.to_be_bytes());
            header.extend_from_slice(&(body.len() as u32).to_be_bytes());
            let keymr = sha(&[&sha(&[&header]), &body_mr]);
            let full: Vec<u8> = header
                .iter()
                .copied()
                .chain(body.iter().flatten().copied())
                .collect();
            self.eblocks.insert(
                keymr,
                EBlockData {
                    chain,
                    seq: c.seq,
                    prev,
                    dbheight: height,
                    timestamp: ts,
                    items: listed,
                },
            );
            c.head = Some(keymr);
            c.seq += 1;
            c.prev_full = sha(&[&full]);
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

    /// `current-minute`.
    pub fn current_minute(&mut self, now: Instant) -> CurrentMinute {
        self.advance(now);
        let (height, minute, block_start, minute_start) = self.clock(now);
        let minute_len = self.block_time() / 10;
        let stalled = self.frozen_since.is_some()
            && now.saturating_duration_since(self.origin)
                > minute_start + self.frozen_total + minute_len * 3 / 2;
        let saved = height as i64 - 1;
        CurrentMinute {
            leaderheight: saved,
            directoryblockheight: saved,
            minute: minute as i64,
            currentblockstarttime: self.unix_ns(block_start),
            currentminutestarttime: self.unix_ns(minute_start),
            currenttime: self.unix_ns(self.elapsed(now)),
            directoryblockinseconds: self.block_time().as_secs().max(1) as i64,
            stalldetected: stalled,
            faulttimeout: 120,
            roundtimeout: 30,
        }
    }

    /// `heights`.
    pub fn heights(&mut self, now: Instant) -> Heights {
        self.advance(now);
        let saved = self.building as i64 - 1;
        Heights {
            directoryblockheight: saved,
            leaderheight: saved,
            entryblockheight: saved,
            entryheight: saved,
        }
    }

    /// Adds credits to an EC key, paying any commit that was waiting for them.
    pub fn fund(&mut self, key: &EcAddress, credits: i64, now: Instant) {
        self.advance(now);
        *self.balances.entry(key.0).or_default() += credits;
        let waiting: Vec<Hash32> = self
            .commits
            .iter()
            .filter(|(_, c)| !c.paid && c.key == *key)
            .map(|(h, _)| *h)
            .collect();
        for h in waiting {
            self.try_pay(&h);
            self.try_land(&h, now);
        }
    }

    /// `entry-credit-balance`.
    pub fn balance(&self, key: &[u8; 32]) -> i64 {
        self.balances.get(key).copied().unwrap_or(0)
    }

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

    fn try_pay(&mut self, h: &Hash32) {
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
    fn try_land(&mut self, h: &Hash32, now: Instant) {
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

    /// `chain-head`.
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

    /// `entry-block`.
    pub fn entry_block(&mut self, keymr: &Hash32, now: Instant) -> Result<EntryBlock, RpcError> {
        self.advance(now);
        let b = self
            .eblocks
            .get(keymr)
            .ok_or_else(|| RpcError::new(rpc::NOT_FOUND, "Block not found"))?;
        Ok(EntryBlock {
            header: EntryBlockHeader {
                blocksequencenumber: b.seq as i64,
                chainid: hex::encode(b.chain),
                prevkeymr: hex::encode(b.prev),
                timestamp: b.timestamp,
                dbheight: b.dbheight as i64,
            },
            entrylist: b
                .items
                .iter()
                .map(|(h, t)| EntryBlockItem {
                    entryhash: hex::encode(h),
                    timestamp: *t,
                })
                .collect(),
        })
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

    /// `dblock-by-height`.
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

    /// The (height being built, minute) now.
    pub fn height_and_minute(&mut self, now: Instant) -> (u32, u8) {
        self.advance(now);
        let (h, m, ..) = self.clock(now);
        (h, m)
    }

    /// Parses a 64-hex-character hash parameter.
    pub fn parse_hash(s: &str) -> Result<Hash32, RpcError> {
        if s.len() != 64 {
            return Err(bad_hash());
        }
        hex::decode(s)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(bad_hash)
    }
}

fn chain_const(last: u8) -> Hash32 {
    let mut h = [0u8; 32];
    h[31] = last;
    h
}
