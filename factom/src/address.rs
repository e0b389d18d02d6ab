//! Factom addresses and keys (spec `factom-node.md` §6): `base58(prefix ‖ body ‖ checksum)`.
//!
//! | kind | prefix | body |
//! |---|---|---|
//! | `FA` Factoid public | `5f b1` | RCD-1 hash |
//! | `Fs` Factoid secret | `64 78` | Ed25519 seed |
//! | `EC` entry-credit public | `59 2a` | Ed25519 public key |
//! | `Es` entry-credit secret | `5d b6` | Ed25519 seed |

use crate::error::AddressError;
use ed25519_dalek::{SigningKey, VerifyingKey};
use secrecy::{ExposeSecret, SecretBox};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// The four kinds of Factom address strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressKind {
    /// `FA…`
    FactoidPublic,
    /// `Fs…`
    FactoidSecret,
    /// `EC…`
    EcPublic,
    /// `Es…`
    EcSecret,
}

impl AddressKind {
    fn prefix(self) -> [u8; 2] {
        match self {
            AddressKind::FactoidPublic => [0x5f, 0xb1],
            AddressKind::FactoidSecret => [0x64, 0x78],
            AddressKind::EcPublic => [0x59, 0x2a],
            AddressKind::EcSecret => [0x5d, 0xb6],
        }
    }

    fn from_prefix(p: [u8; 2]) -> Option<Self> {
        [
            AddressKind::FactoidPublic,
            AddressKind::FactoidSecret,
            AddressKind::EcPublic,
            AddressKind::EcSecret,
        ]
        .into_iter()
        .find(|k| k.prefix() == p)
    }

    /// Human name, e.g. "an EC (entry-credit public)".
    pub fn describe(self) -> &'static str {
        match self {
            AddressKind::FactoidPublic => "an FA (Factoid public)",
            AddressKind::FactoidSecret => "an Fs (Factoid secret)",
            AddressKind::EcPublic => "an EC (entry-credit public)",
            AddressKind::EcSecret => "an Es (entry-credit secret)",
        }
    }

    fn is_secret(self) -> bool {
        matches!(self, AddressKind::FactoidSecret | AddressKind::EcSecret)
    }
}

fn sha256d(data: &[u8]) -> [u8; 32] {
    Sha256::digest(Sha256::digest(data)).into()
}

/// Encodes a body of the given kind.
pub fn encode(kind: AddressKind, body: &[u8; 32]) -> String {
    let mut raw = Vec::with_capacity(38);
    raw.extend_from_slice(&kind.prefix());
    raw.extend_from_slice(body);
    let check = sha256d(&raw);
    raw.extend_from_slice(&check[..4]);
    bs58::encode(raw).into_string()
}

/// Decodes and validates any Factom address string.
pub fn decode(s: &str) -> Result<(AddressKind, [u8; 32]), AddressError> {
    if s.is_empty() {
        return Err(AddressError::Empty);
    }
    let raw = bs58::decode(s).into_vec().map_err(|e| match e {
        bs58::decode::Error::InvalidCharacter { character, index } => AddressError::NotBase58 {
            addr: redact(s, None),
            ch: character,
            pos: index + 1,
        },
        _ => AddressError::WrongLength {
            addr: redact(s, None),
            chars: s.chars().count(),
            bytes: 0,
        },
    })?;
    if raw.len() != 38 || s.chars().count() != 52 {
        return Err(AddressError::WrongLength {
            addr: redact(s, None),
            chars: s.chars().count(),
            bytes: raw.len(),
        });
    }
    if sha256d(&raw[..34])[..4] != raw[34..] {
        return Err(AddressError::BadChecksum {
            addr: redact(s, None),
        });
    }
    let prefix = [raw[0], raw[1]];
    let kind = AddressKind::from_prefix(prefix).ok_or_else(|| AddressError::UnknownPrefix {
        addr: redact(s, None),
        prefix,
    })?;
    let mut body = [0u8; 32];
    body.copy_from_slice(&raw[2..34]);
    Ok((kind, body))
}

