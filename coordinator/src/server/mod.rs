//! The miners' side of the coordinator: a WebSocket listener that authenticates miners, relays the
//! block's job, minute and stop events, and checks their submissions as they arrive.
//!
//! * [`listener`](serve): accepts sockets and gives each its own task;
//! * `admission`: who may hold a pending handshake (per address and in all) and which addresses
//!   are banned for failing too often;
//! * `connection`: one socket's life, start to end: `handshake` (the WebSocket upgrade, the
//!   refusals, the mutual authentication) then `session` (relaying broadcasts to the miner and
//!   answering its messages), ending with a typed reason; `outgoing`: a broadcast encoded once
//!   for every session (each seals it with its own MAC);
//! * [`Hub`]: the owner of the server's state (who is connected, and the `book` of the current
//!   job and each miner's verified work for it), shared by the connections and the block engine;
//!   the other files call its methods and never take its lock;
//! * `submission`: checking a submission (the book's cheap checks, the LXRHash on the bounded
//!   pool); `verifier` and `budget`: the pool's priority queue and each block's verification
//!   budget (enrolled identities first; unknown ones share what is left); `relayed`: the upstream's side of relaying (records a relay forwards here) and the
//!   relay's side (forwarding what its hub accepted); `table_serve`: copies of the table;
//!   `control`: remote control of miners (pause, resume, threads, devices, restart; protocol 3).
//!
//! Each connection is its own task; a stalled miner only ever blocks itself (broadcasts go through a
//! bounded channel whose slow receivers lag and are told so, never the sender).

pub(crate) mod admission;
mod book;
mod budget;
#[cfg(test)]
mod budget_load;
mod connection;
mod control;
mod handshake;
mod hub;
mod listener;
mod outgoing;
mod relayed;
mod session;
mod submission;
mod table_limits;
mod table_serve;
mod verifier;

pub use admission::MAX_TRACKED_ADDRESSES;
pub use budget::BudgetView;
pub use control::{ControlDesk, ControlOutcome, ControlReport, CONTROL_WAIT, MAX_WAITING};
pub use hub::{CurrentJob, Footprint, Hub, JobCounts, MinerWork, MAX_WORKERS};
pub use listener::serve;
pub use relayed::{stats_of, RelayedSubmission};
pub use verifier::VerifyStats;

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
    pub max_pending_per_address: usize,
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
    /// links are read at a higher rate than a miner's (all their miners' frames together).
    pub relays: Vec<String>,
    /// The secret relays authenticate with instead of the farm secret (`None`: the farm secret,
    /// so any box that knows it could claim a relay's name).
    pub relay_secret: Option<Secret>,
    /// Per relay, the identities it may speak for (names, or prefixes ending in `*`).
    pub relay_identities: std::collections::BTreeMap<String, Vec<String>>,
    /// How identities join: pinned at first use, or only from the roster.
    pub enroll: crate::roster::Enroll,
    /// Every record is paid to this coinbase, whatever a box states (`None`: each box's own,
    /// within its roster entry's allowed coinbases).
    pub payout: Option<String>,
    /// The farm secret being rotated out, accepted beside `secret` until the Unix second given
    /// (`None`: for as long as it is set).
    pub previous_secret: Option<(Secret, Option<u64>)>,
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
    /// The defaults of [`CoordinatorConfig`](crate::config::CoordinatorConfig) (written once,
    /// there), without a secret or TLS.
    fn default() -> Self {
        crate::config::CoordinatorConfig::default().server_limits()
    }
}
