//! Nonces, laid out as PegNet's miner lays them out (spec §2.3): one miner-id byte followed by the
//! minimal big-endian encoding of a counter that starts at 1.

use std::fmt;

/// Longest nonce this crate represents. Our miners use at most 9 bytes (id + 8 counter bytes);
/// the rest is headroom for nonces received from elsewhere.
pub const MAX_NONCE_LEN: usize = 16;

/// A nonce: a short byte string, stored inline so that ranking never allocates.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Nonce {
    len: u8,
    bytes: [u8; MAX_NONCE_LEN],
}

impl Nonce {
    /// The nonce of miner `id` at `counter`: `[id] ‖ minimal big-endian counter (≥ 1 byte)`.
    #[inline]
    pub fn new(id: u8, counter: u64) -> Nonce {
        let clen = counter_len(counter);
        let mut bytes = [0u8; MAX_NONCE_LEN];
        bytes[0] = id;
        bytes[1..1 + clen].copy_from_slice(&counter.to_be_bytes()[8 - clen..]);
        Nonce {
            len: (1 + clen) as u8,
            bytes,
        }
    }

    /// A nonce from raw bytes; `None` if longer than [`MAX_NONCE_LEN`].
    pub fn from_bytes(b: &[u8]) -> Option<Nonce> {
        if b.len() > MAX_NONCE_LEN {
            return None;
        }
        let mut bytes = [0u8; MAX_NONCE_LEN];
        bytes[..b.len()].copy_from_slice(b);
        Some(Nonce {
            len: b.len() as u8,
            bytes,
        })
    }

    /// The nonce bytes (ExtID 0 of the entry).
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }

    /// Length of the nonce in bytes, at most [`MAX_NONCE_LEN`].
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// True for the empty nonce.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The nonce bytes as lowercase hex, as they appear in logs and on the wire.
    pub fn to_hex(&self) -> String {
        hex::encode(self.as_bytes())
    }
}

impl PartialOrd for Nonce {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Nonce {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl fmt::Debug for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Nonce({})", self.to_hex())
    }
}

impl fmt::Display for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// Bytes in the minimal big-endian encoding of `counter` (at least 1).
#[inline]
pub fn counter_len(counter: u64) -> usize {
    (8 - (counter.leading_zeros() as usize / 8)).max(1)
}

/// The first counter whose encoding is longer than `counter`'s, or `None` past `u64::MAX`.
#[inline]
pub fn next_length_boundary(counter: u64) -> Option<u64> {
    let clen = counter_len(counter);
    if clen >= 8 {
        None
    } else {
        Some(1u64 << (8 * clen))
    }
}

/// Index ranges of `nonces` whose members all have the same length (batched hashers need equal
/// lengths), in order.
pub fn equal_length_runs(nonces: &[Nonce]) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    let mut start = 0;
    std::iter::from_fn(move || {
        let first = nonces.get(start)?;
        let end = start
            + nonces[start..]
                .iter()
                .take_while(|n| n.len() == first.len())
                .count();
        let run = start..end;
        start = end;
        Some(run)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PegNet's incrementer, transcribed from spec §2.3: add one to bytes 1.. as a big-endian
    /// number; when the carry would reach the id byte, insert a 0x01 after it.
    fn pegnet_increment(n: &mut Vec<u8>) {
        let mut i = n.len() - 1;
        loop {
            if i == 0 {
                n.insert(1, 1);
                return;
            }
            n[i] = n[i].wrapping_add(1);
            if n[i] != 0 {
                return;
            }
            i -= 1;
        }
    }

    #[test]
    fn matches_pegnets_incrementer_for_every_id() {
        for id in 0..=255u8 {
            let mut go = vec![id, 0];
            for counter in 1..=65_536u64 {
                pegnet_increment(&mut go);
                assert_eq!(
                    Nonce::new(id, counter).as_bytes(),
                    &go[..],
                    "id {id} step {counter}"
                );
            }
        }
    }

    #[test]
    fn runs_of_equal_length() {
        let n: Vec<Nonce> = [254u64, 255, 256, 257, 65_536]
            .iter()
            .map(|&c| Nonce::new(1, c))
            .collect();
        let runs: Vec<_> = equal_length_runs(&n).collect();
        assert_eq!(runs, vec![0..2, 2..4, 4..5]);
        assert_eq!(equal_length_runs(&[]).count(), 0);
    }

    #[test]
    fn boundaries_and_layout() {
        assert_eq!(Nonce::new(3, 1).as_bytes(), &[3, 1]);
        assert_eq!(Nonce::new(3, 255).as_bytes(), &[3, 0xff]);
        assert_eq!(Nonce::new(3, 256).as_bytes(), &[3, 1, 0]);
        assert_eq!(Nonce::new(3, 65_536).as_bytes(), &[3, 1, 0, 0]);
        assert_eq!(Nonce::new(9, u64::MAX).len(), 9);
        assert_eq!(next_length_boundary(1), Some(256));
        assert_eq!(next_length_boundary(256), Some(65_536));
        assert_eq!(next_length_boundary(u64::MAX), None);
        assert!(Nonce::from_bytes(&[0; 17]).is_none());
        assert_eq!(Nonce::from_bytes(&[]).unwrap().len(), 0);
    }
}
