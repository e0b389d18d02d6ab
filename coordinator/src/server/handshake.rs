//! The coordinator's side of a handshake: TLS (when on) and the WebSocket upgrade (where the
//! protocol version is agreed, and a browser's page is turned away), the refusals that need no
//! authentication (banned, full), then the mutual authentication with the farm secret (the relay
//! secret for a name in `relays`, and the previous farm secret while it is rotated out), the
//! checks of the peer's names, its box key against the roster, and the coinbase its records will
//! carry. All of it before one deadline.
//!
//! A refusal is a `rejected` message, then the socket closes. Whether a failure counts toward the
//! address's ban is decided here, once ([`HandshakeFailure::counts_toward_ban`]).

use super::admission::Bans;
use super::hub::{Hub, RegisterError, Registration};
use crate::roster::{first_use, Verdict};
use crate::tls::MaybeTls;
use protocol::{
    ConnectionRefusal, CoordinatorHandshake, Message, MinerHello, PeerRole, ProtocolError, Secret,
    Session, Verified,
};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
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
    /// A web browser's page tried to connect (its upgrade carries an `Origin`): refused before
    /// anything else, and never held against the address (a page cannot get a site banned).
    #[error("a web page's connection (Origin {0:?}) was refused")]
    BrowserPage(String),
}

impl HandshakeFailure {
    /// A wrong secret, a malformed or unfinished handshake counts toward a ban; a refused name, a
    /// full house, a ban already in force or an eviction does not (the peer may be honest).
    pub(super) fn counts_toward_ban(&self) -> bool {
        match self {
            HandshakeFailure::Refused { code, .. } => matches!(
                code,
                ConnectionRefusal::BadSecret
                    | ConnectionRefusal::Protocol
                    | ConnectionRefusal::UnknownKey
            ),
            HandshakeFailure::Upgrade(_) | HandshakeFailure::Timeout => true,
            HandshakeFailure::Evicted | HandshakeFailure::BrowserPage(_) => false,
        }
    }
}

/// An authenticated miner: its link, session, names (its `coinbase` is the one its records
/// carry: its own, or the farm's), and its hold on its identity.
pub(super) struct Authenticated {
    pub(super) ws: Ws,
    pub(super) session: Session,
    pub(super) hello: MinerHello,
    pub(super) registration: Registration,
    /// The protocol version spoken.
    pub(super) version: u32,
    /// How the roster knows it: `pinned` (its key, enrolled), `new` (pinned at this login) or
    /// `unsigned` (a box without a key).
    pub(super) trust: &'static str,
}

/// Sends a `rejected` message to a peer of protocol `version` (within [`REFUSAL_GRACE`]) and
/// closes.
async fn reject(
    ws: &mut Ws,
    version: u32,
    code: ConnectionRefusal,
    reason: String,
) -> HandshakeFailure {
    let _ = tokio::time::timeout(REFUSAL_GRACE, async {
        let frame = protocol::encode_plain(&Message::Rejected {
            code: code.for_version(version),
            reason: reason.clone(),
        });
        let _ = protocol::ws::send_text(ws, frame).await;
        let _ = ws.close(None).await;
    })
    .await;
    HandshakeFailure::Refused { code, reason }
}

/// The WebSocket upgrade and the authentication, both before `until`.
#[allow(clippy::result_large_err)] // the upgrade callback's signature is tungstenite's
pub(super) async fn handshake(
    hub: &Arc<Hub>,
    bans: &Bans,
    stream: TcpStream,
    addr: SocketAddr,
    until: Instant,
) -> Result<Authenticated, HandshakeFailure> {
    let cfg = protocol::ws::config();
    let mut agreed = Ok(1);
    let mut origin = None;
    // TLS (when on) and the WebSocket upgrade share the handshake's deadline.
    let upgraded = tokio::time::timeout_at(until, async {
        let stream = MaybeTls::accept(hub.cfg().tls.as_ref(), stream)
            .await
            .map_err(|e| HandshakeFailure::Upgrade(format!("TLS handshake: {e}")))?;
        let callback = |req: &Request, resp: Response| upgrade(req, resp, &mut agreed, &mut origin);
        tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(cfg))
            .await
            .map_err(|e| HandshakeFailure::Upgrade(format!("WebSocket handshake: {e}")))
    })
    .await
    .map_err(|_| HandshakeFailure::Upgrade("no WebSocket handshake in time".into()))?;
    if let Some(o) = origin {
        return Err(HandshakeFailure::BrowserPage(o));
    }
    let mut ws = upgraded?;
    let version = match agreed {
        Ok(v) => v,
        Err(e) => {
            // A peer of a version this build does not speak: told so (in the newest shape it
            // may read), never held against its address.
            let v = protocol::PROTOCOL_VERSION;
            let _ = reject(&mut ws, v, ConnectionRefusal::Upgrade, e.to_string()).await;
            return Err(HandshakeFailure::Refused {
                code: ConnectionRefusal::Upgrade,
                reason: e.to_string(),
            });
        }
    };
    if bans.banned(addr.ip()) {
        let why = "too many failed handshakes from this address; try later".into();
        return Err(reject(&mut ws, version, ConnectionRefusal::Banned, why).await);
    }
    if !hub.has_room() {
        return Err(reject(&mut ws, version, ConnectionRefusal::Busy, busy(hub)).await);
    }
    match authenticate(hub, &mut ws, addr, until, version).await {
        Ok((session, hello, registration, trust)) => Ok(Authenticated {
            ws,
            session,
            hello,
            registration,
            version,
            trust,
        }),
        Err((code, reason)) => Err(reject(&mut ws, version, code, reason).await),
    }
}

