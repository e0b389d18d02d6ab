//! One connection to one coordinator: TCP, TLS for `wss://`, the WebSocket upgrade and the client
//! side of the handshake, all within one deadline ([`LinkConfig::handshake_timeout`]); then
//! [`send`] and [`recv`] carry sealed frames over the session.
//!
//! The handshake goes: the coordinator's challenge, the client's answer (proof of the secret,
//! identity, coinbase), the coordinator's welcome, which proves that the coordinator knows the
//! secret too. Only then is the session a [`Session`] whose every frame is authenticated.
//!
//! How a connection fails decides what the caller does next, so [`ConnectError`] says it:
//! [`ConnectError::is_fatal`] is true for a refusal only the operator can fix (a wrong secret, a
//! bad or duplicate identity, a certificate that is not the pinned one, TLS settings that cannot
//! be used); anything else (unreachable, timed out, a broken handshake) may pass by itself and is
//! worth retrying. Note that a refusal during the handshake comes before the coordinator proved
//! the secret, so anyone answering at the address could send it: the [`crate::failover`] dialer
//! therefore only leaves that address alone for a while, and gives up only when every address
//! refused.

use crate::addr::CoordinatorAddr;
use crate::config::LinkConfig;
use crate::tls::{client_config, pin_mismatch, PinMismatch, TlsSetupError};
use protocol::{HandshakeError, Message, MinerHandshake, Session};
use std::sync::Arc;
use std::time::Duration;

/// A coordinator link: a WebSocket over TCP, with TLS for `wss://` addresses.
pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Why no session came out of a connection attempt.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The TLS settings cannot be used (a bad CA file, no system roots). Fatal.
    #[error(transparent)]
    Tls(#[from] TlsSetupError),
    /// The coordinator's certificate is not the pinned one. Fatal.
    #[error("coordinator {addr} refused: {mismatch}")]
    PinMismatch {
        /// The address dialled.
        addr: String,
        /// Which certificate came, and which was pinned.
        mismatch: PinMismatch,
    },
    /// The coordinator refused the handshake for a reason only the operator can fix (wrong
    /// secret, bad or duplicate identity). Fatal.
    #[error("coordinator {addr} refused {identity}: {reason}")]
    Refused {
        /// The address dialled.
        addr: String,
        /// The identity it refused.
        identity: String,
        /// The coordinator's explanation.
        reason: String,
    },
    /// TCP, TLS or the WebSocket upgrade failed.
    #[error("cannot connect to {url}: {source}")]
    Connect {
        /// The URL dialled.
        url: String,
        /// Why.
        source: tokio_tungstenite::tungstenite::Error,
    },
    /// The handshake broke (a transport failure, a refusal retrying may cure, an impostor that
    /// cannot prove the secret).
    #[error("handshake with {addr} failed: {source}")]
    Handshake {
        /// The address dialled.
        addr: String,
        /// Why.
        source: HandshakeError,
    },
    /// Connecting and the handshake did not finish within the deadline.
    #[error("coordinator {addr} did not complete the handshake within {:.1} s", .timeout.as_secs_f64())]
    Timeout {
        /// The address dialled.
        addr: String,
        /// The deadline.
        timeout: Duration,
    },
}

impl ConnectError {
    /// Whether retrying cannot help until the operator changes something (a refused secret,
    /// name or certificate, unusable TLS settings).
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            ConnectError::Tls(_) | ConnectError::PinMismatch { .. } | ConnectError::Refused { .. }
        )
    }
}

/// Why a frame could not be sent or received on a session.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The WebSocket link failed or closed.
    #[error(transparent)]
    Ws(#[from] protocol::ws::LinkError),
    /// What came is not a valid frame of this session (altered, replayed, malformed): a protocol
    /// violation by the coordinator.
    #[error("protocol violation by the coordinator: {0}")]
    Protocol(protocol::ProtocolError),
    /// The message could not be sealed into a frame (too large).
    #[error("cannot send the message: {0}")]
    Seal(protocol::ProtocolError),
}

