//! Carrying the protocol's frames over WebSocket (feature `ws`), the one transport both roles use
//! today: every frame is one WebSocket text message, at most [`MAX_FRAME`] bytes.
//!
//! The coordinator and the miner share these helpers so that both sides treat the link the same
//! way: the same size limits, binary messages refused, the WebSocket layer's own ping/pong frames
//! skipped, and a close reported as such.

use crate::frame::MAX_FRAME;
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

/// The WebSocket settings of both roles: messages and frames capped at [`MAX_FRAME`], so an
/// oversized frame is refused by the WebSocket layer before it is buffered whole.
pub fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(MAX_FRAME))
        .max_frame_size(Some(MAX_FRAME))
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
