//! # factom
//!
//! What a PegNet coordinator needs from Factom (spec `factom-node.md`):
//!
//! * [`address`]: EC/Es/FA/Fs addresses and keys;
//! * [`entry`]: entries, entry hashes, chain IDs, costs;
//! * [`eblock`]: entry blocks' binary form, body Merkle root, key MR and minute markers;
//! * [`check`]: checking what a node serves against what was asked for ([`NodeFault`]), and the
//!   budget of one block's fetch;
//! * [`commit`]: the signed commit-entry message and the reveal payload;
//! * `client` (feature `client`): a factomd JSON-RPC client (`FactomdClient`) and `walletd`'s
//!   `address` call, over `transport` (reqwest with rustls);
//! * `monitor` (feature `client`): block/minute events from `current-minute`, never exiting on
//!   node trouble;
//! * [`rpc`] and [`types`]: the JSON-RPC envelope and factomd's result shapes (no I/O).
//!
//! Without the `client` feature the crate is pure encoding (what `pegnet` needs): no HTTP client,
//! no async runtime.
//!
//! The simulated factomd used by the tests and the devnet lives in its own crate, `factomd-sim`,
//! so this library builds no HTTP server.

#![warn(missing_docs)]

pub mod address;
pub mod check;
#[cfg(feature = "client")]
pub mod client;
pub mod commit;
pub mod eblock;
pub mod entry;
pub mod error;
#[cfg(feature = "client")]
pub mod monitor;
pub mod rpc;
#[cfg(feature = "client")]
pub mod transport;
pub mod types;
#[cfg(feature = "client")]
pub mod walletd;

pub use address::{EcAddress, EcSecret, FactoidAddress, FactoidSecret};
pub use check::{FetchBudget, NodeFault};
#[cfg(feature = "client")]
pub use client::{CommitOutcome, FactomdClient, FetchError};
pub use commit::{compose, Commit, ComposedEntry};
pub use entry::{chain_id, Entry, Hash32};
pub use error::{AddressError, CommitError, EBlockError, EntryError};
#[cfg(feature = "client")]
pub use monitor::{Monitor, MonitorConfig, MonitorEvent};
#[cfg(feature = "client")]
pub use transport::{ClientError, RpcConfig};
#[cfg(feature = "client")]
pub use walletd::WalletdClient;

/// The OPR chain ID of a PegNet network name (`"MainNet"`, `"TestNet-pM7"`, `"devnet"`, …).
pub fn opr_chain_id(network: &str) -> Hash32 {
    chain_id(&[
        b"PegNet".as_slice(),
        network.as_bytes(),
        b"OraclePriceRecords",
    ])
}
