//! # netminer
//!
//! The miner: it mines what comes down its link to a coordinator ([`client`], one session at a
//! time in `session`), usable from the `netminer` binary and in-process (the devnet). Everything
//! about the link itself (addresses, TLS, the handshake, failover, the table copy) is the
//! `netmine-link` crate, which the relay shares.

#![warn(missing_docs)]

pub mod client;
pub mod config;
pub mod control;
mod health;
mod rates;
pub mod sensors;
mod session;
pub mod stats_line;
