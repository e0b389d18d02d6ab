//! Frames: one WebSocket text frame holds `{"msg":{…}}` during the handshake and
//! `{"seq":N,"mac":"…","msg":{…}}` after it. The MAC covers the direction, the sequence number and
//! the exact bytes of `msg`, so a frame cannot be injected, altered, reordered or replayed.

use crate::error::ProtocolError;
use crate::message::Message;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Largest frame accepted (and sent): 64 KiB.
pub const MAX_FRAME: usize = 64 * 1024;

#[derive(Serialize, Deserialize)]
pub(crate) struct Envelope<'a> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    #[serde(borrow)]
    pub msg: &'a RawValue,
}

/// Splits a frame into its envelope, refusing oversized or malformed ones.
pub(crate) fn envelope(frame: &str) -> Result<Envelope<'_>, ProtocolError> {
    if frame.len() > MAX_FRAME {
        return Err(ProtocolError::TooLarge(frame.len()));
    }
    serde_json::from_str(frame).map_err(|e| ProtocolError::Malformed(e.to_string()))
}

/// Parses a message body, telling unknown types from malformed known ones.
pub(crate) fn parse_message(raw: &str) -> Result<Message, ProtocolError> {
    serde_json::from_str(raw).map_err(|e| {
        #[derive(Deserialize)]
        struct Tag {
            #[serde(rename = "type")]
            kind: String,
        }
        match serde_json::from_str::<Tag>(raw) {
            Ok(t) if !Message::KINDS.contains(&t.kind.as_str()) => {
                ProtocolError::UnknownType(t.kind)
            }
            _ => ProtocolError::Malformed(e.to_string()),
        }
    })
}

/// A handshake frame (no MAC).
pub fn encode_plain(msg: &Message) -> String {
    let body = serde_json::to_string(msg).unwrap_or_default();
    format!("{{\"msg\":{body}}}")
}

/// Reads a handshake frame.
pub fn decode_plain(frame: &str) -> Result<Message, ProtocolError> {
    let env = envelope(frame)?;
    parse_message(env.msg.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_types_match_the_enum() {
        assert_eq!(Message::KINDS.len(), 25);
        for kind in Message::KINDS {
            let err =
                parse_message(&format!("{{\"type\":\"{kind}\",\"bogus_field\":1}}")).unwrap_err();
            assert!(matches!(err, ProtocolError::Malformed(_)), "{kind}: {err}");
        }
        assert_eq!(
            parse_message(r#"{"type":"mine_bitcoin"}"#).unwrap_err(),
            ProtocolError::UnknownType("mine_bitcoin".into())
        );
    }
}
