//! LXRHash of many *unrelated* inputs at once: the coordinator's verification of submitted
//! records, each `opr_hash ‖ nonce` with its own miner's OPR hash and nonce.
//!
//! The miner's [`BatchHasher`] interleaves many nonces of one prefix so that many table reads are
//! in flight; one LXRHash alone is a chain of ~1,900 dependent reads and runs at memory latency
//! (at 30 bits, about 0.37 ms a hash here against ~27 µs a hash in a batch). Records to verify
//! share no prefix, so [`RecordHasher`] gives the batch hasher an *empty* prefix and each whole
//! input as its suffix: pass 1 over the 32-byte OPR hash is done per lane (32 of the ~1,900
//! reads), and everything else is the same interleaved loop. Inputs of equal length are hashed
//! together (the batch hasher wants equal-length suffixes; nonces are nearly always one length).
//! The output is bit-identical to [`Table::hash`].

use crate::batch::{BatchHasher, DEFAULT_LANES};
use crate::difficulty::difficulty;
use crate::params::HASH_SIZE;
use crate::table::Table;
use std::sync::Arc;

/// Hashes batches of `prefix ‖ nonce` inputs with different prefixes and nonce lengths. Its
/// buffers grow to the largest batch seen and are reused: after that, hashing allocates nothing.
pub struct RecordHasher {
    inner: BatchHasher<DEFAULT_LANES>,
    /// Indices of the inputs, sorted by length.
    order: Vec<usize>,
    /// One length group's inputs, back to back.
    flat: Vec<u8>,
    hashes: Vec<[u8; HASH_SIZE]>,
}

impl RecordHasher {
    /// Records hashed together at most: more inputs are hashed in groups of this many.
    pub const LANES: usize = DEFAULT_LANES;

    /// A hasher reading `table`.
    pub fn new(table: Arc<Table>) -> RecordHasher {
        RecordHasher {
            inner: BatchHasher::new(table, &[]),
            order: Vec::new(),
            flat: Vec::new(),
            hashes: Vec::new(),
        }
    }

    /// The table it reads.
    pub fn table(&self) -> &Arc<Table> {
        self.inner.table()
    }

    /// The difficulty of `prefix ‖ nonce` for every `(prefix, nonce)` of `inputs`, written to
    /// `out` in the same order.
    ///
    /// # Panics
    /// If `out.len() != inputs.len()` (a caller bug, not a data error).
    pub fn difficulties(&mut self, inputs: &[(&[u8], &[u8])], out: &mut [u64]) {
        assert_eq!(inputs.len(), out.len(), "one output per input");
        let len = |k: usize| inputs[k].0.len() + inputs[k].1.len();
        self.order.clear();
        self.order.extend(0..inputs.len());
        self.order.sort_by_key(|&k| len(k));
        let mut start = 0;
        while start < self.order.len() {
            let n = len(self.order[start]);
            let end = start
                + self.order[start..]
                    .iter()
                    .take_while(|&&k| len(k) == n)
                    .count();
            let group = &self.order[start..end];
            self.flat.clear();
            for &k in group {
                self.flat.extend_from_slice(inputs[k].0);
                self.flat.extend_from_slice(inputs[k].1);
            }
            self.hashes.clear();
            self.hashes.resize(group.len(), [0; HASH_SIZE]);
            self.inner.hash_batch(&self.flat, n, &mut self.hashes);
            for (&k, h) in group.iter().zip(&self.hashes) {
                out[k] = difficulty(h);
            }
            start = end;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Arc<Table> {
        Arc::new(Table::generate(10, &mut |_, _| {}).unwrap())
    }

    #[test]
    fn every_input_hashes_as_the_reference_whatever_its_prefix_and_length() {
        let t = table();
        let mut h = RecordHasher::new(t.clone());
        // 60 inputs (more than two lane groups), three nonce lengths mixed, distinct prefixes,
        // and an empty nonce.
        let prefixes: Vec<[u8; 32]> = (0..60u8)
            .map(|k| std::array::from_fn(|i| k.wrapping_mul(31) ^ i as u8))
            .collect();
        let nonces: Vec<Vec<u8>> = (0..60u8)
            .map(|k| (0..[9, 5, 16, 0][k as usize % 4]).map(|i| k ^ i).collect())
            .collect();
        let inputs: Vec<(&[u8], &[u8])> = prefixes
            .iter()
            .zip(&nonces)
            .map(|(p, n)| (&p[..], &n[..]))
            .collect();
        let mut out = vec![0u64; inputs.len()];
        h.difficulties(&inputs, &mut out);
        for (k, (p, n)) in inputs.iter().enumerate() {
            let whole = [*p, *n].concat();
            assert_eq!(out[k], difficulty(&t.hash(&whole)), "input {k}");
        }
        // Reused for a smaller batch: still right.
        let mut one = [0u64];
        h.difficulties(&inputs[7..8], &mut one);
        assert_eq!(one[0], out[7]);
        h.difficulties(&[], &mut []);
    }
}
