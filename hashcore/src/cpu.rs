//! The CPU backend: one dedicated OS thread per miner, each hashing its own nonce space
//! (`[first_id + k] ‖ counter`) with the interleaved [`BatchHasher`].

use crate::backend::MiningBackend;
use crate::batch::{BatchHasher, DEFAULT_LANES};
use crate::difficulty::difficulty;
use crate::error::{Error, Result};
use crate::job::Job;
use crate::nonce::{counter_len, equal_length_runs, next_length_boundary, Nonce};
use crate::params::HASH_SIZE;
use crate::table::Table;
use crate::topn::{Found, TopN};
use crate::workers::{WorkerIo, WorkerSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Hashes per batch: a whole number of lane groups, small enough to notice a new job within a
/// millisecond.
const BATCH: usize = DEFAULT_LANES * 2;

/// CPU mining backend: one hashing thread per requested core, each with its own nonce id,
/// all reading one shared table. See [`MiningBackend`] for how jobs and results flow.
pub struct CpuBackend {
    table: Arc<Table>,
    workers: WorkerSet,
}

impl CpuBackend {
    /// Starts `threads` idle miner threads; thread k uses nonce id `first_id + k`.
    pub fn start(table: Arc<Table>, threads: usize, first_id: u8) -> Result<CpuBackend> {
        if threads == 0 || first_id as usize + threads > 256 {
            return Err(Error::Backend(format!(
                "{threads} CPU miners starting at nonce id {first_id} do not fit the 256 one-byte miner ids (use 1 to {} miners)",
                256 - first_id as usize
            )));
        }
        let mut workers = WorkerSet::new();
        for k in 0..threads {
            let (id, table) = (first_id + k as u8, table.clone());
            workers.spawn(format!("cpu{k}"), format!("cpu-miner-{k}"), move |io| {
                mine(io, id, table)
            })?;
        }
        Ok(CpuBackend { table, workers })
    }

    /// The LXRHash table every hashing thread reads, shared (for hashing outside the workers).
    pub fn table(&self) -> &Arc<Table> {
        &self.table
    }

    /// How many hashing threads are parked waiting for a job: all of them once a pause
    /// (`set_job(None)`) has taken effect, so their counters no longer move.
    pub fn parked_threads(&self) -> usize {
        self.workers.parked()
    }
}

impl MiningBackend for CpuBackend {
    fn name(&self) -> &str {
        "cpu"
    }

    fn worker_labels(&self) -> Vec<String> {
        self.workers.labels()
    }

    fn set_job(&self, job: Option<Job>) {
        self.workers.set_job(job);
    }

    fn best(&self, job_id: u64) -> Vec<Found> {
        self.workers.best(job_id)
    }

    fn hash_counts(&self) -> Vec<u64> {
        self.workers.hash_counts()
    }

    fn hash_nonces(&self, prefix: &[u8], nonces: &[Nonce]) -> Vec<[u8; HASH_SIZE]> {
        hash_nonces(&self.table, prefix, nonces)
    }

    fn random_read_ceiling(&self, secs: f64) -> Option<f64> {
        Some(crate::bench::random_read_ceiling(&self.table, self.workers.len(), secs).0)
    }
}

/// Hashing threads run at nice 10, as serious miners do: they still take every idle cycle, but the
/// box, and the miner's own networking (job switches, submissions at minute 9), stay responsive.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: on Linux, PRIO_PROCESS with id 0 changes only the calling thread's nice value.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
}

/// LXRHash of `prefix ‖ nonce` for each nonce, batching runs of equal-length nonces.
pub fn hash_nonces(table: &Arc<Table>, prefix: &[u8], nonces: &[Nonce]) -> Vec<[u8; HASH_SIZE]> {
    let mut hasher: BatchHasher = BatchHasher::new(table.clone(), prefix);
    let mut out = vec![[0u8; HASH_SIZE]; nonces.len()];
    let mut buf = Vec::new();
    for run in equal_length_runs(nonces) {
        buf.clear();
        for n in &nonces[run.clone()] {
            buf.extend_from_slice(n.as_bytes());
        }
        hasher.hash_batch(&buf, nonces[run.start].len(), &mut out[run]);
    }
    out
}

/// One miner thread: hash consecutive nonces of the current job in batches until the job changes.
fn mine(io: WorkerIo, id: u8, table: Arc<Table>) {
    lower_priority();
    let mut hasher: BatchHasher = BatchHasher::new(table, &[]);
    let mut suffixes = [0u8; BATCH * 9];
    let mut out = [[0u8; HASH_SIZE]; BATCH];
    let mut seen = 0u64;
    'jobs: while let Some((generation, job)) = io.jobs.wait_newer(seen) {
        seen = generation;
        hasher.set_prefix(&job.prefix);
        let mut best = TopN::new(job.keep);
        io.published.start_job(job.id, &best);
        let mut counter = 1u64;
        loop {
            if io.jobs.generation() != seen {
                continue 'jobs;
            }
            // A batch of consecutive counters whose nonces all have the same length.
            let clen = counter_len(counter);
            let n = match next_length_boundary(counter) {
                Some(b) => ((b - counter) as usize).min(BATCH),
                None => (u64::MAX - counter).min(BATCH as u64) as usize,
            };
            if n == 0 {
                // The 2^64 nonce space is spent (never in practice): wait for the next job.
                continue 'jobs;
            }
            let nlen = 1 + clen;
            for k in 0..n {
                let nonce = Nonce::new(id, counter + k as u64);
                suffixes[k * nlen..(k + 1) * nlen].copy_from_slice(nonce.as_bytes());
            }
            hasher.hash_batch(&suffixes[..n * nlen], nlen, &mut out[..n]);
            let mut improved = false;
            for (k, h) in out[..n].iter().enumerate() {
                let d = difficulty(h);
                if d > job.min_difficulty && best.might_accept(d) {
                    improved |= best.offer(Found {
                        nonce: Nonce::new(id, counter + k as u64),
                        difficulty: d,
                    });
                }
            }
            if improved {
                io.published.improve(&best);
            }
            io.hashes.fetch_add(n as u64, Ordering::Relaxed);
            counter += n as u64;
        }
    }
}
