//! The CPU backend: one dedicated OS thread per miner, each hashing its own nonce space
//! (`[first_id + k] ‖ counter`) with the interleaved [`BatchHasher`].

use crate::backend::MiningBackend;
use crate::batch::{BatchHasher, DEFAULT_LANES};
use crate::difficulty::difficulty;
use crate::error::{Error, Result};
use crate::job::{Job, LatestJob};
use crate::nonce::{counter_len, next_length_boundary, Nonce};
use crate::params::HASH_SIZE;
use crate::table::Table;
use crate::topn::{Found, TopN};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

/// Hashes per batch: a whole number of lane groups, small enough to notice a new job within a
/// millisecond.
const BATCH: usize = DEFAULT_LANES * 2;

/// Results a worker publishes for the job it is on.
struct Published {
    job_id: Option<u64>,
    best: TopN,
}

struct Worker {
    label: String,
    hashes: Arc<AtomicU64>,
    published: Arc<Mutex<Published>>,
    handle: Option<JoinHandle<()>>,
}

/// CPU mining backend. See [`MiningBackend`].
pub struct CpuBackend {
    table: Arc<Table>,
    jobs: Arc<LatestJob>,
    workers: Vec<Worker>,
}

fn lock(m: &Mutex<Published>) -> MutexGuard<'_, Published> {
    m.lock().unwrap_or_else(|e| e.into_inner())
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
        let jobs = Arc::new(LatestJob::new());
        let mut workers = Vec::with_capacity(threads);
        for k in 0..threads {
            let id = first_id + k as u8;
            let hashes = Arc::new(AtomicU64::new(0));
            let published = Arc::new(Mutex::new(Published {
                job_id: None,
                best: TopN::new(0),
            }));
            let ctx = WorkerCtx {
                id,
                table: table.clone(),
                jobs: jobs.clone(),
                hashes: hashes.clone(),
                published: published.clone(),
            };
            let handle = std::thread::Builder::new()
                .name(format!("cpu-miner-{k}"))
                .spawn(move || ctx.run())
                .map_err(|e| Error::Backend(format!("cannot start miner thread {k}: {e}")))?;
            workers.push(Worker {
                label: format!("cpu{k}"),
                hashes,
                published,
                handle: Some(handle),
            });
        }
        Ok(CpuBackend {
            table,
            jobs,
            workers,
        })
    }

    /// The shared table.
    pub fn table(&self) -> &Arc<Table> {
        &self.table
    }
}

impl MiningBackend for CpuBackend {
    fn name(&self) -> &str {
        "cpu"
    }

    fn worker_labels(&self) -> Vec<String> {
        self.workers.iter().map(|w| w.label.clone()).collect()
    }

    fn set_job(&self, job: Option<Job>) {
        self.jobs.publish(job);
    }

    fn best(&self, job_id: u64) -> Vec<Found> {
        let mut keep = 0;
        let mut all = Vec::new();
        for w in &self.workers {
            let p = lock(&w.published);
            if p.job_id == Some(job_id) {
                keep = keep.max(p.best.keep());
                all.extend_from_slice(p.best.as_slice());
            }
        }
        TopN::merge(keep, [all.as_slice()]).sorted()
    }

    fn hash_counts(&self) -> Vec<u64> {
        self.workers
            .iter()
            .map(|w| w.hashes.load(Ordering::Relaxed))
            .collect()
    }

    fn hash_nonces(&self, prefix: &[u8], nonces: &[Nonce]) -> Vec<[u8; HASH_SIZE]> {
        hash_nonces(&self.table, prefix, nonces)
    }

    fn random_read_ceiling(&self, secs: f64) -> Option<f64> {
        Some(crate::bench::random_read_ceiling(&self.table, self.workers.len(), secs).0)
    }
}

/// LXRHash of `prefix ‖ nonce` for each nonce, batching runs of equal-length nonces.
pub fn hash_nonces(table: &Arc<Table>, prefix: &[u8], nonces: &[Nonce]) -> Vec<[u8; HASH_SIZE]> {
    let mut hasher: BatchHasher = BatchHasher::new(table.clone(), prefix);
    let mut out = vec![[0u8; HASH_SIZE]; nonces.len()];
    let mut buf = Vec::new();
    let mut start = 0;
    while start < nonces.len() {
        let len = nonces[start].len();
        let end = start
            + nonces[start..]
                .iter()
                .take_while(|n| n.len() == len)
                .count();
        buf.clear();
        for n in &nonces[start..end] {
            buf.extend_from_slice(n.as_bytes());
        }
        hasher.hash_batch(&buf, len, &mut out[start..end]);
        start = end;
    }
    out
}

impl Drop for CpuBackend {
    fn drop(&mut self) {
        self.jobs.close();
        for w in &mut self.workers {
            if let Some(h) = w.handle.take() {
                let _ = h.join();
            }
        }
    }
}

struct WorkerCtx {
    id: u8,
    table: Arc<Table>,
    jobs: Arc<LatestJob>,
    hashes: Arc<AtomicU64>,
    published: Arc<Mutex<Published>>,
}

impl WorkerCtx {
    fn run(self) {
        let mut hasher: BatchHasher = BatchHasher::new(self.table.clone(), &[]);
        let mut suffixes = [0u8; BATCH * 9];
        let mut out = [[0u8; HASH_SIZE]; BATCH];
        let mut seen = 0u64;
        'jobs: while let Some((generation, job)) = self.jobs.wait_newer(seen) {
            seen = generation;
            hasher.set_prefix(&job.prefix);
            let mut best = TopN::new(job.keep);
            {
                let mut p = lock(&self.published);
                p.job_id = Some(job.id);
                p.best = best.clone();
            }
            let mut counter = 1u64;
            loop {
                if self.jobs.generation() != seen {
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
                    let nonce = Nonce::new(self.id, counter + k as u64);
                    suffixes[k * nlen..(k + 1) * nlen].copy_from_slice(nonce.as_bytes());
                }
                hasher.hash_batch(&suffixes[..n * nlen], nlen, &mut out[..n]);
                let mut improved = false;
                for (k, h) in out[..n].iter().enumerate() {
                    let d = difficulty(h);
                    if d > job.min_difficulty && best.might_accept(d) {
                        improved |= best.offer(Found {
                            nonce: Nonce::new(self.id, counter + k as u64),
                            difficulty: d,
                        });
                    }
                }
                if improved {
                    lock(&self.published).best.clone_from(&best);
                }
                self.hashes.fetch_add(n as u64, Ordering::Relaxed);
                counter += n as u64;
            }
        }
    }
}
