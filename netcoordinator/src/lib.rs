//! # netcoordinator
//!
//! The `netcoordinator` binary's own library: the pieces that tie the coordinator (the
//! `coordinator` crate) to things a farm's daemon never needs, kept out of that library so it
//! builds without the miner, OpenCL or a simulated node.
//!
//! * `devnet` (feature `devnet`, on by default): the whole system in one process on loopback (a
//!   simulated factomd, the coordinator and in-process netminers), behind `netcoordinator devnet`;
//! * [`relay`]: a site's relay, a coordinator to its own miners linked to an upstream that pays.

#[cfg(feature = "devnet")]
pub mod devnet;
pub mod relay;
