//! An authenticated session: every frame carries a sequence number and a MAC under the session key.

use crate::error::ProtocolError;
use crate::frame::{envelope, parse_message, MAX_FRAME};
use crate::mac::keyed;
use crate::message::Message;
use hmac::Mac;
use std::sync::Arc;

/// Which end of the session this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// This end is the coordinator: it seals coordinator→miner frames and opens miner→coordinator
    /// ones.
    Coordinator,
    /// This end is a miner: it seals miner→coordinator frames and opens coordinator→miner ones.
    Miner,
}

impl Role {
    fn sends(self) -> &'static str {
        match self {
            Role::Coordinator => "netmine/1/c2m",
            Role::Miner => "netmine/1/m2c",
        }
    }

    fn receives(self) -> &'static str {
        match self {
            Role::Coordinator => "netmine/1/m2c",
            Role::Miner => "netmine/1/c2m",
        }
    }
}

/// A message encoded once (its JSON body, shared), to be sealed for many sessions with
/// [`Session::seal_encoded`]: a broadcast is serialized once, not once per connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedMessage(Arc<str>);

impl EncodedMessage {
    /// Encodes `msg` (fails only if it cannot be serialized).
    pub fn new(msg: &Message) -> Result<EncodedMessage, ProtocolError> {
        let body =
            serde_json::to_string(msg).map_err(|e| ProtocolError::Malformed(e.to_string()))?;
        Ok(EncodedMessage(body.into()))
    }

    /// The JSON body.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `n` in decimal, written into `buf`.
fn itoa_u64(mut n: u64, buf: &mut [u8; 20]) -> &str {
    let mut k = buf.len();
    loop {
        k -= 1;
        buf[k] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    std::str::from_utf8(&buf[k..]).unwrap_or("0")
}

/// Seals outgoing and opens incoming frames.
pub struct Session {
    key: [u8; 64],
    role: Role,
    send_seq: u64,
    recv_seq: u64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("role", &self.role)
            .field("send_seq", &self.send_seq)
            .field("recv_seq", &self.recv_seq)
            .finish()
    }
}

impl Session {
    pub(crate) fn new(key: [u8; 64], role: Role) -> Self {
        Session {
            key,
            role,
            send_seq: 0,
            recv_seq: 0,
        }
    }

    /// Encodes and authenticates a message. Fails only if it would exceed the frame limit.
    pub fn seal(&mut self, msg: &Message) -> Result<String, ProtocolError> {
        self.seal_encoded(&EncodedMessage::new(msg)?)
    }

    /// Authenticates a message already encoded (once, for many sessions: a broadcast): the MAC
    /// over this session's direction, its next sequence number and the body's bytes, then the
    /// frame `{"seq":N,"mac":"…","msg":BODY}`, byte for byte what [`Session::seal`] makes of the
    /// message. The body is not re-encoded; it is copied once, into the frame.
    pub fn seal_encoded(&mut self, body: &EncodedMessage) -> Result<String, ProtocolError> {
        let body = body.as_str();
        let seq = self.send_seq;
        let mac = keyed(
            &self.key,
            self.role.sends(),
            &[&seq.to_be_bytes(), body.as_bytes()],
        )
        .finalize()
        .into_bytes();
        // What serializing `Envelope { seq, mac, msg }` gives: its fields in order, no spaces
        // (the MAC is hex, the sequence number an integer: nothing to escape).
        const OPEN: &str = "{\"seq\":";
        const MAC: &str = ",\"mac\":\"";
        const MSG: &str = "\",\"msg\":";
        let len = OPEN.len() + 20 + MAC.len() + 2 * mac.len() + MSG.len() + body.len() + 1;
        if body.len() > MAX_FRAME {
            return Err(ProtocolError::TooLarge(len));
        }
        let mut frame = String::with_capacity(len);
        frame.push_str(OPEN);
        frame.push_str(itoa_u64(seq, &mut [0u8; 20]));
        frame.push_str(MAC);
        frame.push_str(&hex::encode(mac));
        frame.push_str(MSG);
        frame.push_str(body);
        frame.push('}');
        if frame.len() > MAX_FRAME {
            return Err(ProtocolError::TooLarge(frame.len()));
        }
        self.send_seq += 1;
        Ok(frame)
    }

