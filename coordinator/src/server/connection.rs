//! One socket's life, start to end: its place among the pending handshakes (`admission.rs`), the
//! handshake (`handshake.rs`), then the authenticated session (`session.rs`). The address is
//! banned here when the handshake or the session ended in a way that counts toward a ban.

use super::admission::{Bans, PendingSlot};
use super::handshake::{handshake, HandshakeFailure, REFUSAL_GRACE};
use super::hub::Hub;
use super::session::{self, ConnectionEnd};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;

/// How a connection ended: in its handshake, or in its session.
#[derive(Debug, thiserror::Error)]
pub(super) enum Ended {
    /// No authenticated miner came of it.
    #[error("handshake failed: {0}")]
    Handshake(#[from] HandshakeFailure),
    /// The authenticated session ended.
    #[error("{0}")]
    Session(#[from] ConnectionEnd),
}

/// Serves one accepted socket until it ends, and says how it ended.
pub(super) async fn connection(
    hub: &Arc<Hub>,
    bans: &Bans,
    stream: TcpStream,
    addr: SocketAddr,
    mut slot: PendingSlot,
    stop: watch::Receiver<bool>,
) -> Ended {
    // Upgrade and authentication share one deadline; the pending slot is held until then.
    let until = Instant::now() + hub.cfg().auth_timeout;
    let outcome = tokio::select! {
        r = tokio::time::timeout_at(until + REFUSAL_GRACE, handshake(hub, bans, stream, addr, until)) => {
            r.unwrap_or(Err(HandshakeFailure::Timeout))
        }
        _ = &mut slot.evicted => Err(HandshakeFailure::Evicted),
    };
    drop(slot);
    let peer = match outcome {
        Ok(peer) => peer,
        Err(failure) => {
            if failure.counts_toward_ban() {
                bans.failed(addr.ip(), &failure.to_string());
                hub.telemetry().auth_failure();
            }
            return failure.into();
        }
    };
    let id = peer.hello.identity.clone();
    tracing::info!(%addr, identity = %id, version = peer.version, trust = peer.trust, "miner connected");
    // A relay is not a miner: its miners are listed, it is not.
    if !hub.is_relay(&id) {
        let t = hub.telemetry();
        t.miner_connected(&id, &peer.hello.coinbase, addr);
        t.miner_trust(&id, peer.trust, peer.version);
    }
    let end = session::run(hub, peer, addr, stop).await;
    if end.counts_toward_ban() {
        bans.failed(addr.ip(), &end.to_string());
    }
    tracing::info!(identity = %id, "miner disconnected: {end}");
    end.into()
}
