//! # netminer
//!
//! The miner's connection to its coordinator ([`client`]), usable from the `netminer` binary and
//! in-process (the devnet).

#![warn(missing_docs)]

pub mod client;
pub mod config;
mod rates;
pub mod stats_line;
pub mod table_fetch;
pub mod tls;
