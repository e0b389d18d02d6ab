//! The coordinator's side of the handshake: [`CoordinatorHandshake::start`] sends the challenge,
//! [`CoordinatorHandshake::verify`] checks the peer's proof of the secret (and, from version 2, its
//! box key's signature) and gives a [`Verified`] peer, about which the caller decides (identities,
//! keys, coinbases, bans); [`Verified::welcome`] then proves the secret back and starts the
//! session.

use super::{MinerHello, PublicKey, Transcript};
use crate::error::ProtocolError;
use crate::frame::{decode_plain, encode_plain};
use crate::message::{HexBytes, Message, PeerRole};
use crate::secret::{random32, Secret};
use crate::session::{Role, Session};

/// Coordinator side of the handshake, between the challenge and the peer's `auth`.
#[derive(Debug)]
pub struct CoordinatorHandshake {
    secret: Secret,
    cc: [u8; 32],
    version: u32,
}

/// A peer whose proof of the secret (and signature, when it sent a key) checked out.
#[derive(Debug)]
pub struct Verified {
    t: Transcript,
    secret: Secret,
}

impl CoordinatorHandshake {
    /// A new handshake of the newest version and the challenge frame to send first.
    pub fn start(secret: &Secret) -> (CoordinatorHandshake, String) {
        Self::start_version(secret, super::version::NEWEST)
    }

    /// A new handshake of `version` (the one agreed in the upgrade, see [`super::version`]) and
    /// the challenge frame to send first.
    pub fn start_version(secret: &Secret, version: u32) -> (CoordinatorHandshake, String) {
        let cc = random32();
        let frame = encode_plain(&Message::Challenge {
            version,
            challenge: HexBytes(cc.to_vec()),
        });
        (
            CoordinatorHandshake {
                secret: secret.clone(),
                cc,
                version,
            },
            frame,
        )
    }

    /// A handshake whose challenge is `cc` rather than a fresh random one: only for replaying a
    /// recorded conversation in tests (a fixed challenge makes an `auth` replayable).
    #[doc(hidden)]
    pub fn with_challenge(secret: &Secret, version: u32, cc: [u8; 32]) -> CoordinatorHandshake {
        CoordinatorHandshake {
            secret: secret.clone(),
            cc,
            version,
        }
    }

    /// The version this handshake speaks.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Checks the miner's auth frame with the secret given at start; on success returns the
    /// session, who the miner is, and the welcome frame (the miner keeps the coinbase it asked
    /// for). See [`verify`](Self::verify) to decide before welcoming.
    pub fn finish(self, frame: &str) -> Result<(Session, MinerHello, String), ProtocolError> {
        let secret = self.secret.clone();
        self.finish_for(frame, |_| secret)
    }

    /// [`finish`](Self::finish), with the secret chosen by the identity the peer announces.
    pub fn finish_for(
        self,
        frame: &str,
        secret_for: impl FnOnce(&str) -> Secret,
    ) -> Result<(Session, MinerHello, String), ProtocolError> {
        let v = self.verify(frame, |id, _| vec![secret_for(id)])?;
        let hello = v.hello();
        let (session, welcome) = v.welcome(&hello.coinbase.clone());
        Ok((session, hello, welcome))
    }

    /// Checks the peer's auth frame. `secrets_for(identity, role)` gives the secrets that peer may
    /// prove (a coordinator holds another secret for its relays, and accepts the previous farm
    /// secret while it is being rotated); the MAC covers the identity and role, so a peer cannot
    /// pass under a name whose secret it does not know. A key that is sent must sign the
    /// transcript.
    pub fn verify(
        self,
        frame: &str,
        secrets_for: impl FnOnce(&str, PeerRole) -> Vec<Secret>,
    ) -> Result<Verified, ProtocolError> {
        let Message::Auth {
            version,
            role,
            identity,
            coinbase,
            challenge,
            key,
            signature,
            mac,
        } = decode_plain(frame)?
        else {
            return Err(ProtocolError::Unexpected("before auth"));
        };
        if version != self.version {
            return Err(ProtocolError::Version {
                got: version,
                want: self.version,
            });
        }
        if version < 2 && (role.is_some() || key.is_some() || signature.is_some()) {
            return Err(ProtocolError::Malformed(
                "a version-1 auth carries no role, key or signature".into(),
            ));
        }
        let mc: [u8; 32] = challenge
            .0
            .as_slice()
            .try_into()
            .map_err(|_| ProtocolError::Malformed("miner challenge must be 32 bytes".into()))?;
        let key = match key {
            Some(k) => Some(
                PublicKey::from_bytes(&k.0)
                    .ok_or_else(|| ProtocolError::Malformed("key is not an ed25519 key".into()))?,
            ),
            None => None,
        };
        let t = Transcript {
            version,
            cc: self.cc,
            mc,
            role: role.unwrap_or_default(),
            identity,
            coinbase,
            key,
        };
        let secret = secrets_for(&t.identity, t.role)
            .into_iter()
            .find(|s| t.check(s, "miner", &[], &mac.0).is_ok())
            .ok_or(ProtocolError::WrongSecret)?;
        match (&t.key, signature) {
            (None, None) => {}
            (Some(_), Some(sig)) if t.signed(&sig.0) => {}
            (Some(_), Some(_)) => return Err(ProtocolError::BadSignature),
            _ => {
                return Err(ProtocolError::Malformed(
                    "a key comes with its signature, and a signature with its key".into(),
                ))
            }
        }
        Ok(Verified { t, secret })
    }
}

impl Verified {
    /// The names the peer gave (identity, and the coinbase it asked for).
    pub fn hello(&self) -> MinerHello {
        MinerHello {
            identity: self.t.identity.clone(),
            coinbase: self.t.coinbase.clone(),
        }
    }

    /// The identity the peer gave.
    pub fn identity(&self) -> &str {
        &self.t.identity
    }

    /// The protocol version of this handshake.
    pub fn version(&self) -> u32 {
        self.t.version
    }

    /// What the peer says it is (a version-1 peer: a miner).
    pub fn role(&self) -> PeerRole {
        self.t.role
    }

    /// The box key that signed the transcript (version 2; `None`: an unsigned peer).
    pub fn key(&self) -> Option<PublicKey> {
        self.t.key
    }

    /// Welcomes the peer: the session, and the welcome frame proving the secret back. `coinbase`
    /// is the one its records must carry (version 2; a version-1 peer keeps the one it asked
    /// for, so the caller must refuse it rather than assign it another).
    pub fn welcome(self, coinbase: &str) -> (Session, String) {
        let assigned = if self.t.version >= 2 {
            coinbase
        } else {
            &self.t.coinbase
        };
        let welcome = encode_plain(&Message::Welcome {
            mac: HexBytes(self.t.welcome_proof(&self.secret, assigned)),
            coinbase: (self.t.version >= 2).then(|| assigned.to_string()),
        });
        (
            self.t.session(&self.secret, assigned, Role::Coordinator),
            welcome,
        )
    }
}
