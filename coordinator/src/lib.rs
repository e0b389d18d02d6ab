//! # coordinator
//!
//! The netcoordinator's logic, separate from its daemon: planning a block's job ([`block`]) with
//! its prices (from the `prices` crate's oracle), block files for `grade`, the checks on
//! miners' submissions ([`verify`]), the durable record of entries to pay for ([`store`]) and
//! paying for them ([`payer`]).

#![warn(missing_docs)]

pub mod block;
pub mod config;
pub mod daemon;
pub mod engine;
pub mod payer;
pub mod server;
pub mod store;
pub mod verify;
