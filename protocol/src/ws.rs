//! Carrying the protocol's frames over WebSocket (feature `ws`), the one transport both roles use
//! today: every frame is one WebSocket text message, at most [`MAX_FRAME`] bytes.
//!
//! The coordinator and the miner share these helpers so that both sides treat the link the same
//! way: the same size limits, binary messages refused, the WebSocket layer's own ping/pong frames
//! skipped, and a close reported as such.

use crate::auth::{HandshakeError, MinerHandshake};
use crate::frame::MAX_FRAME;
use crate::secret::Secret;
use crate::session::Session;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::WebSocketStream;

/// Why a WebSocket link could not carry a frame.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The peer closed the connection (or the TCP stream ended).
    #[error("the {0} closed the connection")]
    Closed(&'static str),
    /// The peer sent a binary message; every protocol frame is text.
    #[error("binary message from the {0}: not part of the protocol")]
    Binary(&'static str),
    /// The WebSocket layer failed (I/O error, oversized message, bad framing).
    #[error("WebSocket: {0}")]
    WebSocket(#[from] tokio_tungstenite::tungstenite::Error),
}

/// Bytes each link's read buffer starts with (and reads at most at a time).
///
/// tungstenite's default is 128 KiB, allocated for every connection and zero-filled up to that
/// size on every read: a coordinator with 1,000 miners held ~140 MiB of such buffers and cleared
/// 128 KiB per frame received (see `netmine-load` in `benches/`). Frames are small (a job is about
/// 1.5 KiB): 4 KiB holds most of them in one read, and the buffer grows for a larger frame (up to
/// [`MAX_FRAME`]) as it arrives.
pub const READ_BUFFER: usize = 4 * 1024;

/// The WebSocket settings of both roles: messages and frames capped at [`MAX_FRAME`], so an
/// oversized frame is refused by the WebSocket layer before it is buffered whole, and a small
/// read buffer per link ([`READ_BUFFER`]), so thousands of connections stay cheap.
pub fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(MAX_FRAME))
        .max_frame_size(Some(MAX_FRAME))
        .read_buffer_size(READ_BUFFER)
}

/// Sends one frame as a text message.
pub async fn send_text<S>(ws: &mut WebSocketStream<S>, frame: String) -> Result<(), LinkError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    ws.send(WsMessage::Text(frame.into())).await?;
    Ok(())
}

/// Receives the next frame, skipping WebSocket-level ping/pong frames. `peer` names the other
/// side in errors ("miner", "coordinator").
pub async fn recv_text<S>(
    ws: &mut WebSocketStream<S>,
    peer: &'static str,
) -> Result<String, LinkError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        match ws.next().await {
            Some(Ok(WsMessage::Text(t))) => return Ok(t.as_str().to_string()),
            Some(Ok(WsMessage::Binary(_))) => return Err(LinkError::Binary(peer)),
            Some(Ok(WsMessage::Close(_))) | None => return Err(LinkError::Closed(peer)),
            Some(Ok(_)) => continue, // ping/pong (and raw) frames of the WebSocket layer
            Some(Err(e)) => return Err(e.into()),
        }
    }
}

/// The miner's side of the handshake on an open WebSocket: reads the coordinator's challenge,
/// answers it as `identity` (paid to `coinbase`) with `secret`, without a box key, in the version
/// the challenge names, and checks the welcome, which proves the coordinator knows the secret too.
///
/// A thin helper over [`MinerHandshake`] for tests and tools, with no timeout of its own (wrap it
/// in one). The miner's production client (`netmine-link`) adds TLS, timeouts and failover.
pub async fn client_handshake<S>(
    ws: &mut WebSocketStream<S>,
    secret: &Secret,
    identity: &str,
    coinbase: &str,
) -> Result<Session, HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let hs = MinerHandshake::new(secret, identity, coinbase);
    client_handshake_with(ws, &hs)
        .await
        .map(|(session, _)| session)
}

