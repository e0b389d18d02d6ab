//! LXRHash of many inputs that share a prefix, interleaved so that many table reads are in flight.
//!
//! One hash is a chain of ~1,800 dependent random reads into a 1 GiB table, so a single hash runs at
//! the speed of memory latency. Here `L` independent hashes ("lanes") advance in lock step, one
//! table read at a time: each lane computes the address of its *next* read and prefetches it, then
//! the other `L - 1` lanes do their work while that cache line arrives. Every read of the spec's
//! STEP is one "sweep" over the lanes.
//!
//! Inputs are `prefix ‖ suffix` with one prefix per job (the 32-byte OPR hash) and equal-length
//! suffixes (the nonces). Pass 1 over the prefix is the same for every suffix, so it is computed
//! once per prefix. The output is bit-identical to [`Table::hash`].

use crate::hash::State;
use crate::params::HASH_SIZE;
use crate::table::Table;
use std::sync::Arc;

/// Default lane count: enough reads in flight to cover DRAM latency (24 was fastest of 12..32 on
/// the 2-core dev VM, ~0.98 of its random-read ceiling), with lane state (~8 KiB) that stays in L1.
pub const DEFAULT_LANES: usize = 24;

#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Lane {
    a: u64,
    s1: u64,
    s2: u64,
    s3: u64,
    /// The current input byte (pass 2) or hash word (pass 3); scratch after the last STEP.
    x: u64,
    /// Address of this lane's next table read (already prefetched).
    addr: u64,
    hs: [u64; HASH_SIZE],
}

impl Lane {
    const ZERO: Lane = Lane {
        a: 0,
        s1: 0,
        s2: 0,
        s3: 0,
        x: 0,
        addr: 0,
        hs: [0; HASH_SIZE],
    };

    #[inline(always)]
    fn rotate(&mut self) {
        (self.s1, self.s2, self.s3) = (self.s3, self.s1, self.s2);
    }
}

/// Hashes `prefix ‖ suffix` for batches of suffixes. Allocates only in [`BatchHasher::new`] and
/// [`BatchHasher::set_prefix`]; hashing itself allocates nothing.
pub struct BatchHasher<const L: usize = DEFAULT_LANES> {
    table: Arc<Table>,
    prefix: Vec<u8>,
    /// State after pass 1 over the prefix.
    pre: State,
    lanes: Box<[Lane; L]>,
}

impl<const L: usize> BatchHasher<L> {
    /// A hasher for inputs starting with `prefix`.
    pub fn new(table: Arc<Table>, prefix: &[u8]) -> Self {
        assert!(L > 0, "a batch hasher needs at least one lane");
        let mut h = BatchHasher {
            table,
            prefix: Vec::with_capacity(prefix.len().max(HASH_SIZE)),
            pre: State::new(),
            lanes: Box::new([Lane::ZERO; L]),
        };
        h.set_prefix(prefix);
        h
    }

    /// Switches to a new prefix (a new job).
    pub fn set_prefix(&mut self, prefix: &[u8]) {
        self.prefix.clear();
        self.prefix.extend_from_slice(prefix);
        let mut st = State::new();
        for (p, &c) in prefix.iter().enumerate() {
            st.fast_step(&self.table, c as u64, p % HASH_SIZE);
        }
        self.pre = st;
    }

    /// The prefix every input currently starts with (the job's OPR hash), as last set.
    pub fn prefix(&self) -> &[u8] {
        &self.prefix
    }

    /// The table this hasher reads.
    pub fn table(&self) -> &Arc<Table> {
        &self.table
    }

    /// Hashes `prefix ‖ suffix` for every suffix in `suffixes`, a flat buffer of `out.len()`
    /// suffixes of `suffix_len` bytes each, writing the hashes to `out` in order.
    ///
    /// # Panics
    /// If `suffixes.len() != out.len() * suffix_len` (a caller bug, not a data error).
    pub fn hash_batch(&mut self, suffixes: &[u8], suffix_len: usize, out: &mut [[u8; HASH_SIZE]]) {
        assert_eq!(
            suffixes.len(),
            out.len() * suffix_len,
            "suffix buffer must hold out.len() suffixes of suffix_len bytes"
        );
        for (k, chunk) in out.chunks_mut(L).enumerate() {
            let start = k * L * suffix_len;
            let sfx = &suffixes[start..start + chunk.len() * suffix_len];
            self.hash_chunk(sfx, suffix_len, chunk);
        }
    }

