//! The listener: accepts sockets and hands each one, with its place among the pending handshakes,
//! to its own connection task. Who may take a place, and who is banned, is `admission.rs`'s.
//!
//! Pending handshakes and authenticated miners are counted apart, so strangers can never take the
//! miners' slots: pending ones are capped per source address ([`ServerConfig::max_pending_per_address`];
//! a socket over it is closed at once) and in total ([`ServerConfig::max_pending`]; when full, the
//! oldest pending handshake of the address holding the most is dropped to admit the new one, so
//! a miner arriving from its own address is never the one dropped while others flood). A pending
//! handshake lives at most [`ServerConfig::auth_timeout`].
//!
//! [`ServerConfig::max_pending_per_address`]: super::ServerConfig::max_pending_per_address
//! [`ServerConfig::max_pending`]: super::ServerConfig::max_pending
//! [`ServerConfig::auth_timeout`]: super::ServerConfig::auth_timeout

use super::admission::{Bans, Gate};
use super::connection::connection;
use super::hub::Hub;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Accepts miners until `shutdown` turns true.
pub async fn serve(hub: Arc<Hub>, listener: TcpListener, mut shutdown: watch::Receiver<bool>) {
    let cfg = hub.cfg();
    let gate = Arc::new(Gate::new(cfg.max_pending, cfg.max_pending_per_address));
    let bans = Arc::new(Bans::new(cfg.ban_after, cfg.ban_for));
    let mut backoff = AcceptBackoff::default();
    loop {
        let (stream, addr) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors (or another transient failure): wait and retry; the
                    // pending handshakes time out and free descriptors meanwhile.
                    tokio::time::sleep(backoff.failed(&e)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        backoff.succeeded();
        // Jobs, minutes and stops are small messages that must not wait for Nagle's algorithm.
        let _ = stream.set_nodelay(true);
        let Some(slot) = gate.admit(addr.ip()) else {
            tracing::debug!(%addr, "too many pending handshakes from this address: closed");
            continue;
        };
        let hub = hub.clone();
        let bans = bans.clone();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let end = connection(&hub, &bans, stream, addr, slot, stop).await;
            tracing::debug!(%addr, "connection closed: {end}");
        });
    }
}

/// The accept loop's pause after a failed accept: 10 ms doubling to 1 s, logged once per run of
/// failures (a descriptor shortage would otherwise log thousands of lines a second).
#[derive(Default)]
struct AcceptBackoff {
    failing: u64,
}

impl AcceptBackoff {
    fn failed(&mut self, e: &std::io::Error) -> Duration {
        if self.failing == 0 {
            tracing::warn!("accepting a connection failed: {e} (retrying with backoff; logged once until accepting works again)");
        }
        self.failing += 1;
        Duration::from_millis(10u64 << self.failing.min(7)).min(Duration::from_secs(1))
    }

    fn succeeded(&mut self) {
        if self.failing > 0 {
            tracing::info!(
                "accepting connections again after {} failures",
                self.failing
            );
            self.failing = 0;
        }
    }
}