/// [`client_handshake`] for any [`MinerHandshake`] (a box key, a relay's role, the version the
/// upgrade agreed on): the session, and the coinbase the miner's records must carry (the one it
/// asked for, unless the coordinator assigned the farm's).
pub async fn client_handshake_with<S>(
    ws: &mut WebSocketStream<S>,
    hs: &MinerHandshake,
) -> Result<(Session, String), HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let io = |e: LinkError| HandshakeError::from_io(e.to_string());
    let challenge = recv_text(ws, "coordinator").await.map_err(io)?;
    let (pending, auth) = hs.respond(&challenge)?;
    send_text(ws, auth).await.map_err(io)?;
    let welcome = recv_text(ws, "coordinator").await.map_err(io)?;
    pending.accept(&welcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_tungstenite::tungstenite::protocol::Role;

    /// A client and a server link over an in-memory pipe, both with [`config`].
    async fn pair() -> (
        WebSocketStream<tokio::io::DuplexStream>,
        WebSocketStream<tokio::io::DuplexStream>,
    ) {
        let (a, b) = tokio::io::duplex(16 * 1024);
        let client = WebSocketStream::from_raw_socket(a, Role::Client, Some(config()));
        let server = WebSocketStream::from_raw_socket(b, Role::Server, Some(config()));
        tokio::join!(client, server)
    }

    #[tokio::test]
    async fn client_handshake_yields_a_session_the_coordinator_shares() {
        use crate::{CoordinatorHandshake, Message};
        let secret = Secret::new("farm-secret-0123456789");
        let (mut client, mut server) = pair().await;
        let coordinator = async {
            let (hs, challenge) = CoordinatorHandshake::start(&secret);
            send_text(&mut server, challenge).await.unwrap();
            let auth = recv_text(&mut server, "miner").await.unwrap();
            let (session, hello, welcome) = hs.finish(&auth).unwrap();
            send_text(&mut server, welcome).await.unwrap();
            (session, hello)
        };
        let (miner, (mut coord, hello)) = tokio::join!(
            client_handshake(&mut client, &secret, "rig01", "FA-coinbase"),
            coordinator
        );
        let mut miner = miner.unwrap();
        assert_eq!(hello.identity, "rig01");
        let frame = miner.seal(&Message::Stop { job_id: 3 }).unwrap();
        assert_eq!(coord.open(&frame).unwrap(), Message::Stop { job_id: 3 });

        // A closed link is an error, not a hang.
        let (mut client, server) = pair().await;
        drop(server);
        let got = client_handshake(&mut client, &secret, "rig01", "FA-coinbase").await;
        assert!(matches!(got, Err(HandshakeError::Protocol(_))), "{got:?}");
    }

    #[tokio::test]
    async fn frames_far_larger_than_the_read_buffer_arrive_whole_and_oversized_ones_are_refused() {
        assert!(
            config().read_buffer_size <= 8 * 1024,
            "per-link read buffers must stay small"
        );
        let (mut client, mut server) = pair().await;
        let big = "x".repeat(MAX_FRAME - 16);
        let (sent, got) = tokio::join!(
            send_text(&mut client, big.clone()),
            recv_text(&mut server, "miner")
        );
        sent.unwrap();
        assert_eq!(got.unwrap(), big);
        // A small frame right after still comes through the shrunken buffer.
        send_text(&mut server, "{\"msg\":{}}".into()).await.unwrap();
        assert_eq!(
            recv_text(&mut client, "coordinator").await.unwrap(),
            "{\"msg\":{}}"
        );
        // An oversized one is refused from its header (the sender is left blocked on the pipe).
        let sender =
            tokio::spawn(async move { send_text(&mut client, "y".repeat(MAX_FRAME + 1)).await });
        let got = recv_text(&mut server, "miner").await;
        sender.abort();
        assert!(matches!(got, Err(LinkError::WebSocket(_))), "{got:?}");
    }
}