/// The upgrade's checks: a request with an `Origin` (a web browser's page: a page of any site
/// could otherwise make its visitors' browsers knock here) is answered 403; the protocol version
/// is agreed from the client's offer (see `protocol::auth::version`) and named in the response.
#[allow(clippy::result_large_err)] // the callback's signature is tungstenite's
fn upgrade(
    req: &Request,
    mut resp: Response,
    agreed: &mut Result<u32, protocol::auth::version::NoCommonVersion>,
    origin: &mut Option<String>,
) -> Result<Response, ErrorResponse> {
    use protocol::auth::version;
    if let Some(o) = req.headers().get("origin") {
        *origin =
            Some(protocol::text::sanitize(&String::from_utf8_lossy(o.as_bytes())).into_owned());
        let mut no = ErrorResponse::new(Some(
            "netmine coordinators do not serve web pages' WebSocket connections".into(),
        ));
        *no.status_mut() = tokio_tungstenite::tungstenite::http::StatusCode::FORBIDDEN;
        return Err(no);
    }
    let offer = req
        .headers()
        .get(version::HEADER)
        .map(|v| v.to_str().unwrap_or("?"));
    *agreed = version::choose(offer);
    if let (Some(_), Ok(v)) = (offer, &*agreed) {
        if let Ok(value) = v.to_string().parse() {
            resp.headers_mut().insert(version::HEADER, value);
        }
    }
    Ok(resp)
}

fn busy(hub: &Hub) -> String {
    format!(
        "the coordinator already serves {} miners",
        hub.cfg().max_connections
    )
}

/// What a handshake step refuses: the code and the reason the peer is told.
type Refusal = (ConnectionRefusal, String);

/// The challenge, the peer's proof, the checks of its names, its key and its coinbase, its
/// registration, then the coordinator's own proof (the welcome).
async fn authenticate(
    hub: &Arc<Hub>,
    ws: &mut Ws,
    addr: SocketAddr,
    until: Instant,
    version: u32,
) -> Result<(Session, MinerHello, Registration, &'static str), Refusal> {
    let cfg = hub.cfg();
    let secret = cfg.secret.clone().unwrap_or_else(|| Secret::new(""));
    let (hs, challenge) = CoordinatorHandshake::start_version(&secret, version);
    let proto = |e: String| (ConnectionRefusal::Protocol, e);
    tokio::time::timeout_at(until, protocol::ws::send_text(ws, challenge))
        .await
        .map_err(|_| proto("the challenge could not be sent in time".into()))?
        .map_err(|e| proto(e.to_string()))?;
    let auth = tokio::time::timeout_at(until, protocol::ws::recv_text(ws, "miner"))
        .await
        .map_err(|_| proto(format!("not authenticated within {:?}", cfg.auth_timeout)))?
        .map_err(|e| proto(e.to_string()))?;
    let verified = verify(hub, hs, &auth)?;
    let relay = hub.is_relay(verified.identity());
    if verified.role() == PeerRole::Relay && !relay {
        return Err((
            ConnectionRefusal::BadIdentity,
            format!(
                "{:?} is not a relay of this coordinator: add it to the coordinator's `relays`",
                verified.identity()
            ),
        ));
    }
    check_names(&verified.hello(), verified.role() == PeerRole::Relay)?;
    let trust = enroll(hub, &verified, addr).await?;
    let coinbase = payout(hub, &verified, relay)?;
    let mut hello = verified.hello();
    hello.coinbase.clone_from(&coinbase);
    let registration = match hub.register(&hello.identity, addr, verified.key(), verified.version())
    {
        Ok(r) => r,
        Err(RegisterError::Full) => return Err((ConnectionRefusal::Busy, busy(hub))),
        Err(RegisterError::OtherKey) => {
            return Err((
                ConnectionRefusal::DuplicateIdentity,
                format!(
                    "identity {:?} is connected with another box's key",
                    hello.identity
                ),
            ))
        }
    };
    let (session, welcome) = verified.welcome(&coinbase);
    let sent = tokio::time::timeout_at(until, protocol::ws::send_text(ws, welcome)).await;
    if !matches!(sent, Ok(Ok(()))) {
        hub.unregister(&hello.identity, registration.conn);
        return Err(proto("the welcome could not be sent in time".into()));
    }
    Ok((session, hello, registration, trust))
}

