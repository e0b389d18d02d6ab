//! The LXRHash ByteMap: generation (spec §1.3) and the read-only shared table.

use crate::error::Result;
use crate::memory::{FrozenRegion, HugePageShare, HugeRegion};
use crate::params::{check_bits, FIRSTB, FIRSTRAND, FIRSTV, PASSES, SEED};
use sha2::{Digest, Sha256};

/// How often (in shuffle steps) generation reports progress.
const PROGRESS_EVERY: usize = 1 << 22;

/// A generated LXRHash table: `2^bits` bytes, read-only, meant to be shared (`Arc<Table>`) by every
/// hashing thread of the process.
pub struct Table {
    region: FrozenRegion,
    ptr: *const u8,
    mask: u64,
    bits: u32,
}

// SAFETY: the table is immutable after construction (its memory is even mprotect'ed read-only).
unsafe impl Send for Table {}
// SAFETY: as above.
unsafe impl Sync for Table {}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table").field("bits", &self.bits).finish()
    }
}

impl Table {
    /// Generates the table of `bits` bits in memory. `progress(done, total)` is called every few
    /// million shuffle steps (total = 5 × 2^bits).
    pub fn generate(bits: u32, progress: &mut dyn FnMut(u64, u64)) -> Result<Table> {
        let bits = check_bits(bits)?;
        let mut region = HugeRegion::new(1usize << bits)?;
        shuffle(region.as_mut_slice(), progress);
        Ok(Table::from_region(region, bits))
    }

    /// Wraps a region that already holds a table of `bits` bits (its length must be 2^bits).
    pub(crate) fn from_region(region: HugeRegion, bits: u32) -> Table {
        assert_eq!(region.len(), 1usize << bits, "table length must be 2^bits");
        let region = region.freeze();
        let ptr = region.as_ptr();
        Table {
            region,
            ptr,
            mask: (1u64 << bits) - 1,
            bits,
        }
    }

    /// Table size in bits.
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// Table size in bytes.
    pub fn len(&self) -> usize {
        1usize << self.bits
    }

    /// Always false: a table has at least 256 bytes.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The raw table bytes (identical to the cache file's content).
    pub fn as_bytes(&self) -> &[u8] {
        self.region.as_slice()
    }

    /// SHA-256 of the whole table, lowercase hex.
    pub fn sha256_hex(&self) -> String {
        sha256_hex(self.as_bytes())
    }

    /// Share of the table on huge pages, where the OS reports it.
    pub fn huge_page_share(&self) -> Option<HugePageShare> {
        self.region.huge_page_share()
    }

    /// `B(x)` of the spec: the table byte at `x & mask`, widened.
    #[inline(always)]
    pub fn byte(&self, x: u64) -> u64 {
        // SAFETY: the index is masked to 2^bits - 1 and the table holds exactly 2^bits bytes.
        unsafe { *self.ptr.add((x & self.mask) as usize) as u64 }
    }

    /// Hints the CPU to start loading `B(x)`'s cache line; it changes no result.
    #[inline(always)]
    pub fn prefetch(&self, x: u64) {
        prefetch_ptr(self.ptr.wrapping_add((x & self.mask) as usize));
    }
}

/// Starts loading the cache line at `p` into L1 (no-op where there is no prefetch instruction).
#[inline(always)]
pub(crate) fn prefetch_ptr(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetch never faults, whatever the address.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// SHA-256 of `bytes`, lowercase hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Fills and shuffles `m` in place (spec §1.3). `m.len()` must be a power of two.
///
/// Every step reads the table at `(offset ^ b) & mask` with the *new* offset and the *old* b.
/// Since `offset' = f(offset) ^ b`, that address is just `f(offset)`: it is known one step ahead,
/// so we prefetch it while the current step's read is still in flight. That doubles the reads in
/// flight of an otherwise strictly sequential, latency-bound loop.
pub(crate) fn shuffle(m: &mut [u8], progress: &mut dyn FnMut(u64, u64)) {
    let len = m.len();
    debug_assert!(len.is_power_of_two());
    for (i, byte) in m.iter_mut().enumerate() {
        *byte = i as u8;
    }
    let mk = (len - 1) as u64;
    let total = PASSES as u64 * len as u64;
    let base = m.as_mut_ptr();
    let mut offset = SEED ^ FIRSTRAND;
    let mut b = SEED ^ FIRSTB;
    let mut v = FIRSTV;
    let mut done = 0u64;
    for _ in 0..PASSES {
        let mut i = 0usize;
        while i < len {
            let chunk_start = i;
            let end = (i + PROGRESS_EVERY).min(len);
            while i < end {
                offset = (offset << 9) ^ (offset >> 1) ^ (offset >> 7) ^ b;
                let next_read = ((offset << 9) ^ (offset >> 1) ^ (offset >> 7)) & mk;
                prefetch_ptr(base.wrapping_add(next_read as usize));
                let j = (offset & mk) as usize;
                // SAFETY: both indices are masked below len (or i < len), and base is valid for
                // len bytes; the swap goes through raw pointers to skip bounds checks in the
                // hottest loop of generation.
                unsafe {
                    v = *base.add(((offset ^ b) & mk) as usize) as u64 ^ (v << 8) ^ (v >> 1);
                    b = (v << 7) ^ (v << 13) ^ (v << 33) ^ (v << 52) ^ (b << 9) ^ (b >> 1);
                    std::ptr::swap(base.add(i), base.add(j));
                }
                i += 1;
            }
            done += (end - chunk_start) as u64;
            progress(done, total);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_tables_match_known_digests_and_keep_every_byte_value_equally() {
        for bits in [8u32, 10, 12] {
            let t = Table::generate(bits, &mut |_, _| {}).unwrap();
            let mut counts = [0usize; 256];
            for &b in t.as_bytes() {
                counts[b as usize] += 1;
            }
            assert!(counts.iter().all(|&c| c == t.len() / 256), "bits {bits}");
        }
        let t = Table::generate(10, &mut |_, _| {}).unwrap();
        assert_eq!(
            t.sha256_hex(),
            crate::params::known_digest(10).unwrap(),
            "10-bit table digest"
        );
    }

    #[test]
    fn progress_reaches_the_total() {
        let mut last = (0, 0);
        Table::generate(12, &mut |d, t| last = (d, t)).unwrap();
        assert_eq!(last, (5 << 12, 5 << 12));
    }
}
