//! The 136-byte commit-entry message (spec `factom-node.md` §5.4), signed with the EC key.
//!
//! Layout: version (1 byte, 0) ‖ timestamp in ms (6 bytes, big-endian) ‖ entry hash (32) ‖
//! credits (1) ‖ EC public key (32) ‖ Ed25519 signature (64) over the first 40 bytes. Paying for
//! an entry takes this commit plus a reveal of the marshalled entry; [`compose`] builds both.

use crate::address::{verifying_key, EcAddress, EcSecret};
use crate::entry::{Entry, Hash32};
use crate::error::{CommitError, EntryError};
use ed25519_dalek::{Signature, Signer, Verifier};
use sha2::{Digest, Sha256};

/// Length of a commit message in bytes; factomd ignores anything after it.
pub const COMMIT_LEN: usize = 136;
/// Length of the signed part: version, timestamp, entry hash and credits.
const SIGNED_LEN: usize = 40;

/// A commit: pays `credits` entry credits from `ec_public` for the entry with `entry_hash`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// Unix time in milliseconds (48 bits on the wire). Should be the current time: factomd drops
    /// commits outside ±60 minutes of its own clock.
    pub timestamp_ms: u64,
    /// Hash of the entry being paid for (see [`crate::entry::hash_marshalled`]).
    pub entry_hash: Hash32,
    /// Entry credits paid, 1..=10: one per started KiB of the entry's payload.
    pub credits: u8,
    /// The EC address (its raw Ed25519 public key) whose balance pays; also the key that
    /// verifies `signature`.
    pub ec_public: EcAddress,
    /// Ed25519 signature over the first 40 bytes.
    pub signature: [u8; 64],
}

impl Commit {
    /// Signs a commit paying `credits` from `key` for `entry_hash`, stamped `timestamp_ms` (cut
    /// to 48 bits). Does not check `credits`; [`compose`] derives it from the entry.
    pub fn sign(entry_hash: Hash32, credits: u8, timestamp_ms: u64, key: &EcSecret) -> Commit {
        let mut c = Commit {
            timestamp_ms: timestamp_ms & 0xffff_ffff_ffff,
            entry_hash,
            credits,
            ec_public: key.public(),
            signature: [0; 64],
        };
        c.signature = key.signing_key().sign(&c.signed_part()).to_bytes();
        c
    }

    fn signed_part(&self) -> [u8; SIGNED_LEN] {
        let mut b = [0u8; SIGNED_LEN];
        b[1..7].copy_from_slice(&self.timestamp_ms.to_be_bytes()[2..]);
        b[7..39].copy_from_slice(&self.entry_hash);
        b[39] = self.credits;
        b
    }

    /// The 136 bytes sent, hex-encoded, as `commit-entry`'s `message`.
    pub fn to_bytes(&self) -> [u8; COMMIT_LEN] {
        let mut b = [0u8; COMMIT_LEN];
        b[..SIGNED_LEN].copy_from_slice(&self.signed_part());
        b[40..72].copy_from_slice(&self.ec_public.0);
        b[72..].copy_from_slice(&self.signature);
        b
    }

    /// Parses a commit as factomd does: at least 136 bytes (extra bytes ignored), version 0,
    /// credits 1..=10. The signature is checked by [`Commit::verify`].
    pub fn parse(b: &[u8]) -> Result<Commit, CommitError> {
        if b.len() < COMMIT_LEN {
            return Err(CommitError::TooShort(b.len()));
        }
        if b[0] != 0 {
            return Err(CommitError::BadVersion(b[0]));
        }
        let mut ts = [0u8; 8];
        ts[2..].copy_from_slice(&b[1..7]);
        let mut entry_hash = [0u8; 32];
        entry_hash.copy_from_slice(&b[7..39]);
        let credits = b[39];
        if !(1..=10).contains(&credits) {
            return Err(CommitError::BadCredits(credits));
        }
        let mut key = [0u8; 32];
        key.copy_from_slice(&b[40..72]);
        let mut signature = [0u8; 64];
        signature.copy_from_slice(&b[72..136]);
        Ok(Commit {
            timestamp_ms: u64::from_be_bytes(ts),
            entry_hash,
            credits,
            ec_public: EcAddress(key),
            signature,
        })
    }

