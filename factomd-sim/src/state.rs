//! The simulated node's state and its clock: the height and minute at any instant, the stall
//! fault, `current-minute`, `heights` and EC balances. What happens to entries is in `entries.rs`,
//! how blocks are closed and read back in `blocks.rs`.
//!
//! Time is passed in explicitly (`now`), so the logic is testable without waiting. Blocks are closed
//! lazily: every call first catches up with the clock, saving each finished block's entry blocks.

use crate::blocks::{Chain, DBlockData, EBlockData};
use crate::entries::HeldCommit;
use factom::address::EcAddress;
use factom::entry::{chain_id, hash_marshalled, Entry, Hash32};
use factom::rpc::{self, RpcError};
use factom::types::*;
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

/// Simulator settings: block length, starting height and funded EC addresses. The default is
/// mainnet timing (600 s blocks) at height 300 000 with nothing funded.
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

/// The simulated node's state: its clock, chains, entries, held commits and reveals, saved
/// blocks and EC balances. Every query first saves the blocks that ended before `now`.
pub struct SimState {
    pub(crate) cfg: SimConfig,
    pub(crate) origin: Instant,
    pub(crate) origin_unix_ns: i64,
    /// Time the clock spent frozen (stall fault), excluded from the node's time.
    pub(crate) frozen_total: Duration,
    pub(crate) frozen_since: Option<Instant>,
    pub(crate) building: u32,
    pub(crate) balances: HashMap<[u8; 32], i64>,
    pub(crate) chains: HashMap<Hash32, Chain>,
    pub(crate) entries: HashMap<Hash32, Entry>,
    pub(crate) commits: HashMap<Hash32, HeldCommit>,
    pub(crate) held_reveals: HashMap<Hash32, (Entry, usize)>,
    pub(crate) eblocks: HashMap<Hash32, EBlockData>,
    pub(crate) dblocks: Vec<DBlockData>,
    pub(crate) pending: BTreeMap<Hash32, Vec<(Hash32, u8)>>,
}

fn bad_hash() -> RpcError {
    RpcError::with_data(rpc::INVALID_PARAMS, "Invalid params", "Invalid Hash")
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

    pub(crate) fn block_time(&self) -> Duration {
        self.cfg.block_time.max(Duration::from_millis(10))
    }

    /// Node time since the simulator started (stops while stalled).
    pub(crate) fn elapsed(&self, now: Instant) -> Duration {
        let at = self.frozen_since.unwrap_or(now);
        at.saturating_duration_since(self.origin)
            .saturating_sub(self.frozen_total)
    }

    /// (height being built, minute, start of block, start of minute) at `now`.
    pub(crate) fn clock(&self, now: Instant) -> (u32, u8, Duration, Duration) {
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

    pub(crate) fn unix_ns(&self, offset: Duration) -> i64 {
        self.origin_unix_ns + offset.as_nanos() as i64
    }

    pub(crate) fn block_unix_secs(&self, height: u32) -> i64 {
        let k = height.saturating_sub(self.cfg.start_height);
        let offset = self.block_time() * k;
        let s = self.unix_ns(offset) / 1_000_000_000;
        if height < self.cfg.start_height {
            s - self.block_time().as_secs() as i64
        } else {
            s
        }
    }

    /// Answers `current-minute`: the block and minute from the simulator's clock, with
    /// `leaderheight == directoryblockheight` (the last saved block) and `stalldetected` set only
    /// while a stall fault has frozen the current minute for over 1.5 minute lengths.
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

    /// Answers `heights`: every field is the last saved block (no download lag is simulated).
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

    /// The EC balance of the raw public key `key`, as `entry-credit-balance` reports it; 0 for a
    /// key never funded. A commit is debited as soon as the balance covers it, not when its block
    /// is saved.
    pub fn balance(&self, key: &[u8; 32]) -> i64 {
        self.balances.get(key).copied().unwrap_or(0)
    }

    /// The (height being built, minute) now.
    pub fn height_and_minute(&mut self, now: Instant) -> (u32, u8) {
        self.advance(now);
        let (h, m, ..) = self.clock(now);
        (h, m)
    }

    /// Node time from `now` until minute `minute` of block `height` starts (zero when it has
    /// started already). With a manual clock, advancing it by this much puts the node at the
    /// start of that minute; while stalled the node's time does not move, so no advance reaches it.
    pub fn time_until(&self, height: u32, minute: u8, now: Instant) -> Duration {
        let bt = self.block_time().as_nanos();
        let k = u128::from(height.saturating_sub(self.cfg.start_height));
        // Rounded up, so that the minute computed back from it (rounded down) is `minute`.
        let target = bt * k + (bt * u128::from(minute.min(9))).div_ceil(10);
        let left = target.saturating_sub(self.elapsed(now).as_nanos());
        Duration::from_nanos(u64::try_from(left).unwrap_or(u64::MAX))
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
