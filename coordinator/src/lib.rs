//! # coordinator
//!
//! The PegNet farm coordinator as a library: everything `netcoordinator` (the daemon, in the
//! `netcoordinator` crate) runs, without the command line, the devnet or the miner. It builds
//! without OpenCL and without a simulated node.
//!
//! How a block flows through it, following factomd's minutes:
//!
//! * [`daemon`] wires the pieces together: it opens the [`store`], loads the LXRHash table, binds
//!   the miners' listener ([`server`]), starts factom's minute monitor and the block engine, and
//!   runs until Ctrl-C. [`config`] is its TOML configuration, checked before anything starts.
//! * [`server`] is the miners' side: a WebSocket listener that authenticates each miner with the
//!   farm secret (the `protocol` crate), refuses strangers (limits, bans), relays the job, minute
//!   and stop events, and checks every submission as it arrives.
//! * [`engine`] is driven by the minutes. At minute 1 it plans the block ([`block`]: grade the
//!   previous block from factomd to learn its winners, take the prices from the `prices` oracle,
//!   estimate the minimum difficulty worth paying for) and broadcasts the job; at minute 9 it
//!   stops the miners, keeps the best verified records and pays for them.
//! * [`verify`] is how a submission is checked: each record is rebuilt from the job and the
//!   miner's own identity and coinbase, and its LXRHash recomputed, before it can be paid.
//! * [`store`] is the durable record (SQLite) of every entry the coordinator decided to pay for
//!   and how far paying has got; [`payer`] commits and reveals them exactly once, across crashes
//!   and node outages.
//! * [`telemetry`] is the live picture of the farm (miners, rates, node and price health, the
//!   Prometheus metrics) that [`http`] serves to operators: the JSON API, `/metrics` and the
//!   dashboard. The store keeps the per-block history behind `GET /api/blocks`.
//! * [`alerts`] sends the `[[alerts]]` webhooks: the same conditions as the Prometheus rules in
//!   `config/prometheus/`, judged on the telemetry, once per incident and when it clears.

#![warn(missing_docs)]

pub mod alerts;
pub mod block;
pub mod config;
pub mod daemon;
pub mod engine;
pub mod http;
pub mod payer;
pub mod roster;
pub mod server;
pub mod store;
pub mod telemetry;
pub mod tls;
pub mod verify;
