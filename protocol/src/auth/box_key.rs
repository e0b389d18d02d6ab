//! A box's own signing key (ed25519): every netminer and relay holds one, and signs each
//! handshake with it, so the coordinator knows which box is which even among boxes that all know
//! the farm secret. The coordinator pins each identity's public key (`netcoordinator miners`).
//!
//! The key never leaves the box. Its public half travels in the `auth` message and is written for
//! people as `ed25519:<64 hex digits>` ([`PublicKey`]'s `Display` and `FromStr`), the line
//! `netminer key` prints for an operator to paste.

use crate::mac::encoded;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use std::fmt;

/// A box's secret signing key. Its `Debug` never shows it.
#[derive(Clone)]
pub struct BoxKey(SigningKey);

/// A box's public key, as the coordinator pins it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(pub [u8; 32]);

/// A text that is not `ed25519:<64 hex digits>`, or 32 bytes that are not a valid ed25519 key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a box key: expected ed25519:<64 hex digits>, as `netminer key` prints it")]
pub struct BadPublicKey(pub String);

/// The prefix of a public key's text form.
const PREFIX: &str = "ed25519:";

/// What the box signs: the label, then the handshake's fields.
pub(crate) const SIGN_LABEL: &str = "netmine/2/box";

impl BoxKey {
    /// A fresh key from the OS random number generator.
    pub fn generate() -> BoxKey {
        BoxKey(SigningKey::from_bytes(&crate::secret::random32()))
    }

    /// The key of these 32 secret bytes (the key file's content).
    pub fn from_bytes(bytes: &[u8; 32]) -> BoxKey {
        BoxKey(SigningKey::from_bytes(bytes))
    }

    /// The 32 secret bytes, to store in the key file (mode 0600). Never log them.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key().to_bytes())
    }

    /// Signs the handshake `parts` (see [`PublicKey::verify`]).
    pub(crate) fn sign(&self, parts: &[&[u8]]) -> [u8; 64] {
        self.0.sign(&encoded(SIGN_LABEL, parts)).to_bytes()
    }
}

impl fmt::Debug for BoxKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BoxKey(public {})", self.public())
    }
}

impl PublicKey {
    /// The key of 32 bytes, if they are a valid ed25519 point.
    pub fn from_bytes(bytes: &[u8]) -> Option<PublicKey> {
        let b: [u8; 32] = bytes.try_into().ok()?;
        VerifyingKey::from_bytes(&b).ok()?;
        Some(PublicKey(b))
    }

    /// Whether `signature` is this key's over the handshake `parts`.
    pub(crate) fn verify(&self, parts: &[&[u8]], signature: &[u8]) -> bool {
        let (Ok(key), Ok(sig)) = (
            VerifyingKey::from_bytes(&self.0),
            <[u8; 64]>::try_from(signature),
        ) else {
            return false;
        };
        key.verify(&encoded(SIGN_LABEL, parts), &Signature::from_bytes(&sig))
            .is_ok()
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{}", hex::encode(self.0))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::str::FromStr for PublicKey {
    type Err = BadPublicKey;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let hexpart = t.strip_prefix(PREFIX).unwrap_or(t);
        let bytes = hex::decode(hexpart).map_err(|_| BadPublicKey(t.to_string()))?;
        PublicKey::from_bytes(&bytes).ok_or_else(|| BadPublicKey(t.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_key_reads_back_and_a_signature_binds_its_parts() {
        let k = BoxKey::generate();
        let p = k.public();
        let text = p.to_string();
        assert!(
            text.starts_with("ed25519:") && text.len() == 8 + 64,
            "{text}"
        );
        assert_eq!(text.parse::<PublicKey>().unwrap(), p);
        assert!("ed25519:zz".parse::<PublicKey>().is_err());
        assert!(format!("{k:?}").contains(&text));
        let sig = k.sign(&[b"a", b"bc"]);
        assert!(p.verify(&[b"a", b"bc"], &sig));
        assert!(!p.verify(&[b"ab", b"c"], &sig));
        assert!(!BoxKey::generate().public().verify(&[b"a", b"bc"], &sig));
        assert_eq!(BoxKey::from_bytes(&k.to_bytes()).public(), p);
    }
}