    /// Verifies and decodes a frame from the peer: right MAC, next sequence number.
    pub fn open(&mut self, frame: &str) -> Result<Message, ProtocolError> {
        let env = envelope(frame)?;
        let (Some(seq), Some(mac)) = (env.seq, env.mac.as_deref()) else {
            return Err(ProtocolError::MissingMac);
        };
        let mac = hex::decode(mac).map_err(|_| ProtocolError::BadMac)?;
        keyed(
            &self.key,
            self.role.receives(),
            &[&seq.to_be_bytes(), env.msg.get().as_bytes()],
        )
        .verify_slice(&mac)
        .map_err(|_| ProtocolError::BadMac)?;
        if seq != self.recv_seq {
            return Err(ProtocolError::BadSequence {
                got: seq,
                want: self.recv_seq,
            });
        }
        self.recv_seq += 1;
        parse_message(env.msg.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::Envelope;
    use serde_json::value::RawValue;

    /// The frame as `seal` built it before broadcasts were encoded once: the body serialized,
    /// then the envelope serialized around it.
    fn enveloped(key: &[u8; 64], seq: u64, msg: &Message) -> String {
        let body = serde_json::to_string(msg).unwrap();
        let mac = keyed(key, "netmine/1/c2m", &[&seq.to_be_bytes(), body.as_bytes()])
            .finalize()
            .into_bytes();
        let raw = RawValue::from_string(body).unwrap();
        serde_json::to_string(&Envelope {
            seq: Some(seq),
            mac: Some(hex::encode(mac)),
            msg: &raw,
        })
        .unwrap()
    }

    #[test]
    fn a_frame_sealed_from_a_shared_body_is_byte_for_byte_the_enveloped_one() {
        let key = [7u8; 64];
        let mut a = Session::new(key, Role::Coordinator);
        let mut b = Session::new(key, Role::Coordinator);
        let msgs = [
            Message::Ping { nonce: 1 },
            Message::Minute {
                height: 77,
                minute: 3,
            },
            Message::Stop { job_id: u64::MAX },
            Message::Error {
                message: "quotes \" and \\ and \u{1}".into(),
            },
        ];
        let shared: Vec<EncodedMessage> = msgs
            .iter()
            .map(|m| EncodedMessage::new(m).unwrap())
            .collect();
        // Sequence numbers of one and of several digits, and 0.
        for seq in 0..25u64 {
            let k = seq as usize % msgs.len();
            let want = enveloped(&key, seq, &msgs[k]);
            assert_eq!(a.seal(&msgs[k]).unwrap(), want, "seq {seq}");
            assert_eq!(b.seal_encoded(&shared[k]).unwrap(), want, "seq {seq}");
        }
        b.send_seq = u64::MAX - 1;
        let want = enveloped(&key, u64::MAX - 1, &msgs[0]);
        assert_eq!(b.seal_encoded(&shared[0]).unwrap(), want);
        // And the miner's end opens it.
        let mut miner = Session::new(key, Role::Miner);
        let mut c = Session::new(key, Role::Coordinator);
        assert_eq!(
            miner.open(&c.seal_encoded(&shared[1]).unwrap()).unwrap(),
            msgs[1]
        );
    }

    #[test]
    fn an_oversized_body_is_refused_and_uses_no_sequence_number() {
        let mut s = Session::new([1u8; 64], Role::Coordinator);
        let big = EncodedMessage::new(&Message::Error {
            message: "x".repeat(MAX_FRAME),
        })
        .unwrap();
        assert!(matches!(
            s.seal_encoded(&big),
            Err(ProtocolError::TooLarge(_))
        ));
        let near = EncodedMessage::new(&Message::Error {
            message: "x".repeat(MAX_FRAME - 40),
        })
        .unwrap();
        assert!(matches!(
            s.seal_encoded(&near),
            Err(ProtocolError::TooLarge(_))
        ));
        assert_eq!(s.send_seq, 0);
    }
}
