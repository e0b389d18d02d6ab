//! The one MAC of the protocol: HMAC over BLAKE2b-512, keyed with the farm's secret (the
//! handshake proofs and the session key) or with the session key (every later frame).
//!
//! Every input is a label naming what is being authenticated (`"netmine/1/miner"`,
//! `"netmine/1/c2m"`, …) followed by the parts, each prefixed with its length as a big-endian
//! `u32`. The prefixes make the encoding injective: no two different label/part lists feed the
//! same bytes to the HMAC, so a MAC made for one purpose never verifies for another.

use blake2::Blake2b512;
use hmac::{KeyInit, Mac, SimpleHmac};

/// HMAC-BLAKE2b-512 (`SimpleHmac`, since BLAKE2b has no block-level API).
pub(crate) type HmacB2 = SimpleHmac<Blake2b512>;

/// An HMAC under `key`, already fed `label` and `parts` (length-prefixed). Call `finalize` for
/// the tag or `verify_slice` to check one in constant time.
pub(crate) fn keyed(key: &[u8], label: &str, parts: &[&[u8]]) -> HmacB2 {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut m = <HmacB2 as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    m.update(&(label.len() as u32).to_be_bytes());
    m.update(label.as_bytes());
    for p in parts {
        m.update(&(p.len() as u32).to_be_bytes());
        m.update(p);
    }
    m
}

/// The same length-prefixed encoding of `label` and `parts`, as bytes: what a box's ed25519 key
/// signs in the handshake (so a signature made for one purpose never verifies for another).
pub(crate) fn encoded(label: &str, parts: &[&[u8]]) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(4 + label.len() + parts.iter().map(|p| 4 + p.len()).sum::<usize>());
    out.extend_from_slice(&(label.len() as u32).to_be_bytes());
    out.extend_from_slice(label.as_bytes());
    for p in parts {
        out.extend_from_slice(&(p.len() as u32).to_be_bytes());
        out.extend_from_slice(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_length_prefixes_keep_different_inputs_apart() {
        let tag = |label: &str, parts: &[&[u8]]| keyed(b"k", label, parts).finalize().into_bytes();
        // Same concatenated bytes, split differently: different tags.
        assert_ne!(tag("l", &[b"ab", b"c"]), tag("l", &[b"a", b"bc"]));
        assert_ne!(tag("la", &[b"b"]), tag("l", &[b"ab"]));
        assert_eq!(tag("l", &[b"ab"]), tag("l", &[b"ab"]));
    }
}