/// Checks the peer's proof: the farm secret (and the previous one while it is rotated out), or
/// the relay secret for a relay's name.
fn verify(hub: &Hub, hs: CoordinatorHandshake, auth: &str) -> Result<Verified, Refusal> {
    let cfg = hub.cfg();
    let mut as_relay = false;
    let guarded = cfg.relay_secret.is_some();
    let secrets_for = |id: &str, _role: PeerRole| {
        // A relay's name is only accepted with the relay secret (when there is one): a box that
        // knows the farm secret cannot pass for a relay.
        as_relay = hub.is_relay(id);
        match &cfg.relay_secret {
            Some(s) if as_relay => vec![s.clone()],
            _ => {
                let mut v: Vec<Secret> = cfg.secret.iter().cloned().collect();
                if v.is_empty() {
                    v.push(Secret::new(""));
                }
                if let Some((old, until)) = &cfg.previous_secret {
                    if until.is_none_or(|t| crate::telemetry::unix_now() < t) {
                        v.push(old.clone());
                    }
                }
                v
            }
        }
    };
    hs.verify(auth, secrets_for).map_err(|e| match e {
        ProtocolError::WrongSecret if as_relay && guarded => (
            ConnectionRefusal::BadSecret,
            "wrong secret for a relay: this name is in the coordinator's `relays`, so it authenticates with the coordinator's relay_secret (NETMINE_UPSTREAM_SECRET on the relay), not the farm secret".to_string(),
        ),
        ProtocolError::WrongSecret => (
            ConnectionRefusal::BadSecret,
            "wrong shared secret: a miner (or a relay's link, without a relay_secret here) must use this coordinator's farm secret (NETMINE_SECRET / --secret; NETMINE_UPSTREAM_SECRET on a relay)".to_string(),
        ),
        ProtocolError::BadSignature => (
            ConnectionRefusal::UnknownKey,
            "the box key's signature does not verify".to_string(),
        ),
        other => (ConnectionRefusal::Protocol, other.to_string()),
    })
}

/// The roster's word on the peer's key; pins it at first use. Returns how the roster knows it.
async fn enroll(hub: &Hub, v: &Verified, addr: SocketAddr) -> Result<&'static str, Refusal> {
    let enroll = hub.cfg().enroll;
    for _ in 0..2 {
        match hub.roster().snapshot().judge(v.identity(), v.key(), enroll) {
            Verdict::Known => return Ok("pinned"),
            Verdict::Unsigned => return Ok("unsigned"),
            Verdict::Refused(code, why) => return Err((code, why)),
            Verdict::Pin(key) => {
                let entry = first_use(v.identity(), Some(key), None, &addr.to_string());
                match hub.roster().pin(entry).await {
                    Ok(true) => {
                        tracing::info!(identity = v.identity(), %key, %addr, "new identity: its box key is pinned (first use)");
                        return Ok("new");
                    }
                    // Another connection pinned it first: judge again against its key.
                    Ok(false) => continue,
                    Err(e) => {
                        tracing::error!("pinning a key: {e}");
                        return Err((
                            ConnectionRefusal::Busy,
                            "the coordinator could not record this box's key; try later".into(),
                        ));
                    }
                }
            }
        }
    }
    Err((
        ConnectionRefusal::UnknownKey,
        format!("identity {:?} was just pinned to another key", v.identity()),
    ))
}

/// The coinbase the peer's records will carry: the farm's when the coordinator pays every record
/// to one address, else its own, which its roster entry must allow. A relay mines nothing: it is
/// told the farm's (or nothing) so that its own miners are paid the same way.
fn payout(hub: &Hub, v: &Verified, relay: bool) -> Result<String, Refusal> {
    let hello = v.hello();
    let farm = hub.payout();
    if relay {
        return Ok(farm.unwrap_or_default());
    }
    if let Some(farm) = &farm {
        if v.version() < 2 && &hello.coinbase != farm {
            return Err((
                ConnectionRefusal::Upgrade,
                format!("this coordinator pays every record to the farm's coinbase {farm}: upgrade this netminer (protocol {}), or set its coinbase to {farm}", protocol::PROTOCOL_VERSION),
            ));
        }
        return Ok(farm.clone());
    }
    let roster = hub.roster().snapshot();
    if !roster.coinbase_allowed(&hello.identity, &hello.coinbase) {
        let allowed = roster
            .get(&hello.identity)
            .map(|e| e.coinbases.join(", "))
            .unwrap_or_default();
        return Err((
            ConnectionRefusal::BadCoinbase,
            format!(
                "identity {:?} may only be paid to {allowed}, not {}",
                hello.identity, hello.coinbase
            ),
        ));
    }
    Ok(hello.coinbase)
}

/// The identity must be one the grader takes and whose records fit a 1-EC entry; the coinbase a
/// valid FA address (a version-2 relay sends none).
fn check_names(hello: &MinerHello, relay: bool) -> Result<(), Refusal> {
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
    if !relay && !pegnet::validate::valid_coinbase(hello.coinbase.as_bytes()) {
        return Err((
            ConnectionRefusal::BadCoinbase,
            format!("coinbase {:?} is not a valid FA address", hello.coinbase),
        ));
    }
    Ok(())
}
