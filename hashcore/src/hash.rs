//! LXRHash, one input at a time: a literal transcription of spec §1.5, kept simple on purpose. It
//! is the reference the batched hasher and the GPU kernel are tested against.

use crate::params::{HASH_SIZE, SEED};
use crate::table::Table;

/// The hash state between passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct State {
    pub a: u64,
    pub s1: u64,
    pub s2: u64,
    pub s3: u64,
    pub hs: [u64; HASH_SIZE],
}

impl State {
    pub(crate) fn new() -> Self {
        State {
            a: SEED,
            s1: 0,
            s2: 0,
            s3: 0,
            hs: [0; HASH_SIZE],
        }
    }

    /// One byte of pass 1 (the "fast spin").
    #[inline(always)]
    pub(crate) fn fast_step(&mut self, t: &Table, c: u64, i: usize) {
        let b = t.byte(self.a ^ c);
        self.a = (self.a << 7)
            ^ (self.a >> 5)
            ^ (c << 20)
            ^ (c << 16)
            ^ c
            ^ (b << 20)
            ^ (b << 12)
            ^ (b << 4);
        self.s1 = (self.s1 << 9) ^ (self.s1 >> 3) ^ self.hs[i];
        self.hs[i] = self.s1 ^ self.a;
        (self.s1, self.s2, self.s3) = (self.s3, self.s1, self.s2);
    }

    /// STEP(x, i) of pass 2 and 3.
    fn step(&mut self, t: &Table, x: u64, i: usize) {
        let b = |v: u64| t.byte(v);
        let (mut a, mut s1, mut s2) = (self.a, self.s1, self.s2);
        s1 = (s1 << 9) ^ (s1 >> 1) ^ a ^ (b((a >> 5) ^ x) << 3);
        s1 = (s1 << 5) ^ (s1 >> 3) ^ (b(s1 ^ x) << 7);
        s1 = (s1 << 7) ^ (s1 >> 7) ^ (b(a ^ (s1 >> 7)) << 5);
        s1 = (s1 << 11) ^ (s1 >> 5) ^ (b(x ^ (a >> 11) ^ s1) << 27);
        self.hs[i] = s1 ^ a ^ (self.hs[i] << 7) ^ (self.hs[i] >> 13);
        a = (a << 17) ^ (a >> 5) ^ s1 ^ (b(a ^ (s1 >> 27) ^ x) << 3);
        a = (a << 13) ^ (a >> 3) ^ (b(a ^ s1) << 7);
        a = (a << 15) ^ (a >> 7) ^ (b((a >> 7) ^ s1) << 11);
        a = (a << 9) ^ (a >> 11) ^ (b(x ^ a ^ s1) << 3);
        s1 = (s1 << 7) ^ (s1 >> 27) ^ a ^ (b(a >> 3) << 13);
        s1 = (s1 << 3) ^ (s1 >> 13) ^ (b(s1 ^ x) << 11);
        s1 = (s1 << 8) ^ (s1 >> 11) ^ (b(a ^ (s1 >> 11)) << 9);
        s1 = (s1 << 6) ^ (s1 >> 9) ^ (b(x ^ a ^ s1) << 3);
        a = (a << 23) ^ (a >> 3) ^ s1 ^ (b(a ^ x ^ (s1 >> 3)) << 7);
        a = (a << 17) ^ (a >> 7) ^ (b(a ^ (s1 >> 3)) << 5);
        a = (a << 13) ^ (a >> 5) ^ (b((a >> 5) ^ s1) << 1);
        a = (a << 11) ^ (a >> 1) ^ (b(x ^ a ^ s1) << 7);
        s1 = (s1 << 5) ^ (s1 >> 3) ^ a ^ (b((a >> 7) ^ (s1 >> 3)) << 6);
        s1 = (s1 << 8) ^ (s1 >> 6) ^ (b(s1 ^ x) << 11);
        s1 = (s1 << 11) ^ (s1 >> 11) ^ (b(a ^ (s1 >> 11)) << 5);
        s1 = (s1 << 7) ^ (s1 >> 5) ^ (b(x ^ (a >> 7) ^ a ^ s1) << 17);
        s2 = (s2 << 3) ^ (s2 >> 17) ^ s1 ^ (b(a ^ (s2 >> 5) ^ x) << 13);
        s2 = (s2 << 6) ^ (s2 >> 13) ^ (b(s2) << 11);
        s2 = (s2 << 11) ^ (s2 >> 11) ^ (b(a ^ s1 ^ (s2 >> 11)) << 23);
        s2 = (s2 << 4) ^ (s2 >> 23) ^ (b(x ^ (a >> 8) ^ a ^ (s2 >> 10)) << 1);
        s1 = (s2 << 3) ^ (s2 >> 1) ^ self.hs[i] ^ x;
        a = (a << 9) ^ (a >> 7) ^ (s1 >> 1) ^ (b((s2 >> 1) ^ self.hs[i]) << 5);
        self.a = a;
        (self.s1, self.s2, self.s3) = (self.s3, s1, s2);
    }
}

/// The state after pass 1 over `prefix`, flattened as `[a, s1, s2, s3, hs[0..32]]` (what the
/// OpenCL kernel takes).
#[cfg(feature = "opencl")]
pub(crate) fn prefix_state_words(t: &Table, prefix: &[u8]) -> [u64; 4 + HASH_SIZE] {
    let mut st = State::new();
    for (p, &c) in prefix.iter().enumerate() {
        st.fast_step(t, c as u64, p % HASH_SIZE);
    }
    let mut w = [0u64; 4 + HASH_SIZE];
    w[..4].copy_from_slice(&[st.a, st.s1, st.s2, st.s3]);
    w[4..].copy_from_slice(&st.hs);
    w
}

impl Table {
    /// LXRHash of `src` (any length, including empty) with this table.
    pub fn hash(&self, src: &[u8]) -> [u8; HASH_SIZE] {
        let mut st = State::new();
        for (p, &c) in src.iter().enumerate() {
            st.fast_step(self, c as u64, p % HASH_SIZE);
        }
        for (p, &c) in src.iter().enumerate() {
            st.step(self, c as u64, p % HASH_SIZE);
        }
        let mut out = [0u8; HASH_SIZE];
        for i in (0..HASH_SIZE).rev() {
            st.step(self, st.hs[i], i);
            out[i] = (self.byte(st.a) ^ self.byte(st.hs[i])) as u8;
        }
        out
    }
}
