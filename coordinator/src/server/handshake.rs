//! The coordinator's side of a handshake: TLS (when on) and the WebSocket upgrade, the refusals
//! that need no authentication (banned, full), then the mutual authentication with the farm
//! secret (the relay secret for a name in `relays`) and the checks of the miner's names. All of it
//! before one deadline.
//!
//! A refusal is a `rejected` message, then the socket closes. Whether a failure counts toward the
//! address's ban is decided here, once ([`HandshakeFailure::counts_toward_ban`]).

use super::admission::Bans;
use super::hub::{Hub, Registration};
use crate::tls::MaybeTls;
use protocol::{
    ConnectionRefusal, CoordinatorHandshake, Message, MinerHello, ProtocolError, Secret, Session,
};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;

/// A miner's link: WebSocket over TCP, with TLS when the listener has it.
pub(super) type Ws = WebSocketStream<MaybeTls>;

/// Extra time, past the handshake deadline, to send a refusal before the socket is dropped.
pub(super) const REFUSAL_GRACE: Duration = Duration::from_secs(1);

/// Why a handshake gave no authenticated miner.
#[derive(Debug, thiserror::Error)]
pub(super) enum HandshakeFailure {
    /// Refused with a `rejected` message (already sent).
    #[error("refused ({code:?}): {reason}")]
    Refused {
        /// The refusal's code.
        code: ConnectionRefusal,
        /// What the peer was told.
        reason: String,
    },
    /// The socket never became a WebSocket (malformed request, TLS failure, closed).
    #[error("{0}")]
    Upgrade(String),
    /// The deadline passed.
    #[error("handshake not finished in time")]
    Timeout,
    /// Dropped to admit a newer handshake (too many pending).
    #[error("dropped to admit a newer handshake (too many pending)")]
    Evicted,
}

impl HandshakeFailure {
    /// A wrong secret, a malformed or unfinished handshake counts toward a ban; a refused name, a
    /// full house, a ban already in force or an eviction does not (the peer may be honest).
    pub(super) fn counts_toward_ban(&self) -> bool {
        match self {
            HandshakeFailure::Refused { code, .. } => matches!(
                code,
                ConnectionRefusal::BadSecret | ConnectionRefusal::Protocol
            ),
            HandshakeFailure::Upgrade(_) | HandshakeFailure::Timeout => true,
            HandshakeFailure::Evicted => false,
        }
    }
}

/// An authenticated miner: its link, session, names, and its hold on its identity.
pub(super) struct Authenticated {
    pub(super) ws: Ws,
    pub(super) session: Session,
    pub(super) hello: MinerHello,
    pub(super) registration: Registration,
}

/// Sends a `rejected` message (within [`REFUSAL_GRACE`]) and closes.
async fn reject(ws: &mut Ws, code: ConnectionRefusal, reason: String) -> HandshakeFailure {
    let _ = tokio::time::timeout(REFUSAL_GRACE, async {
        let frame = protocol::encode_plain(&Message::Rejected {
            code,
            reason: reason.clone(),
        });
        let _ = protocol::ws::send_text(ws, frame).await;
        let _ = ws.close(None).await;
    })
    .await;
    HandshakeFailure::Refused { code, reason }
}

/// The WebSocket upgrade and the authentication, both before `until`.
pub(super) async fn handshake(
    hub: &Arc<Hub>,
    bans: &Bans,
    stream: TcpStream,
    addr: SocketAddr,
    until: Instant,
) -> Result<Authenticated, HandshakeFailure> {
    let cfg = protocol::ws::config();
    // TLS (when on) and the WebSocket upgrade share the handshake's deadline.
    let mut ws = tokio::time::timeout_at(until, async {
        let stream = MaybeTls::accept(hub.cfg().tls.as_ref(), stream)
            .await
            .map_err(|e| HandshakeFailure::Upgrade(format!("TLS handshake: {e}")))?;
        tokio_tungstenite::accept_async_with_config(stream, Some(cfg))
            .await
            .map_err(|e| HandshakeFailure::Upgrade(format!("WebSocket handshake: {e}")))
    })
    .await
    .map_err(|_| HandshakeFailure::Upgrade("no WebSocket handshake in time".into()))??;
    if bans.banned(addr.ip()) {
        let why = "too many failed handshakes from this address; try later".into();
        return Err(reject(&mut ws, ConnectionRefusal::Banned, why).await);
    }
    if !hub.has_room() {
        return Err(reject(&mut ws, ConnectionRefusal::Busy, busy(hub)).await);
    }
    match authenticate(hub, &mut ws, addr, until).await {
        Ok((session, hello, registration)) => Ok(Authenticated {
            ws,
            session,
            hello,
            registration,
        }),
        Err((code, reason)) => Err(reject(&mut ws, code, reason).await),
    }
}

