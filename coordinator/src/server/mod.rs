//! The miners' side of the coordinator: a WebSocket listener that authenticates miners, relays the
//! block's job, minute and stop events, and checks their submissions as they arrive.
//!
//! * [`listener`](serve): accepts sockets, applies the connection limit and bans addresses
//!   that keep failing to authenticate;
//! * `connection`: one miner's connection: the WebSocket upgrade, the mutual authentication,
//!   then relaying broadcasts to it and answering its messages;
//! * [`Hub`]: the only owner of the current job and of each miner's verified work for it,
//!   shared by the connections and the block engine.
//!
//! Each connection is its own task; a stalled miner only ever blocks itself (broadcasts go through a
//! bounded channel whose slow receivers lag and are told so, never the sender).

mod connection;
mod hub;
mod listener;
mod relay;
mod submission;
mod table_serve;

pub use hub::{CurrentJob, Footprint, Hub, JobCounts, MinerWork, MAX_WORKERS};
pub use listener::serve;
pub use relay::{stats_of, RelayedSubmission};

use protocol::Secret;
use std::time::Duration;

/// Limits and timings of the listener.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The farm's shared secret; `None` turns authentication off (a warning is logged).
    pub secret: Option<Secret>,
    /// Authenticated miners at once.
    pub max_connections: usize,
    /// Pending handshakes (sockets not yet upgraded and authenticated) at once; when full, the
    /// oldest of the address holding the most is dropped to admit a new one.
    pub max_pending: usize,
    /// Pending handshakes from one address at once; a socket over it is closed at once.
    pub max_pending_per_ip: usize,
    /// A socket must upgrade to WebSocket and authenticate within this.
    pub auth_timeout: Duration,
    /// Failed handshakes (wrong secret, timeout, malformed) from one address, within `ban_for`
    /// of each other, before it is banned.
    pub ban_after: u32,
    /// How long a ban lasts.
    pub ban_for: Duration,
    /// Records a miner may submit per block.
    pub records_per_miner: usize,
    /// How often each miner is sent a `ping`.
    pub ping_every: Duration,
    /// A miner silent this long (no frame at all, pongs included) is disconnected.
    pub idle_timeout: Duration,
    /// Threads hashing submissions (0: one per CPU).
    pub verify_threads: usize,
    /// Submissions with refusals that an honest miner never causes (over the limit, a wrong
    /// difficulty, a too-long nonce, a duplicate) a connection may send before it is closed.
    pub max_bad_submissions: u32,
    /// TLS (`wss://`) for every miner's socket; `None`: plain `ws://`.
    pub tls: Option<crate::tls::ServerTls>,
    /// Table copies served to miners at once (0: the table is never served).
    pub max_table_transfers: usize,
    /// Identities allowed to relay other miners' records (`netcoordinator relay --name`); their
    /// connections are not throttled.
    pub relays: Vec<String>,
    /// The secret relays authenticate with instead of the farm secret (`None`: the farm secret,
    /// so any box that knows it could claim a relay's name).
    pub relay_secret: Option<Secret>,
}

impl ServerConfig {
    /// Most miners with work for one job, and most miners the telemetry lists: four times the
    /// connection limit (identities come and go); past it, entries of miners that are gone (and,
    /// for work, had nothing accepted) are dropped.
    pub fn max_work_entries(&self) -> usize {
        self.max_connections.saturating_mul(4).max(16)
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            secret: None,
            max_connections: 256,
            max_pending: 256,
            max_pending_per_ip: 16,
            auth_timeout: Duration::from_secs(5),
            ban_after: 5,
            ban_for: Duration::from_secs(600),
            records_per_miner: 10,
            ping_every: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(45),
            verify_threads: 0,
            max_bad_submissions: 3,
            tls: None,
            max_table_transfers: 2,
            relays: Vec::new(),
            relay_secret: None,
        }
    }
}
