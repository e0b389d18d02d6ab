//! # factom
//!
//! What a PegNet coordinator needs from Factom (spec `factom-node.md`):
//!
//! * [`address`]: EC/Es/FA/Fs addresses and keys;
//! * [`entry`]: entries, entry hashes, chain IDs, costs;
//! * [`commit`]: the signed commit-entry message and the reveal payload;
//! * [`client`]: a factomd JSON-RPC client ([`FactomdClient`]) and [`walletd`]'s `address` call;
//! * [`monitor`]: block/minute events from `current-minute`, never exiting on node trouble;
//!
//! The simulated factomd used by the tests and the devnet lives in its own crate, `factomd-sim`,
//! so this library builds no HTTP server.

#![warn(missing_docs)]

pub mod address;
pub mod client;
pub mod commit;
pub mod entry;
pub mod error;
pub mod monitor;
pub mod rpc;
pub mod transport;
pub mod types;
pub mod walletd;

pub use address::{EcAddress, EcSecret, FactoidAddress, FactoidSecret};
pub use client::{CommitOutcome, FactomdClient};
pub use commit::{compose, Commit, ComposedEntry};
pub use entry::{chain_id, Entry, Hash32};
pub use error::{AddressError, CommitError, EntryError};
pub use monitor::{Monitor, MonitorConfig, MonitorEvent};
pub use transport::{ClientError, RpcConfig};
pub use walletd::WalletdClient;

/// The OPR chain ID of a PegNet network name (`"MainNet"`, `"TestNet-pM7"`, `"devnet"`, …).
pub fn opr_chain_id(network: &str) -> Hash32 {
    chain_id(&[
        b"PegNet".as_slice(),
        network.as_bytes(),
        b"OraclePriceRecords",
    ])
}