fn busy(hub: &Hub) -> String {
    format!(
        "the coordinator already serves {} miners",
        hub.cfg().max_connections
    )
}

/// The challenge, the miner's proof, the checks of its names and its registration, then the
/// coordinator's own proof (the welcome).
async fn authenticate(
    hub: &Arc<Hub>,
    ws: &mut Ws,
    addr: SocketAddr,
    until: Instant,
) -> Result<(Session, MinerHello, Registration), (ConnectionRefusal, String)> {
    let cfg = hub.cfg();
    let secret = cfg.secret.clone().unwrap_or_else(|| Secret::new(""));
    let (hs, challenge) = CoordinatorHandshake::start(&secret);
    let proto = |e: String| (ConnectionRefusal::Protocol, e);
    tokio::time::timeout_at(until, protocol::ws::send_text(ws, challenge))
        .await
        .map_err(|_| proto("the challenge could not be sent in time".into()))?
        .map_err(|e| proto(e.to_string()))?;
    let auth = tokio::time::timeout_at(until, protocol::ws::recv_text(ws, "miner"))
        .await
        .map_err(|_| proto(format!("not authenticated within {:?}", cfg.auth_timeout)))?
        .map_err(|e| proto(e.to_string()))?;
    // A relay's name is only accepted with the relay secret (when there is one): a box that knows
    // the farm secret cannot pass for a relay.
    let mut as_relay = false;
    let choose = |id: &str| {
        as_relay = hub.is_relay(id);
        match &cfg.relay_secret {
            Some(s) if as_relay => s.clone(),
            _ => secret,
        }
    };
    let guarded = cfg.relay_secret.is_some();
    let (session, hello, welcome) = hs.finish_for(&auth, choose).map_err(|e| match e {
        ProtocolError::WrongSecret if as_relay && guarded => (
            ConnectionRefusal::BadSecret,
            "wrong secret for a relay: this name is in the coordinator's `relays`, so it authenticates with the coordinator's relay_secret (NETMINE_UPSTREAM_SECRET on the relay), not the farm secret".to_string(),
        ),
        ProtocolError::WrongSecret => (
            ConnectionRefusal::BadSecret,
            "wrong shared secret: a miner (or a relay's link, without a relay_secret here) must use this coordinator's farm secret (NETMINE_SECRET / --secret; NETMINE_UPSTREAM_SECRET on a relay)".to_string(),
        ),
        other => (ConnectionRefusal::Protocol, other.to_string()),
    })?;
    check_names(&hello)?;
    let Some(registration) = hub.register(&hello.identity, addr) else {
        return Err((ConnectionRefusal::Busy, busy(hub)));
    };
    let sent = tokio::time::timeout_at(until, protocol::ws::send_text(ws, welcome)).await;
    if !matches!(sent, Ok(Ok(()))) {
        hub.unregister(&hello.identity, registration.conn);
        return Err(proto("the welcome could not be sent in time".into()));
    }
    Ok((session, hello, registration))
}

/// The identity must be one the grader takes and whose records fit a 1-EC entry; the coinbase a
/// valid FA address.
fn check_names(hello: &MinerHello) -> Result<(), (ConnectionRefusal, String)> {
    if !pegnet::validate::valid_identity(hello.identity.as_bytes()) {
        return Err((
            ConnectionRefusal::BadIdentity,
            format!(
                "identity {:?} must be ASCII letters, digits and commas",
                hello.identity
            ),
        ));
    }
    if let Err(e) = pegnet::record::check_identity_cost(&hello.identity) {
        return Err((ConnectionRefusal::BadIdentity, e.to_string()));
    }
    if !pegnet::validate::valid_coinbase(hello.coinbase.as_bytes()) {
        return Err((
            ConnectionRefusal::BadCoinbase,
            format!("coinbase {:?} is not a valid FA address", hello.coinbase),
        ));
    }
    Ok(())
}
