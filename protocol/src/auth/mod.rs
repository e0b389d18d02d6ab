//! Mutual challenge authentication: the farm's shared secret (HMAC over BLAKE2b) proves both
//! sides belong to the farm; from version 2 on, the box's own key (ed25519) proves which box is
//! which.
//!
//! 1. The coordinator sends a fresh 32-byte challenge `cc` from the OS RNG (and the version the
//!    upgrade agreed on, see [`version`]).
//! 2. The miner answers with its own fresh challenge `mc`, its identity and coinbase (version 2:
//!    its role and its box key, and the key's signature over the transcript), and
//!    `HMAC(secret, "miner" ‖ transcript)`.
//! 3. The coordinator checks the MAC in constant time (and the signature), decides (the
//!    coordinator's policy: the key pinned for the identity, the coinbase to pay), and answers
//!    with `HMAC(secret, "coordinator" ‖ transcript ‖ assigned coinbase)`, so the miner knows it
//!    reached a holder of the secret, not an impostor, and which coinbase its records carry.
//!
//! Both then derive the session key `HMAC(secret, "session" ‖ transcript ‖ …)`, which
//! authenticates every later frame. The secret never crosses the wire; a recorded exchange is
//! useless against a new challenge. Every field is length-prefixed so no two transcripts collide,
//! and version 2's transcript starts with the version, so a proof for one version never verifies
//! for another.
//!
//! * [`coordinator`]: the coordinator's side ([`CoordinatorHandshake`], then [`Verified`]);
//! * [`miner`]: the miner's (and the relay's) side ([`MinerHandshake`], then [`PendingMiner`]);
//! * [`box_key`]: the box's signing key and its public half's text form;
//! * [`version`]: how the two sides agree on a version before the first frame.

pub mod box_key;
pub mod coordinator;
pub mod miner;
pub mod version;

pub use box_key::{BadPublicKey, BoxKey, PublicKey};
pub use coordinator::{CoordinatorHandshake, Verified};
pub use miner::{HandshakeError, MinerHandshake, PendingMiner};

use crate::error::ProtocolError;
use crate::mac::{keyed, HmacB2};
use crate::message::PeerRole;
use crate::secret::Secret;
use crate::session::{Role, Session};
use hmac::Mac;

/// Who the miner says it is (after it proved the secret): the names its records carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinerHello {
    /// Identity for its records.
    pub identity: String,
    /// Coinbase for its records (the one it asked for; see [`Verified::welcome`] for the one it
    /// gets).
    pub coinbase: String,
}

/// What both sides agree on during the handshake.
#[derive(Debug, Clone)]
pub(crate) struct Transcript {
    pub(crate) version: u32,
    pub(crate) cc: [u8; 32],
    pub(crate) mc: [u8; 32],
    pub(crate) role: PeerRole,
    pub(crate) identity: String,
    pub(crate) coinbase: String,
    pub(crate) key: Option<PublicKey>,
}

impl Transcript {
    /// `netmine/<version>/<what>`: version 1's labels are the ones it always had.
    fn label(&self, what: &str) -> String {
        format!("netmine/{}/{what}", self.version.min(2))
    }

    /// The fields every proof covers, in order.
    fn with_parts<T>(&self, extra: &[&[u8]], f: impl FnOnce(&[&[u8]]) -> T) -> T {
        let version = self.version.to_be_bytes();
        let key = self.key.map(|k| k.0);
        let mut parts: Vec<&[u8]> = Vec::with_capacity(8);
        if self.version >= 2 {
            parts.push(&version);
        }
        parts.extend([&self.cc[..], &self.mc[..]]);
        if self.version >= 2 {
            parts.push(self.role.name().as_bytes());
        }
        parts.extend([self.identity.as_bytes(), self.coinbase.as_bytes()]);
        if self.version >= 2 {
            parts.push(key.as_ref().map_or(&[][..], |k| &k[..]));
        }
        parts.extend_from_slice(extra);
        f(&parts)
    }

    /// Version 1 covers nothing the coordinator assigns; version 2 covers the coinbase.
    fn assigned<'a>(&self, coinbase: &'a str) -> Vec<&'a [u8]> {
        if self.version >= 2 {
            vec![coinbase.as_bytes()]
        } else {
            Vec::new()
        }
    }

    fn mac(&self, secret: &Secret, what: &str, extra: &[&[u8]]) -> HmacB2 {
        let label = self.label(what);
        self.with_parts(extra, |parts| keyed(secret.bytes(), &label, parts))
    }

    pub(crate) fn proof(&self, secret: &Secret, what: &str, extra: &[&[u8]]) -> Vec<u8> {
        self.mac(secret, what, extra)
            .finalize()
            .into_bytes()
            .to_vec()
    }

    pub(crate) fn check(
        &self,
        secret: &Secret,
        what: &str,
        extra: &[&[u8]],
        got: &[u8],
    ) -> Result<(), ProtocolError> {
        self.mac(secret, what, extra)
            .verify_slice(got)
            .map_err(|_| ProtocolError::WrongSecret)
    }

    /// The box key's signature over the transcript.
    pub(crate) fn sign(&self, key: &BoxKey) -> [u8; 64] {
        self.with_parts(&[], |parts| key.sign(parts))
    }

    /// Whether `signature` is the transcript's key's over the transcript.
    pub(crate) fn signed(&self, signature: &[u8]) -> bool {
        match self.key {
            Some(k) => self.with_parts(&[], |parts| k.verify(parts, signature)),
            None => false,
        }
    }

    /// The welcome's proof, covering the coinbase the coordinator assigns.
    pub(crate) fn welcome_proof(&self, secret: &Secret, assigned: &str) -> Vec<u8> {
        self.proof(secret, "coordinator", &self.assigned(assigned))
    }

    pub(crate) fn check_welcome(
        &self,
        secret: &Secret,
        assigned: &str,
        got: &[u8],
    ) -> Result<(), ProtocolError> {
        self.check(secret, "coordinator", &self.assigned(assigned), got)
    }

    pub(crate) fn session(&self, secret: &Secret, assigned: &str, role: Role) -> Session {
        let mut key = [0u8; 64];
        key.copy_from_slice(&self.proof(secret, "session", &self.assigned(assigned)));
        Session::new(key, role)
    }
}