/// Secrets never appear in error messages or logs. A string that did not decode could be a
/// mistyped secret whatever it starts with, so only strings that look like public addresses (`FA`,
/// `EC`) are shown; anything else shows its first two characters and its length.
fn redact(s: &str, kind: Option<AddressKind>) -> String {
    let public = match kind {
        Some(k) => !k.is_secret(),
        None => s.starts_with("FA") || s.starts_with("EC"),
    };
    if public {
        s.to_string()
    } else {
        let head: String = s.chars().take(2).collect();
        format!("{head}…({} characters, hidden)", s.chars().count())
    }
}

fn decode_kind(s: &str, want: AddressKind) -> Result<[u8; 32], AddressError> {
    let (kind, body) = decode(s)?;
    if kind != want {
        return Err(AddressError::WrongKind {
            addr: redact(s, Some(kind)),
            expected: want.describe(),
            found: kind.describe(),
        });
    }
    Ok(body)
}

/// An entry-credit public address (`EC…`): the raw Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct EcAddress(pub [u8; 32]);

impl EcAddress {
    /// The public key bytes.
    pub fn public_key(&self) -> &[u8; 32] {
        &self.0
    }
}

impl FromStr for EcAddress {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        decode_kind(s.trim(), AddressKind::EcPublic).map(EcAddress)
    }
}

impl fmt::Display for EcAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&encode(AddressKind::EcPublic, &self.0))
    }
}

impl fmt::Debug for EcAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EcAddress({self})")
    }
}

/// An entry-credit secret (`Es…`): signs commits. The seed is held in a [`SecretBox`]: no `Debug`
/// shows it, and it is wiped when dropped.
pub struct EcSecret(SecretBox<[u8; 32]>);

impl Clone for EcSecret {
    fn clone(&self) -> Self {
        Self::from_seed(*self.0.expose_secret())
    }
}

impl EcSecret {
    /// From a 32-byte Ed25519 seed.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        EcSecret(SecretBox::new(Box::new(seed)))
    }

    /// A fresh key from the OS random number generator.
    pub fn generate() -> Self {
        let mut seed = [0u8; 32];
        rand::TryRng::try_fill_bytes(&mut rand::rngs::SysRng, &mut seed)
            .expect("the OS random number generator failed");
        Self::from_seed(seed)
    }

    /// The matching public address.
    pub fn public(&self) -> EcAddress {
        EcAddress(self.signing_key().verifying_key().to_bytes())
    }

    /// The `Es…` string. Handle with care: it is the key.
    pub fn to_secret_string(&self) -> String {
        encode(AddressKind::EcSecret, self.0.expose_secret())
    }

    /// The signing key (wiped when dropped), made from the seed when needed.
    pub(crate) fn signing_key(&self) -> SigningKey {
        SigningKey::from_bytes(self.0.expose_secret())
    }
}

impl FromStr for EcSecret {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        decode_kind(s.trim(), AddressKind::EcSecret).map(EcSecret::from_seed)
    }
}

impl fmt::Debug for EcSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EcSecret(public {})", self.public())
    }
}

/// A Factoid public address (`FA…`): the RCD-1 hash of a key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FactoidAddress(pub [u8; 32]);

impl FactoidAddress {
    /// The address of an Ed25519 public key: RCD-1 = `0x01 ‖ key`, hashed with SHA-256d.
    pub fn from_public_key(key: &[u8; 32]) -> Self {
        let mut rcd = [0u8; 33];
        rcd[0] = 1;
        rcd[1..].copy_from_slice(key);
        FactoidAddress(sha256d(&rcd))
    }
}

impl FromStr for FactoidAddress {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        decode_kind(s.trim(), AddressKind::FactoidPublic).map(FactoidAddress)
    }
}

impl fmt::Display for FactoidAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&encode(AddressKind::FactoidPublic, &self.0))
    }
}

impl fmt::Debug for FactoidAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FactoidAddress({self})")
    }
}