    /// Checks the Ed25519 signature over the signed part under `ec_public`, as factomd does
    /// before accepting a commit.
    pub fn verify(&self) -> Result<(), CommitError> {
        let key = verifying_key(&self.ec_public.0).ok_or(CommitError::BadSignature)?;
        key.verify(&self.signed_part(), &Signature::from_bytes(&self.signature))
            .map_err(|_| CommitError::BadSignature)
    }

    /// The transaction id factomd reports: SHA-256 of the first 40 bytes.
    pub fn txid(&self) -> Hash32 {
        Sha256::digest(self.signed_part()).into()
    }
}

/// A signed commit and the matching reveal payload, ready for factomd.
#[derive(Debug, Clone)]
pub struct ComposedEntry {
    /// The signed commit, sent first with `commit-entry`.
    pub commit: Commit,
    /// The marshalled entry, sent hex-encoded with `reveal-entry`.
    pub reveal: Vec<u8>,
    /// Hash of the marshalled entry: what the commit pays for and how factomd pairs the two.
    pub entry_hash: Hash32,
}

/// Builds the commit (paying the entry's cost) and the reveal for `entry`.
pub fn compose(
    entry: &Entry,
    key: &EcSecret,
    timestamp_ms: u64,
) -> Result<ComposedEntry, EntryError> {
    let reveal = entry.marshal()?;
    let entry_hash = crate::entry::hash_marshalled(&reveal);
    let commit = Commit::sign(entry_hash, entry.cost()?, timestamp_ms, key);
    Ok(ComposedEntry {
        commit,
        reveal,
        entry_hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::chain_id;

    #[test]
    fn c1_vector() {
        let key: EcSecret = "Es2Rf7iM6PdsqfYCo3D1tnAR65SkLENyWJG1deUzpRMQmbh9F3eG"
            .parse()
            .unwrap();
        let e = Entry {
            chain_id: chain_id(&[b"test"]),
            ext_ids: vec![b"test".to_vec()],
            content: b"test!".to_vec(),
        };
        let c = compose(&e, &key, 1_600_000_000_000).unwrap();
        assert_eq!(
            hex::encode(c.commit.signed_part()),
            "000174876e8000285ed45081d5b8819a678d13c7c2d04f704b34c74e8aaecd9bd34609bee0472001"
        );
        assert_eq!(hex::encode(c.commit.to_bytes()), "000174876e8000285ed45081d5b8819a678d13c7c2d04f704b34c74e8aaecd9bd34609bee04720013b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da296bc94eeed188fecfdce967c91e5aa89cbebabe2040fc539b28fa5538634cd5b0ccc1335e2bb6133a156103e9b312e4fa273efe7e119ab8f0f7e77d2d0b77e202");
        assert_eq!(
            hex::encode(c.commit.txid()),
            "9f149970bacd0ab1f862f9026e6a3820fb7f40b9544f8babba17ea4cf5ee313f"
        );
        let parsed = Commit::parse(&c.commit.to_bytes()).unwrap();
        assert_eq!(parsed, c.commit);
        parsed.verify().unwrap();
    }

    #[test]
    fn tampering_and_bad_fields_are_detected() {
        let key = EcSecret::generate();
        let c = Commit::sign([7; 32], 1, 1_700_000_000_000, &key);
        let mut b = c.to_bytes();
        b[10] ^= 1;
        assert_eq!(
            Commit::parse(&b).unwrap().verify(),
            Err(CommitError::BadSignature)
        );
        let mut b = c.to_bytes();
        b[39] = 11;
        assert_eq!(Commit::parse(&b), Err(CommitError::BadCredits(11)));
        b[39] = 0;
        assert_eq!(Commit::parse(&b), Err(CommitError::BadCredits(0)));
        let mut b = c.to_bytes();
        b[0] = 1;
        assert_eq!(Commit::parse(&b), Err(CommitError::BadVersion(1)));
        assert_eq!(Commit::parse(&b[..100]), Err(CommitError::TooShort(100)));
    }
}
