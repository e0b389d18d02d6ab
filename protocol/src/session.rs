//! An authenticated session: every frame carries a sequence number and a MAC under the session key.

use crate::error::ProtocolError;
use crate::frame::{envelope, parse_message, Envelope, MAX_FRAME};
use crate::mac::keyed;
use crate::message::Message;
use hmac::Mac;
use serde_json::value::RawValue;

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
        let body =
            serde_json::to_string(msg).map_err(|e| ProtocolError::Malformed(e.to_string()))?;
        let seq = self.send_seq;
        let mac = keyed(
            &self.key,
            self.role.sends(),
            &[&seq.to_be_bytes(), body.as_bytes()],
        )
        .finalize()
        .into_bytes();
        let raw =
            RawValue::from_string(body).map_err(|e| ProtocolError::Malformed(e.to_string()))?;
        let frame = serde_json::to_string(&Envelope {
            seq: Some(seq),
            mac: Some(hex::encode(mac)),
            msg: &raw,
        })
        .map_err(|e| ProtocolError::Malformed(e.to_string()))?;
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
