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

pub use hub::{CurrentJob, Hub, JobCounts, MinerWork};
pub use listener::serve;

use protocol::Secret;
use std::time::Duration;

/// Limits and timings of the listener.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The farm's shared secret; `None` turns authentication off (a warning is logged).
    pub secret: Option<Secret>,
    /// Connections at once.
    pub max_connections: usize,
    /// A socket must authenticate within this.
    pub auth_timeout: Duration,
    /// Failed authentications from one address before it is banned.
    pub ban_after: u32,
    /// How long a ban lasts.
    pub ban_for: Duration,
    /// Records a miner may submit per block.
    pub records_per_miner: usize,
    /// TLS (`wss://`) for every miner's socket; `None`: plain `ws://`.
    pub tls: Option<crate::tls::ServerTls>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            secret: None,
            max_connections: 256,
            auth_timeout: Duration::from_secs(10),
            ban_after: 5,
            ban_for: Duration::from_secs(600),
            records_per_miner: 10,
            tls: None,
        }
    }
}
