//! # prices
//!
//! The coordinator's price oracle, after PegNet's `polling/` package (spec `factom-node.md` §9):
//!
//! * [`sources`]: one module per data source behind the [`PriceSource`] trait; each only says
//!   which request to make and how to read the answer ([`http`] runs it).
//! * [`config`]: the `[prices]` section — priorities, per-asset overrides, keys, timeouts —
//!   checked at load.
//! * [`breaker`]: a circuit breaker per source, on a [`breaker::Clock`] tests can drive.
//! * [`select`]: PegNet's choice among the prices (V5 trimmed mean and band) and truncation.
//! * [`oracle`]: polls, remembers each source's last good quotes with their age, and
//!   [`report`]s, refusing to produce a record with any asset missing or insane.
//!
//! The local HTTP server speaking every source's JSON (for tests and for trying
//! `netcoordinator prices` offline) is the `prices-fixture` crate, so this library builds no server.

#![warn(missing_docs)]

pub mod breaker;
pub mod config;
pub mod http;
pub mod oracle;
pub mod quote;
pub mod report;
pub mod select;
pub mod source;
pub mod sources;
pub mod symbols;

pub use config::{PriceConfigError, PricesConfig};
pub use oracle::Oracle;
pub use quote::{Quote, Quotes, SourceError};
pub use report::{PriceError, Report};
pub use source::PriceSource;
