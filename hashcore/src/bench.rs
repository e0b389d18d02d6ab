//! Benchmark helpers shared by `netminer bench`, the criterion benches and the tests: the fixed
//! checksum workload and the machine's random-read ceiling.

use crate::nonce::Nonce;
use crate::params::HASH_SIZE;
use crate::table::Table;
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Hashes in the checksum workload.
pub const CHECKSUM_HASHES: u64 = 1024;

/// The bench prefix: SHA-256 of `"netmine bench"`, standing in for an OPR hash.
pub fn bench_prefix() -> [u8; HASH_SIZE] {
    Sha256::digest(b"netmine bench").into()
}

/// The checksum workload's nonces: miner 0's first [`CHECKSUM_HASHES`] nonces.
pub fn checksum_nonces() -> Vec<Nonce> {
    (1..=CHECKSUM_HASHES).map(|c| Nonce::new(0, c)).collect()
}

/// SHA-256 (hex) over the concatenated hashes of the checksum workload. Depends only on the table
/// size and on computing LXRHash correctly: the same on any backend, thread count or duration.
pub fn checksum(hashes: &[[u8; HASH_SIZE]]) -> String {
    let mut h = Sha256::new();
    for x in hashes {
        h.update(x);
    }
    hex::encode(h.finalize())
}

/// Table reads one LXRHash makes for an input of `len` bytes (spec §1.6).
pub fn reads_per_hash(len: usize) -> u64 {
    26 * len as u64 + 27 * HASH_SIZE as u64
}

/// Chain counts tried by [`random_read_ceiling`].
pub const CEILING_CHAINS: [usize; 6] = [8, 16, 24, 32, 48, 64];

/// The machine's random-read ceiling over `table` with `threads` threads: the best, over
/// [`CEILING_CHAINS`], of [`random_reads_per_sec`], spending `secs` in all. Returns
/// (reads/s, chains per thread that achieved it). Dividing by [`reads_per_hash`] gives the
/// hash-rate ceiling.
pub fn random_read_ceiling(table: &Arc<Table>, threads: usize, secs: f64) -> (f64, usize) {
    let each = secs / CEILING_CHAINS.len() as f64;
    CEILING_CHAINS
        .iter()
        .map(|&c| (random_reads_per_sec(table, threads, c, each), c))
        .fold((0.0, 0), |best, x| if x.0 > best.0 { x } else { best })
}

/// Random 1-byte reads per second over `table`, with `threads` threads each keeping `chains`
/// independent dependent-read chains in flight (the batched hasher's prefetch-then-load pattern).
pub fn random_reads_per_sec(table: &Arc<Table>, threads: usize, chains: usize, secs: f64) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let total = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let handles: Vec<_> = (0..threads.max(1))
        .map(|t| {
            let (table, stop, total) = (table.clone(), stop.clone(), total.clone());
            std::thread::spawn(move || {
                let mut addr: Vec<u64> = (0..chains.max(1) as u64)
                    .map(|c| splitmix(c + 1000 * t as u64))
                    .collect();
                let mut reads = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..64 {
                        for a in addr.iter_mut() {
                            let b = table.byte(*a);
                            *a = splitmix(*a ^ b);
                            table.prefetch(*a);
                        }
                    }
                    reads += 64 * addr.len() as u64;
                }
                total.fetch_add(reads, Ordering::Relaxed);
                std::hint::black_box(addr);
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        let _ = h.join();
    }
    total.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

#[inline(always)]
fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