/// A Factoid secret (`Fs…`).
#[derive(Clone)]
pub struct FactoidSecret(SigningKey);

impl FactoidSecret {
    /// A fresh key from the OS random number generator.
    pub fn generate() -> Self {
        let mut seed = [0u8; 32];
        rand::TryRng::try_fill_bytes(&mut rand::rngs::SysRng, &mut seed)
            .expect("the OS random number generator failed");
        FactoidSecret(SigningKey::from_bytes(&seed))
    }

    /// The matching public address.
    pub fn public(&self) -> FactoidAddress {
        FactoidAddress::from_public_key(&self.0.verifying_key().to_bytes())
    }

    /// The `Fs…` string.
    pub fn to_secret_string(&self) -> String {
        encode(AddressKind::FactoidSecret, &self.0.to_bytes())
    }
}

impl FromStr for FactoidSecret {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        decode_kind(s.trim(), AddressKind::FactoidSecret)
            .map(|seed| FactoidSecret(SigningKey::from_bytes(&seed)))
    }
}

impl fmt::Debug for FactoidSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FactoidSecret(public {})", self.public())
    }
}

/// Checks an Ed25519 public key is a valid curve point (used when verifying commits).
pub(crate) fn verifying_key(key: &[u8; 32]) -> Option<VerifyingKey> {
    VerifyingKey::from_bytes(key).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_vectors() {
        let a1: EcSecret = "Es2Rf7iM6PdsqfYCo3D1tnAR65SkLENyWJG1deUzpRMQmbh9F3eG"
            .parse()
            .unwrap();
        assert_eq!(
            hex::encode(a1.public().0),
            "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29"
        );
        assert_eq!(
            a1.public().to_string(),
            "EC2DKSYyRcNWf7RS963VFYgMExoHRYLHVeCfQ9PGPmNzwrcmgm2r"
        );
        assert_eq!(
            a1.to_secret_string(),
            "Es2Rf7iM6PdsqfYCo3D1tnAR65SkLENyWJG1deUzpRMQmbh9F3eG"
        );
        let zero: EcAddress = "EC1m9mouvUQeEidmqpUYpYtXg8fvTYi6GNHaKg8KMLbdMBrFfmUa"
            .parse()
            .unwrap();
        assert_eq!(zero.0, [0; 32]);
        let fs: FactoidSecret = "Fs1KWJrpLdfucvmYwN2nWrwepLn8ercpMbzXshd1g8zyhKXLVLWj"
            .parse()
            .unwrap();
        assert_eq!(
            hex::encode(fs.public().0),
            "031cce24bcc43b596af105167de2c03603c20ada3314a7cfb47befcad4883e6f"
        );
        assert_eq!(
            fs.public().to_string(),
            "FA1zT4aFpEvcnPqPCigB3fvGu4Q4mTXY22iiuV69DqE1pNhdF2MC"
        );
        let pegnet: EcSecret = "Es2XT3jSxi1xqrDvS5JERM3W3jh1awRHuyoahn3hbQLyfEi1jvbq"
            .parse()
            .unwrap();
        assert_eq!(
            pegnet.public().to_string(),
            "EC3TsJHUs8bzbbVnratBafub6toRYdgzgbR7kWwCW4tqbmyySRmg"
        );
        let local: FactoidSecret = "Fs3E9gV6DXsYzf7Fqx1fVBQPQXV695eP3k5XbmHEZVRLkMdD9qCK"
            .parse()
            .unwrap();
        assert_eq!(
            local.public().to_string(),
            "FA2jK2HcLnRdS94dEcU27rF3meoJfpUcZPSinpb7AwQvPRY6RL1Q"
        );
        let burn: EcAddress = "EC2BURNFCT2PEGNETooo1oooo1oooo1oooo1oooo1oooo19wthin"
            .parse()
            .unwrap();
        assert_eq!(
            hex::encode(burn.0),
            "37399721298d77984585040ea61055377039a4c3f3e2cd48c46ff643d50fd64f"
        );
    }

    #[test]
    fn library_negative_cases() {
        assert!(matches!(
            "FX1zT4aFpEvcnPqPCigB3fvGu4Q4mTXY22iiuV69DqE1pNhdF2MX".parse::<FactoidAddress>(),
            Err(AddressError::BadChecksum { .. } | AddressError::UnknownPrefix { .. })
        ));
        assert!(matches!(
            "EC1m9mouvUQeEidmqpUYpYtXgfvTYi6GNHaKg8KMLbdMBrFfmUa".parse::<EcAddress>(),
            Err(AddressError::WrongLength { .. })
        ));
        assert!(matches!(
            "EC1m9mouvUQeEidmqpUYpYtXg8fvTYi6GNHaKg8KMLbdMBrFfgUa".parse::<EcAddress>(),
            Err(AddressError::BadChecksum { .. })
        ));
        let e = "Es2Rf7iM6PdsqfYCo3D1tnAR65SkLENyWJG1deUzpRMQmbh9F3ea"
            .parse::<EcSecret>()
            .unwrap_err();
        assert!(matches!(e, AddressError::BadChecksum { .. }));
        assert!(!e.to_string().contains("Rf7iM6"), "secret leaked: {e}");
    }

    #[test]
    fn wrong_kind_and_bad_characters() {
        let e = "FA1zT4aFpEvcnPqPCigB3fvGu4Q4mTXY22iiuV69DqE1pNhdF2MC"
            .parse::<EcAddress>()
            .unwrap_err();
        assert!(e.to_string().contains("expected an EC"), "{e}");
        let e = "Es2Rf7iM6PdsqfYCo3D1tnAR65SkLENyWJG1deUzpRMQmbh9F3eG"
            .parse::<EcAddress>()
            .unwrap_err();
        assert!(!e.to_string().contains("Rf7iM6"), "secret leaked: {e}");
        let e = "EC0m9mouvUQeEidmqpUYpYtXg8fvTYi6GNHaKg8KMLbdMBrFfmUa"
            .parse::<EcAddress>()
            .unwrap_err();
        assert!(
            matches!(
                e,
                AddressError::NotBase58 {
                    ch: '0',
                    pos: 3,
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!("".parse::<EcAddress>().unwrap_err(), AddressError::Empty);
    }

    #[test]
    fn a_mistyped_secret_is_never_echoed() {
        let good = EcSecret::generate().to_secret_string();
        let body = &good[2..];
        let mut typos = vec![
            format!("{}0{}", &good[..10], &good[11..]), // not base58
            good[..51].to_string(),                     // a character lost
            format!("{good}x"),                         // one too many
            format!(
                "{}{}{}{}",
                &good[..20],
                &good[21..22],
                &good[20..21],
                &good[22..]
            ), // swapped
            format!("Ex{body}"),                        // a typo in the prefix
            format!("E{}", &good[2..]),
        ];
        // One changed character (a checksum or prefix error).
        let c = if good.as_bytes()[30] == b'2' {
            '3'
        } else {
            '2'
        };
        typos.push(format!("{}{c}{}", &good[..30], &good[31..]));
        for t in &typos {
            let e = t.parse::<EcSecret>().unwrap_err();
            for shown in [e.to_string(), format!("{e:?}")] {
                assert!(!shown.contains(&body[5..15]), "secret leaked: {shown}");
            }
            for shown in [
                t.parse::<EcAddress>().unwrap_err().to_string(),
                t.parse::<FactoidAddress>().unwrap_err().to_string(),
            ] {
                assert!(!shown.contains(&body[5..15]), "secret leaked: {shown}");
            }
        }
    }

    #[test]
    fn generated_keys_round_trip() {
        let k = EcSecret::generate();
        let again: EcSecret = k.to_secret_string().parse().unwrap();
        assert_eq!(again.public(), k.public());
        assert_eq!(k.public().to_string().len(), 52);
        assert!(format!("{k:?}").starts_with("EcSecret(public EC"));
        let f = FactoidSecret::generate();
        assert!(f.public().to_string().starts_with("FA"));
    }
}
