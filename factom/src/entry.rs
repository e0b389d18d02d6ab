//! Factom entries (spec `factom-node.md` §5): binary layout, entry hash, chain ID, cost.

use crate::error::EntryError;
use sha2::{Digest, Sha256, Sha512};

/// Largest payload (ExtIDs with their length prefixes, plus content) an entry may carry.
pub const MAX_PAYLOAD: usize = 10_240;
/// Bytes before the payload: version, chain ID, ExtID section length.
pub const HEADER_LEN: usize = 35;

/// A 32-byte hash (chain ID, entry hash, key MR…).
pub type Hash32 = [u8; 32];

/// An entry: a chain, external IDs and content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The chain it belongs to.
    pub chain_id: Hash32,
    /// The external IDs, in order (PegNet's OPRs: nonce, self-reported difficulty, version).
    pub ext_ids: Vec<Vec<u8>>,
    /// The content bytes (an OPR's JSON or protobuf).
    pub content: Vec<u8>,
}

/// The chain ID a chain's first entry with these ExtIDs creates:
/// `SHA256(SHA256(ext_0) ‖ SHA256(ext_1) ‖ …)`.
pub fn chain_id<T: AsRef<[u8]>>(ext_ids: &[T]) -> Hash32 {
    let mut outer = Sha256::new();
    for e in ext_ids {
        outer.update(Sha256::digest(e.as_ref()));
    }
    outer.finalize().into()
}

impl Entry {
    /// Bytes of ExtIDs (with their 2-byte length prefixes) plus content.
    pub fn payload_len(&self) -> usize {
        self.ext_ids.iter().map(|e| 2 + e.len()).sum::<usize>() + self.content.len()
    }

    /// Entry credits this entry costs: one per started KiB of payload, at least 1.
    pub fn cost(&self) -> Result<u8, EntryError> {
        let p = self.payload_len();
        if p > MAX_PAYLOAD {
            return Err(EntryError::TooLarge(p));
        }
        Ok(p.div_ceil(1024).max(1) as u8)
    }

    /// The binary form revealed to factomd. Fails for entries over the size limit.
    pub fn marshal(&self) -> Result<Vec<u8>, EntryError> {
        self.cost()?;
        let ext_len: usize = self.ext_ids.iter().map(|e| 2 + e.len()).sum();
        let mut out = Vec::with_capacity(HEADER_LEN + self.payload_len());
        out.push(0);
        out.extend_from_slice(&self.chain_id);
        out.extend_from_slice(&(ext_len as u16).to_be_bytes());
        for e in &self.ext_ids {
            out.extend_from_slice(&(e.len() as u16).to_be_bytes());
            out.extend_from_slice(e);
        }
        out.extend_from_slice(&self.content);
        Ok(out)
    }

    /// Parses the binary form (without the size limit, which is checked separately).
    pub fn unmarshal(data: &[u8]) -> Result<Entry, EntryError> {
        let bad = |m: &str| EntryError::Malformed(m.to_string());
        if data.len() < HEADER_LEN {
            return Err(bad("shorter than the 35-byte header"));
        }
        if data[0] != 0 {
            return Err(EntryError::Malformed(format!(
                "version {} (expected 0)",
                data[0]
            )));
        }
        let mut chain_id = [0u8; 32];
        chain_id.copy_from_slice(&data[1..33]);
        let ext_len = u16::from_be_bytes([data[33], data[34]]) as usize;
        let ext_end = HEADER_LEN + ext_len;
        if ext_end > data.len() {
            return Err(bad("ExtID section runs past the end"));
        }
        let mut ext_ids = Vec::new();
        let mut p = HEADER_LEN;
        while p < ext_end {
            if p + 2 > ext_end {
                return Err(bad("ExtID length prefix cut short"));
            }
            let n = u16::from_be_bytes([data[p], data[p + 1]]) as usize;
            p += 2;
            if n > MAX_PAYLOAD || p + n > ext_end {
                return Err(bad("ExtID longer than its section"));
            }
            ext_ids.push(data[p..p + n].to_vec());
            p += n;
        }
        Ok(Entry {
            chain_id,
            ext_ids,
            content: data[ext_end..].to_vec(),
        })
    }

