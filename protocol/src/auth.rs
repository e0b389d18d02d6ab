//! Mutual challenge authentication with a shared secret, HMAC over BLAKE2b.
//!
//! 1. The coordinator sends a fresh 32-byte challenge `cc` from the OS RNG.
//! 2. The miner answers with its own fresh challenge `mc`, its identity and coinbase, and
//!    `HMAC(secret, "miner" ‖ cc ‖ mc ‖ identity ‖ coinbase)`.
//! 3. The coordinator checks it (constant time) and answers with
//!    `HMAC(secret, "coordinator" ‖ cc ‖ mc ‖ identity ‖ coinbase)`, so the miner knows it reached a
//!    holder of the secret, not an impostor.
//!
//! Both then derive the session key `HMAC(secret, "session" ‖ cc ‖ mc ‖ identity ‖ coinbase)`, which
//! authenticates every later frame. The secret never crosses the wire; a recorded exchange is
//! useless against a new challenge. Every field is length-prefixed so no two transcripts collide.

use crate::error::ProtocolError;
use crate::frame::{decode_plain, encode_plain};
use crate::mac::{keyed, HmacB2};
use crate::message::{ConnectionRefusal, HexBytes, Message, PROTOCOL_VERSION};
use crate::secret::{random32, Secret};
use crate::session::{Role, Session};
use hmac::Mac;

/// What both sides agree on after the handshake.
#[derive(Debug, Clone)]
struct Transcript {
    cc: [u8; 32],
    mc: [u8; 32],
    identity: String,
    coinbase: String,
}

impl Transcript {
    fn mac(&self, secret: &Secret, label: &str) -> HmacB2 {
        keyed(
            secret.bytes(),
            label,
            &[
                &self.cc,
                &self.mc,
                self.identity.as_bytes(),
                self.coinbase.as_bytes(),
            ],
        )
    }

    fn proof(&self, secret: &Secret, label: &str) -> Vec<u8> {
        self.mac(secret, label).finalize().into_bytes().to_vec()
    }

    fn check(&self, secret: &Secret, label: &str, got: &[u8]) -> Result<(), ProtocolError> {
        self.mac(secret, label)
            .verify_slice(got)
            .map_err(|_| ProtocolError::WrongSecret)
    }

    fn session(&self, secret: &Secret, role: Role) -> Session {
        let mut key = [0u8; 64];
        key.copy_from_slice(&self.proof(secret, "netmine/1/session"));
        Session::new(key, role)
    }
}

/// Who the miner says it is (after it proved the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinerHello {
    /// Identity for its records.
    pub identity: String,
    /// Coinbase for its records.
    pub coinbase: String,
}

/// Coordinator side of the handshake.
#[derive(Debug)]
pub struct CoordinatorHandshake {
    secret: Secret,
    cc: [u8; 32],
}

impl CoordinatorHandshake {
    /// A new handshake and the challenge frame to send first.
    pub fn start(secret: &Secret) -> (CoordinatorHandshake, String) {
        let cc = random32();
        let frame = encode_plain(&Message::Challenge {
            version: PROTOCOL_VERSION,
            challenge: HexBytes(cc.to_vec()),
        });
        (
            CoordinatorHandshake {
                secret: secret.clone(),
                cc,
            },
            frame,
        )
    }

    /// Checks the miner's auth frame. On success returns the session, who the miner is, and the
    /// welcome frame to send. The caller decides about identities and bans.
    pub fn finish(self, frame: &str) -> Result<(Session, MinerHello, String), ProtocolError> {
        let secret = self.secret.clone();
        self.finish_for(frame, |_| secret)
    }

    /// [`finish`](Self::finish), with the secret chosen by the identity the peer announces (a
    /// coordinator holds another secret for its relays than for its miners). The MAC covers
    /// the identity, so a peer cannot pass under a name whose secret it does not know.
    pub fn finish_for(
        self,
        frame: &str,
        secret_for: impl FnOnce(&str) -> Secret,
    ) -> Result<(Session, MinerHello, String), ProtocolError> {
        let Message::Auth {
            version,
            identity,
            coinbase,
            challenge,
            mac,
        } = decode_plain(frame)?
        else {
            return Err(ProtocolError::Unexpected("before auth"));
        };
        if version != PROTOCOL_VERSION {
            return Err(ProtocolError::Version {
                got: version,
                want: PROTOCOL_VERSION,
            });
        }
        let mc: [u8; 32] = challenge
            .0
            .as_slice()
            .try_into()
            .map_err(|_| ProtocolError::Malformed("miner challenge must be 32 bytes".into()))?;
        let t = Transcript {
            cc: self.cc,
            mc,
            identity,
            coinbase,
        };
        let secret = secret_for(&t.identity);
        t.check(&secret, "netmine/1/miner", &mac.0)?;
        let welcome = encode_plain(&Message::Welcome {
            mac: HexBytes(t.proof(&secret, "netmine/1/coordinator")),
        });
        let session = t.session(&secret, Role::Coordinator);
        Ok((
            session,
            MinerHello {
                identity: t.identity,
                coinbase: t.coinbase,
            },
            welcome,
        ))
    }
}

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

/// Miner side of the handshake.
#[derive(Debug)]
pub struct MinerHandshake {
    secret: Secret,
    identity: String,
    coinbase: String,
}

/// The miner between sending auth and receiving the welcome.
#[derive(Debug)]
pub struct PendingMiner {
    secret: Secret,
    t: Transcript,
}

impl MinerHandshake {
    /// A handshake for a miner with these names.
    pub fn new(secret: &Secret, identity: &str, coinbase: &str) -> Self {
        MinerHandshake {
            secret: secret.clone(),
            identity: identity.to_string(),
            coinbase: coinbase.to_string(),
        }
    }

    /// Answers the coordinator's challenge frame.
    pub fn respond(&self, frame: &str) -> Result<(PendingMiner, String), HandshakeError> {
        let cc = match decode_plain(frame)? {
            Message::Challenge { version, challenge } => {
                if version != PROTOCOL_VERSION {
                    return Err(ProtocolError::Version {
                        got: version,
                        want: PROTOCOL_VERSION,
                    }
                    .into());
                }
                <[u8; 32]>::try_from(challenge.0.as_slice())
                    .map_err(|_| ProtocolError::Malformed("challenge must be 32 bytes".into()))?
            }
            Message::Rejected { code, reason } => {
                return Err(HandshakeError::Rejected { code, reason })
            }
            _ => return Err(ProtocolError::Unexpected("before the challenge").into()),
        };
        let t = Transcript {
            cc,
            mc: random32(),
            identity: self.identity.clone(),
            coinbase: self.coinbase.clone(),
        };
        let auth = encode_plain(&Message::Auth {
            version: PROTOCOL_VERSION,
            identity: t.identity.clone(),
            coinbase: t.coinbase.clone(),
            challenge: HexBytes(t.mc.to_vec()),
            mac: HexBytes(t.proof(&self.secret, "netmine/1/miner")),
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
    /// Checks the coordinator's welcome (its proof of the secret) and starts the session.
    pub fn finish(self, frame: &str) -> Result<Session, HandshakeError> {
        match decode_plain(frame)? {
            Message::Welcome { mac } => {
                self.t
                    .check(&self.secret, "netmine/1/coordinator", &mac.0)
                    .map_err(|_| HandshakeError::Unproven)?;
                Ok(self.t.session(&self.secret, Role::Miner))
            }
            Message::Rejected { code, reason } => Err(HandshakeError::Rejected { code, reason }),
            _ => Err(ProtocolError::Unexpected("before the welcome").into()),
        }
    }
}