    fn hash_chunk(&mut self, sfx: &[u8], s_len: usize, out: &mut [[u8; HASH_SIZE]]) {
        let BatchHasher {
            table,
            prefix,
            pre,
            lanes,
        } = self;
        let t: &Table = table;
        let p_len = prefix.len();
        let len = p_len + s_len;
        let lanes = &mut lanes[..out.len()];
        let byte_at = |k: usize, p: usize| -> u64 {
            if p < p_len {
                prefix[p] as u64
            } else {
                sfx[k * s_len + p - p_len] as u64
            }
        };
        // Sets lane k up for the first STEP of pass 2 (or of pass 3 for an empty input).
        let enter_pass2 = |k: usize, l: &mut Lane| {
            l.x = if len > 0 {
                byte_at(k, 0)
            } else {
                l.hs[HASH_SIZE - 1]
            };
            l.addr = (l.a >> 5) ^ l.x;
        };

        for (k, l) in lanes.iter_mut().enumerate() {
            l.a = pre.a;
            l.s1 = pre.s1;
            l.s2 = pre.s2;
            l.s3 = pre.s3;
            l.hs = pre.hs;
            if s_len > 0 {
                l.x = byte_at(k, p_len);
                l.addr = l.a ^ l.x;
            } else {
                enter_pass2(k, l);
            }
            t.prefetch(l.addr);
        }

        // Pass 1 over the suffix bytes.
        for p in p_len..len {
            let i = p % HASH_SIZE;
            let last = p + 1 == len;
            sweep(lanes, t, |k, l, b| {
                let c = l.x;
                l.a = (l.a << 7)
                    ^ (l.a >> 5)
                    ^ (c << 20)
                    ^ (c << 16)
                    ^ c
                    ^ (b << 20)
                    ^ (b << 12)
                    ^ (b << 4);
                l.s1 = (l.s1 << 9) ^ (l.s1 >> 3) ^ l.hs[i];
                l.hs[i] = l.s1 ^ l.a;
                l.rotate();
                if last {
                    enter_pass2(k, l);
                } else {
                    l.x = byte_at(k, p + 1);
                    l.addr = l.a ^ l.x;
                }
            });
        }

        // Pass 2.
        for p in 0..len {
            let last = p + 1 == len;
            step(lanes, t, p % HASH_SIZE, |k, l| {
                l.x = if last {
                    l.hs[HASH_SIZE - 1]
                } else {
                    byte_at(k, p + 1)
                };
                l.addr = (l.a >> 5) ^ l.x;
            });
        }

        // Pass 3: the reduction. `x` is free after each STEP and holds the first output read.
        for i in (0..HASH_SIZE).rev() {
            step(lanes, t, i, |_, l| l.addr = l.a);
            sweep(lanes, t, |_, l, b| {
                l.x = b;
                l.addr = l.hs[i];
            });
            sweep(lanes, t, |k, l, b| {
                out[k][i] = (l.x ^ b) as u8;
                if i > 0 {
                    l.x = l.hs[i - 1];
                    l.addr = (l.a >> 5) ^ l.x;
                }
            });
        }
    }
}

/// One table read for every lane: load the prefetched byte, let `f` update the lane and set its
/// next address, prefetch that address.
#[inline(always)]
fn sweep(lanes: &mut [Lane], t: &Table, mut f: impl FnMut(usize, &mut Lane, u64)) {
    for (k, l) in lanes.iter_mut().enumerate() {
        let b = t.byte(l.addr);
        f(k, l, b);
        t.prefetch(l.addr);
    }
}

