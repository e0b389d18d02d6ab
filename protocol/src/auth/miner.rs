//! The miner's (and a relay's) side of the handshake: [`MinerHandshake::respond`] answers the
//! coordinator's challenge, [`PendingMiner::accept`] checks the coordinator's proof of the secret
//! and starts the session, with the coinbase the coordinator assigned.

use super::{BoxKey, Transcript};
use crate::error::ProtocolError;
use crate::frame::{decode_plain, encode_plain};
use crate::message::{ConnectionRefusal, HexBytes, Message, PeerRole};
use crate::secret::{random32, Secret};
use crate::session::{Role, Session};

/// Why the miner's side of the handshake ended without a session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// The coordinator refused us. A refusal always comes before the coordinator proved the
    /// secret (that proof is the welcome), so it is **unauthenticated**: anyone answering at the
    /// coordinator's address, or on the path, can send one. Treat it as "this address will not
    /// serve us", never as proof that the operator must act.
    #[error("the coordinator refused the connection ({code:?}): {reason}")]
    Rejected {
        /// Machine-readable reason; [`ConnectionRefusal::is_fatal`] says whether to stop retrying.
        code: ConnectionRefusal,
        /// The coordinator's explanation for the operator, saying what to fix.
        reason: String,
    },
    /// The coordinator's welcome does not prove the secret: an impostor, or a coordinator with
    /// another secret.
    #[error(
        "the coordinator could not prove the shared secret (an impostor, or its secret differs)"
    )]
    Unproven,
    /// A protocol failure.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
}

impl HandshakeError {
    /// A transport failure during the handshake.
    pub fn from_io(e: String) -> Self {
        HandshakeError::Protocol(ProtocolError::Malformed(e))
    }
}

/// Miner side of the handshake: who it is and how it proves it.
#[derive(Debug, Clone)]
pub struct MinerHandshake {
    secret: Secret,
    identity: String,
    coinbase: String,
    role: PeerRole,
    key: Option<BoxKey>,
    version: Option<u32>,
}

/// The miner between sending auth and receiving the welcome.
#[derive(Debug)]
pub struct PendingMiner {
    secret: Secret,
    t: Transcript,
}

impl MinerHandshake {
    /// A handshake for a miner with these names, without a box key, answering in the version
    /// the challenge names.
    pub fn new(secret: &Secret, identity: &str, coinbase: &str) -> Self {
        MinerHandshake {
            secret: secret.clone(),
            identity: identity.to_string(),
            coinbase: coinbase.to_string(),
            role: PeerRole::Miner,
            key: None,
            version: None,
        }
    }

    /// Signs version-2 handshakes with the box's key.
    pub fn with_key(mut self, key: BoxKey) -> Self {
        self.key = Some(key);
        self
    }

    /// Speaks as a relay (version 2; a version-1 coordinator knows a relay by its name only).
    pub fn as_relay(mut self) -> Self {
        self.role = PeerRole::Relay;
        self
    }

    /// Accepts only a challenge of `version` (the one the upgrade agreed on).
    pub fn speaking(mut self, version: u32) -> Self {
        self.version = Some(version);
        self
    }

    /// Answers the coordinator's challenge frame: what to send, and the handshake waiting for
    /// the welcome.
    pub fn respond(&self, frame: &str) -> Result<(PendingMiner, String), HandshakeError> {
        let (version, cc) = match decode_plain(frame)? {
            Message::Challenge { version, challenge } => {
                let known = super::version::OLDEST..=super::version::NEWEST;
                if !known.contains(&version) || self.version.is_some_and(|v| v != version) {
                    return Err(ProtocolError::Version {
                        got: version,
                        want: self.version.unwrap_or(super::version::NEWEST),
                    }
                    .into());
                }
                let cc = <[u8; 32]>::try_from(challenge.0.as_slice())
                    .map_err(|_| ProtocolError::Malformed("challenge must be 32 bytes".into()))?;
                (version, cc)
            }
            Message::Rejected { code, reason } => {
                return Err(HandshakeError::Rejected { code, reason })
            }
            _ => return Err(ProtocolError::Unexpected("before the challenge").into()),
        };
        let v2 = version >= 2;
        let t = Transcript {
            version,
            cc,
            mc: random32(),
            role: if v2 { self.role } else { PeerRole::Miner },
            identity: self.identity.clone(),
            coinbase: if v2 && self.role == PeerRole::Relay {
                String::new()
            } else {
                self.coinbase.clone()
            },
            key: if v2 {
                self.key.as_ref().map(BoxKey::public)
            } else {
                None
            },
        };
        let signature = match (&self.key, v2) {
            (Some(k), true) => Some(HexBytes(t.sign(k).to_vec())),
            _ => None,
        };
        let auth = encode_plain(&Message::Auth {
            version,
            role: v2.then_some(t.role),
            identity: t.identity.clone(),
            coinbase: t.coinbase.clone(),
            challenge: HexBytes(t.mc.to_vec()),
            key: t.key.map(|k| HexBytes(k.0.to_vec())),
            signature,
            mac: HexBytes(t.proof(&self.secret, "miner", &[])),
        });
        Ok((
            PendingMiner {
                secret: self.secret.clone(),
                t,
            },
            auth,
        ))
    }
}

impl PendingMiner {
    /// The version this handshake speaks.
    pub fn version(&self) -> u32 {
        self.t.version
    }

    /// Checks the coordinator's welcome (its proof of the secret) and starts the session.
    pub fn finish(self, frame: &str) -> Result<Session, HandshakeError> {
        self.accept(frame).map(|(session, _)| session)
    }

    /// Checks the coordinator's welcome and starts the session; also gives the coinbase the
    /// miner's records must carry (the one it asked for, unless the coordinator assigned the
    /// farm's).
    pub fn accept(self, frame: &str) -> Result<(Session, String), HandshakeError> {
        match decode_plain(frame)? {
            Message::Welcome { mac, coinbase } => {
                let assigned = match (self.t.version >= 2, coinbase) {
                    (true, Some(c)) => c,
                    (false, None) => self.t.coinbase.clone(),
                    _ => {
                        return Err(ProtocolError::Malformed(
                            "the welcome's coinbase does not match the version".into(),
                        )
                        .into())
                    }
                };
                self.t
                    .check_welcome(&self.secret, &assigned, &mac.0)
                    .map_err(|_| HandshakeError::Unproven)?;
                let session = self.t.session(&self.secret, &assigned, Role::Miner);
                Ok((session, assigned))
            }
            Message::Rejected { code, reason } => Err(HandshakeError::Rejected { code, reason }),
            _ => Err(ProtocolError::Unexpected("before the welcome").into()),
        }
    }
}
