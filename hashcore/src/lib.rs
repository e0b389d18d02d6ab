//! # hashcore
//!
//! Everything a PegNet miner computes locally, bit-exact with PegNet's Go code:
//!
//! * the LXRHash lookup table ([`Table`]): generated as `pegnet/LXRHash` does, cached in the same
//!   `~/.lxrhash` file as the Go tools ([`cache`]), verified by SHA-256 before use, held once per
//!   process on transparent huge pages ([`memory`]);
//! * LXRHash itself, one input at a time ([`Table::hash`], the reference) and interleaved over many
//!   nonces ([`BatchHasher`], the fast path), and over many unrelated records ([`RecordHasher`],
//!   the coordinator's verification);
//! * mining arithmetic: [`difficulty()`](difficulty::difficulty), PegNet's nonce layout
//!   ([`Nonce`]), the top-N ranking ([`TopN`]) and the minimum-difficulty estimate;
//! * mining backends behind one trait ([`MiningBackend`]): the CPU backend ([`CpuBackend`]) and the
//!   OpenCL backend (`opencl::OpenClBackend`, with the `opencl` feature), bit-identical to it.
//!
//! The spec these follow is `pegnet-opr.md` (§1 LXRHash, §2 mining).

#![warn(missing_docs)]

pub mod backend;
pub mod batch;
pub mod bench;
pub mod cache;
pub mod cpu;
pub mod devices;
pub mod difficulty;
pub mod error;
mod hash;
pub mod job;
pub mod memory;
pub mod nonce;
#[cfg(feature = "opencl")]
pub mod opencl;
pub mod params;
pub mod records;
pub mod table;
pub mod topn;
mod workers;

pub use backend::{CombinedBackend, MiningBackend};
pub use batch::BatchHasher;
pub use cache::{load_or_build, Progress, TableOptions, TableOrigin, TableReport};
pub use cpu::CpuBackend;
pub use difficulty::difficulty;
pub use error::{Error, Result};
pub use job::{Job, LatestJob};
pub use nonce::Nonce;
pub use params::HASH_SIZE;
pub use records::RecordHasher;
pub use table::Table;
pub use topn::{Found, TopN};