/// STEP(x, i) of spec §1.5 for every lane, one sweep per table read. On entry each lane's `addr`
/// is its first read, `(a >> 5) ^ x`; `next` sets up the read that follows the STEP.
#[inline(always)]
fn step(lanes: &mut [Lane], t: &Table, i: usize, next: impl Fn(usize, &mut Lane)) {
    let i = i % HASH_SIZE;
    sweep(lanes, t, |_, l, b| {
        l.s1 = (l.s1 << 9) ^ (l.s1 >> 1) ^ l.a ^ (b << 3);
        l.addr = l.s1 ^ l.x;
    });
    sweep(lanes, t, |_, l, b| {
        l.s1 = (l.s1 << 5) ^ (l.s1 >> 3) ^ (b << 7);
        l.addr = l.a ^ (l.s1 >> 7);
    });
    sweep(lanes, t, |_, l, b| {
        l.s1 = (l.s1 << 7) ^ (l.s1 >> 7) ^ (b << 5);
        l.addr = l.x ^ (l.a >> 11) ^ l.s1;
    });
    sweep(lanes, t, |_, l, b| {
        l.s1 = (l.s1 << 11) ^ (l.s1 >> 5) ^ (b << 27);
        l.hs[i] = l.s1 ^ l.a ^ (l.hs[i] << 7) ^ (l.hs[i] >> 13);
        l.addr = l.a ^ (l.s1 >> 27) ^ l.x;
    });
    sweep(lanes, t, |_, l, b| {
        l.a = (l.a << 17) ^ (l.a >> 5) ^ l.s1 ^ (b << 3);
        l.addr = l.a ^ l.s1;
    });
    sweep(lanes, t, |_, l, b| {
        l.a = (l.a << 13) ^ (l.a >> 3) ^ (b << 7);
        l.addr = (l.a >> 7) ^ l.s1;
    });
    sweep(lanes, t, |_, l, b| {
        l.a = (l.a << 15) ^ (l.a >> 7) ^ (b << 11);
        l.addr = l.x ^ l.a ^ l.s1;
    });
    sweep(lanes, t, |_, l, b| {
        l.a = (l.a << 9) ^ (l.a >> 11) ^ (b << 3);
        l.addr = l.a >> 3;
    });
    sweep(lanes, t, |_, l, b| {
        l.s1 = (l.s1 << 7) ^ (l.s1 >> 27) ^ l.a ^ (b << 13);
        l.addr = l.s1 ^ l.x;
    });
    sweep(lanes, t, |_, l, b| {
        l.s1 = (l.s1 << 3) ^ (l.s1 >> 13) ^ (b << 11);
        l.addr = l.a ^ (l.s1 >> 11);
    });
    sweep(lanes, t, |_, l, b| {
        l.s1 = (l.s1 << 8) ^ (l.s1 >> 11) ^ (b << 9);
        l.addr = l.x ^ l.a ^ l.s1;
    });
    sweep(lanes, t, |_, l, b| {
        l.s1 = (l.s1 << 6) ^ (l.s1 >> 9) ^ (b << 3);
        l.addr = l.a ^ l.x ^ (l.s1 >> 3);
    });
    sweep(lanes, t, |_, l, b| {
        l.a = (l.a << 23) ^ (l.a >> 3) ^ l.s1 ^ (b << 7);
        l.addr = l.a ^ (l.s1 >> 3);
    });
    sweep(lanes, t, |_, l, b| {
        l.a = (l.a << 17) ^ (l.a >> 7) ^ (b << 5);
        l.addr = (l.a >> 5) ^ l.s1;
    });
    sweep(lanes, t, |_, l, b| {
        l.a = (l.a << 13) ^ (l.a >> 5) ^ (b << 1);
        l.addr = l.x ^ l.a ^ l.s1;
    });
    sweep(lanes, t, |_, l, b| {
        l.a = (l.a << 11) ^ (l.a >> 1) ^ (b << 7);
        l.addr = (l.a >> 7) ^ (l.s1 >> 3);
    });
    sweep(lanes, t, |_, l, b| {
        l.s1 = (l.s1 << 5) ^ (l.s1 >> 3) ^ l.a ^ (b << 6);
        l.addr = l.s1 ^ l.x;
    });
    sweep(lanes, t, |_, l, b| {
        l.s1 = (l.s1 << 8) ^ (l.s1 >> 6) ^ (b << 11);
        l.addr = l.a ^ (l.s1 >> 11);
    });
    sweep(lanes, t, |_, l, b| {
        l.s1 = (l.s1 << 11) ^ (l.s1 >> 11) ^ (b << 5);
        l.addr = l.x ^ (l.a >> 7) ^ l.a ^ l.s1;
    });
    sweep(lanes, t, |_, l, b| {
        l.s1 = (l.s1 << 7) ^ (l.s1 >> 5) ^ (b << 17);
        l.addr = l.a ^ (l.s2 >> 5) ^ l.x;
    });
    sweep(lanes, t, |_, l, b| {
        l.s2 = (l.s2 << 3) ^ (l.s2 >> 17) ^ l.s1 ^ (b << 13);
        l.addr = l.s2;
    });
    sweep(lanes, t, |_, l, b| {
        l.s2 = (l.s2 << 6) ^ (l.s2 >> 13) ^ (b << 11);
        l.addr = l.a ^ l.s1 ^ (l.s2 >> 11);
    });
    sweep(lanes, t, |_, l, b| {
        l.s2 = (l.s2 << 11) ^ (l.s2 >> 11) ^ (b << 23);
        l.addr = l.x ^ (l.a >> 8) ^ l.a ^ (l.s2 >> 10);
    });
    sweep(lanes, t, |_, l, b| {
        l.s2 = (l.s2 << 4) ^ (l.s2 >> 23) ^ (b << 1);
        l.s1 = (l.s2 << 3) ^ (l.s2 >> 1) ^ l.hs[i] ^ l.x;
        l.addr = (l.s2 >> 1) ^ l.hs[i];
    });
    sweep(lanes, t, |k, l, b| {
        l.a = (l.a << 9) ^ (l.a >> 7) ^ (l.s1 >> 1) ^ (b << 5);
        l.rotate();
        next(k, l);
    });
}