/// The rustls settings when any of `addrs` is `wss://` (built once, shared by every dial).
pub fn tls_for(
    cfg: &LinkConfig,
    addrs: &[CoordinatorAddr],
) -> Result<Option<Arc<rustls::ClientConfig>>, TlsSetupError> {
    if addrs.iter().any(CoordinatorAddr::is_tls) {
        client_config(&cfg.tls).map(Some)
    } else {
        Ok(None)
    }
}

/// An authenticated link: the WebSocket, its session, the version spoken, and the coinbase the
/// coordinator assigned (the one the records must carry).
pub struct Opened {
    /// The WebSocket.
    pub ws: Ws,
    /// The authenticated session on it.
    pub session: Session,
    /// The protocol version agreed in the upgrade.
    pub version: u32,
    /// The coinbase the coordinator's welcome assigned: the one asked for, or the farm's when the
    /// coordinator pays every record to one address (empty for a relay, unless the farm's).
    pub coinbase: String,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("version", &self.version)
            .field("coinbase", &self.coinbase)
            .finish_non_exhaustive()
    }
}

/// Connects to `addr` and authenticates, for a side task such as copying the table (the
/// [`crate::failover::Dialer`] keeps a mining or relaying link up).
pub async fn open_session(
    cfg: &LinkConfig,
    addr: &CoordinatorAddr,
) -> Result<Opened, ConnectError> {
    let tls = tls_for(cfg, std::slice::from_ref(addr))?;
    connect(cfg, addr, tls.as_ref()).await
}

/// The upgrade request for `addr`: its URL, offering the protocol versions this build speaks up
/// to `newest` (see `protocol::auth::version`); none at all for `newest` 1, as a version-1
/// build sends.
fn upgrade_request(
    addr: &CoordinatorAddr,
    newest: u32,
) -> Result<tokio_tungstenite::tungstenite::handshake::client::Request, ConnectError> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let connect = |source| ConnectError::Connect {
        url: addr.url().to_string(),
        source,
    };
    let mut req = addr.url().into_client_request().map_err(connect)?;
    if newest <= 1 {
        return Ok(req);
    }
    let offer = protocol::auth::version::offer_up_to(newest);
    req.headers_mut().insert(
        protocol::auth::version::HEADER,
        offer.parse().expect("the offer is ASCII"),
    );
    Ok(req)
}

/// Connects to `addr` (with `tls` for `wss://`) and authenticates with `cfg`'s secret, identity,
/// role, key and coinbase, both within [`LinkConfig::handshake_timeout`].
pub async fn connect(
    cfg: &LinkConfig,
    addr: &CoordinatorAddr,
    tls: Option<&Arc<rustls::ClientConfig>>,
) -> Result<Opened, ConnectError> {
    let shown = addr.to_string();
    let step = async {
        let connector = tls
            .filter(|_| addr.is_tls())
            .map(|c| tokio_tungstenite::Connector::Rustls(c.clone()));
        let (mut ws, response) = tokio_tungstenite::connect_async_tls_with_config(
            upgrade_request(addr, cfg.newest_version)?,
            Some(protocol::ws::config()),
            true,
            connector,
        )
        .await
        .map_err(|source| match pin_mismatch(&source) {
            Some(m) => ConnectError::PinMismatch {
                addr: shown.clone(),
                mismatch: m.clone(),
            },
            None => ConnectError::Connect {
                url: addr.url().to_string(),
                source,
            },
        })?;
        // A coordinator that names a version speaks it; one that names none is a version-1
        // coordinator, to which this link speaks version 1.
        let chosen = response
            .headers()
            .get(protocol::auth::version::HEADER)
            .map(|v| v.to_str().unwrap_or("?"));
        let version =
            protocol::auth::version::accept(chosen).map_err(|e| ConnectError::Handshake {
                addr: shown.clone(),
                source: HandshakeError::Protocol(protocol::ProtocolError::Malformed(e.to_string())),
            })?;
        let mut hs =
            MinerHandshake::new(&cfg.secret, &cfg.identity, &cfg.coinbase).speaking(version);
        if cfg.role == protocol::PeerRole::Relay {
            hs = hs.as_relay();
        }
        if let Some(k) = &cfg.key {
            hs = hs.with_key(k.clone());
        }
        let shake = protocol::ws::client_handshake_with(&mut ws, &hs);
        match shake.await {
            Ok((session, coinbase)) => Ok(Opened {
                ws,
                session,
                version,
                coinbase,
            }),
            Err(HandshakeError::Rejected { code, reason }) if code.is_fatal() => {
                Err(ConnectError::Refused {
                    addr: shown.clone(),
                    identity: cfg.identity.clone(),
                    reason,
                })
            }
            Err(source) => Err(ConnectError::Handshake {
                addr: shown.clone(),
                source,
            }),
        }
    };
    match tokio::time::timeout(cfg.handshake_timeout, step).await {
        Ok(r) => r,
        Err(_) => Err(ConnectError::Timeout {
            addr: shown.clone(),
            timeout: cfg.handshake_timeout,
        }),
    }
}