    /// The entry hash: `SHA256(SHA512(data) ‖ data)` over the marshalled entry.
    pub fn hash(&self) -> Result<Hash32, EntryError> {
        Ok(hash_marshalled(&self.marshal()?))
    }
}

/// The entry hash of already-marshalled entry bytes.
pub fn hash_marshalled(data: &[u8]) -> Hash32 {
    let mut h = Sha256::new();
    h.update(Sha512::digest(data));
    h.update(data);
    h.finalize().into()
}

/// factomd's KSize: `(len - 35 + 1023) / 1024` (0 for an empty payload).
pub fn ksize(marshalled_len: usize) -> usize {
    marshalled_len.saturating_sub(HEADER_LEN).div_ceil(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e1_vector() {
        let ext: Vec<Vec<u8>> = vec![
            b"This is the first extid.".to_vec(),
            b"This is the second extid.".to_vec(),
        ];
        let cid = chain_id(&ext);
        assert_eq!(
            hex::encode(cid),
            "5a402200c5cf278e47905ce52d7d64529a0291829a7bd230072c5468be709069"
        );
        let e = Entry {
            chain_id: cid,
            ext_ids: ext,
            content: b"This is a test Entry.".to_vec(),
        };
        let m = e.marshal().unwrap();
        assert_eq!(hex::encode(&m), "005a402200c5cf278e47905ce52d7d64529a0291829a7bd230072c5468be7090690035001854686973206973207468652066697273742065787469642e00195468697320697320746865207365636f6e642065787469642e546869732069732061207465737420456e7472792e");
        assert_eq!(
            hex::encode(e.hash().unwrap()),
            "52385948ea3ab6fd67b07664ac6a30ae5f6afa94427a547c142517beaa9054d0"
        );
        assert_eq!(Entry::unmarshal(&m).unwrap(), e);
    }

    #[test]
    fn e2_vector_and_costs() {
        let cid = chain_id(&[b"test"]);
        assert_eq!(
            hex::encode(cid),
            "954d5a49fd70d9b8bcdb35d252267829957f7ef7fa6c74f88419bdc5e82209f4"
        );
        let e = Entry {
            chain_id: cid,
            ext_ids: vec![b"test".to_vec()],
            content: b"test!".to_vec(),
        };
        assert_eq!(
            hex::encode(e.marshal().unwrap()),
            "00954d5a49fd70d9b8bcdb35d252267829957f7ef7fa6c74f88419bdc5e82209f400060004746573747465737421"
        );
        assert_eq!(
            hex::encode(e.hash().unwrap()),
            "285ed45081d5b8819a678d13c7c2d04f704b34c74e8aaecd9bd34609bee04720"
        );
        assert_eq!(e.cost().unwrap(), 1);
        let sized = |n: usize| Entry {
            chain_id: cid,
            ext_ids: vec![],
            content: vec![0; n],
        };
        assert_eq!(sized(0).cost().unwrap(), 1);
        assert_eq!(sized(1024).cost().unwrap(), 1);
        assert_eq!(sized(1025).cost().unwrap(), 2);
        assert_eq!(sized(10_240).cost().unwrap(), 10);
        assert_eq!(sized(10_241).cost(), Err(EntryError::TooLarge(10_241)));
        assert!(sized(11 * 1024).marshal().is_err());
        assert_eq!(ksize(35), 0);
        assert_eq!(ksize(35 + 1025), 2);
    }

    #[test]
    fn malformed_bytes_are_errors_not_panics() {
        assert!(Entry::unmarshal(&[0; 10]).is_err());
        let mut m = vec![0u8; 35];
        m[33] = 0;
        m[34] = 5; // ExtID section of 5 bytes, none present
        assert!(Entry::unmarshal(&m).is_err());
        m.extend_from_slice(&[0, 9, 1, 2, 3]); // ExtID claims 9 bytes in a 5-byte section
        assert!(Entry::unmarshal(&m).is_err());
        m[0] = 1;
        assert!(Entry::unmarshal(&m)
            .unwrap_err()
            .to_string()
            .contains("version"));
    }
}
