//! Secrets: the farm's shared secret ([`Secret`]) with the rule every program applies to it
//! ([`Secret::checked`]), and [`redacted`], the serializer every config uses so that printing
//! the effective settings (`check-config`) never shows a secret.

use rand::TryRng;
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use std::fmt;

/// The farm's shared secret, held in a [`SecretSlice`]: its `Debug` never shows it and the memory
/// is wiped when it is dropped.
#[derive(Clone)]
pub struct Secret(SecretSlice<u8>);

/// The shortest shared secret the programs accept, in characters.
pub const MIN_SECRET_CHARS: usize = 16;

/// A shared secret too short to resist an offline guess from one recorded handshake. It never
/// holds (nor shows) the secret, only its length.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the shared secret is {chars} characters long; it must have at least {MIN_SECRET_CHARS} (a short one can be guessed offline from a single recorded handshake): generate one with `netcoordinator gen-secret`")]
pub struct WeakSecret {
    /// The refused secret's length in characters.
    pub chars: usize,
}

impl Secret {
    /// A secret from its text, whatever its length (see [`Secret::checked`] for the programs'
    /// rule).
    pub fn new(text: &str) -> Secret {
        Secret(SecretSlice::from(text.as_bytes().to_vec()))
    }

    /// A secret from its text, refused if shorter than [`MIN_SECRET_CHARS`] characters.
    pub fn checked(text: &str) -> Result<Secret, WeakSecret> {
        let chars = text.chars().count();
        if chars < MIN_SECRET_CHARS {
            return Err(WeakSecret { chars });
        }
        Ok(Secret::new(text))
    }

    /// The secret's bytes, for keying a MAC (never for showing).
    pub(crate) fn bytes(&self) -> &[u8] {
        self.0.expose_secret()
    }

    /// A fresh random secret's text: 32 bytes from the OS RNG, as 64 lowercase hex digits.
    pub fn generate_text() -> String {
        hex::encode(random32())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(hidden)")
    }
}

pub(crate) fn random32() -> [u8; 32] {
    let mut c = [0u8; 32];
    rand::rngs::SysRng
        .try_fill_bytes(&mut c)
        .expect("the OS random number generator failed");
    c
}

/// Serializes an optional secret as `"***"` (and an absent one as nothing), so no printed config
/// shows it. Use it as `#[serde(serialize_with = "protocol::secret::redacted")]`.
pub fn redacted<S: serde::Serializer>(v: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(_) => s.serialize_some("***"),
        None => s.serialize_none(),
    }
}