/// Seals `msg` with the session's MAC and sends it as one text frame.
pub async fn send(ws: &mut Ws, session: &mut Session, msg: &Message) -> Result<(), LinkError> {
    let frame = session.seal(msg).map_err(LinkError::Seal)?;
    protocol::ws::send_text(ws, frame).await?;
    Ok(())
}

/// Receives the next frame and opens it (checks its MAC and sequence).
///
/// Cancel-safe as far as the WebSocket is: a frame is taken off the link only when it is
/// returned, so `recv` may be one branch of a `select!`.
pub async fn recv(ws: &mut Ws, session: &mut Session) -> Result<Message, LinkError> {
    let text = protocol::ws::recv_text(ws, "coordinator").await?;
    session.open(&text).map_err(LinkError::Protocol)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_refusals_the_operator_must_fix_are_fatal() {
        let addr = "a:1".to_string();
        assert!(ConnectError::Refused {
            addr: addr.clone(),
            identity: "rig1".into(),
            reason: "wrong shared secret".into()
        }
        .is_fatal());
        assert!(ConnectError::PinMismatch {
            addr: addr.clone(),
            mismatch: PinMismatch {
                got: "ab".into(),
                want: "sha256:cd".into()
            }
        }
        .is_fatal());
        assert!(ConnectError::Tls(TlsSetupError::NoRoots("none".into())).is_fatal());
        assert!(!ConnectError::Timeout {
            addr: addr.clone(),
            timeout: Duration::from_secs(1)
        }
        .is_fatal());
        assert!(!ConnectError::Handshake {
            addr,
            source: HandshakeError::Unproven
        }
        .is_fatal());
    }

    #[tokio::test]
    async fn an_unreachable_coordinator_is_worth_retrying_and_a_silent_one_times_out() {
        // Nothing listens on the port of a listener just closed.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let cfg = LinkConfig {
            handshake_timeout: Duration::from_millis(300),
            ..LinkConfig::default()
        };
        let gone = CoordinatorAddr::parse(&format!("127.0.0.1:{port}")).unwrap();
        let e = open_session(&cfg, &gone).await.unwrap_err();
        assert!(matches!(e, ConnectError::Connect { .. }), "{e}");
        assert!(!e.is_fatal());
        // A listener that accepts and never answers.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = CoordinatorAddr::parse(&silent.local_addr().unwrap().to_string()).unwrap();
        let hold = tokio::spawn(async move {
            let conn = silent.accept().await;
            tokio::time::sleep(Duration::from_secs(5)).await;
            drop(conn);
        });
        let e = open_session(&cfg, &addr).await.unwrap_err();
        assert!(matches!(e, ConnectError::Timeout { .. }), "{e}");
        assert!(e.to_string().contains("within 0.3 s"), "{e}");
        hold.abort();
    }
}
