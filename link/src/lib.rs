//! # netmine-link
//!
//! The client side of netmine's protocol, for everything that links to a coordinator: the
//! `netminer` (which mines what comes down the link) and the `netcoordinator relay` (which passes
//! it on to its own miners). Both hold the same kind of link, so they share this crate and
//! nothing else: it knows no mining backend and no coordinator internals.
//!
//! One file per concept, in the order a link is made:
//!
//! * [`addr`]: a coordinator's address ([`CoordinatorAddr`]), parsed once from `host:port`,
//!   `ws://…` or `wss://…`.
//! * [`config`]: what a link needs ([`LinkConfig`]) and the one check of its identity and
//!   coinbase.
//! * [`key_file`]: the box's own signing key on disk, made on first start; it signs every
//!   handshake so the coordinator knows this box from any other that knows the farm secret.
//! * [`tls`]: which `wss://` coordinators to trust (pinned certificate, CA file, system roots).
//! * [`connect`]: one connection and the client side of the handshake, within a deadline, and
//!   [`send`] / [`recv`] over the authenticated session.
//! * [`failover`]: keeping the link up along the list of coordinators ([`Dialer`]): backoff
//!   with jitter, refusals remembered, failback to the preferred coordinator.
//! * [`table_fetch`]: copying the LXRHash table from the coordinator.

#![warn(missing_docs)]

pub mod addr;
pub mod config;
pub mod connect;
pub mod failover;
pub mod key_file;
pub mod table_fetch;
pub mod tls;

pub use addr::{AddrError, CoordinatorAddr};
pub use config::{LinkConfig, REFUSED_RETRY_AFTER};
pub use connect::{open_session, recv, send, ConnectError, LinkError, Opened, Ws};
pub use failover::{AllRefused, Dialer, DialerError, Ended, Linked};
pub use tls::TlsTrust;
