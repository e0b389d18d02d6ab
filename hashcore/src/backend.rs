//! The interface every hashing backend (CPU threads, OpenCL devices) implements.

use crate::job::Job;
use crate::nonce::Nonce;
use crate::params::HASH_SIZE;
use crate::topn::Found;

/// A running set of hashing workers.
///
/// Workers idle until [`MiningBackend::set_job`] gives them a job, switch as soon as a newer one
/// is set, and pause on `set_job(None)` (PegNet's minute-9 "stop"). Dropping the backend stops and
/// joins its workers.
pub trait MiningBackend: Send + Sync {
    /// Short name, e.g. `cpu`.
    fn name(&self) -> &str;

    /// One label per worker (thread or device), in the order of [`MiningBackend::hash_counts`].
    fn worker_labels(&self) -> Vec<String>;

    /// Replaces the current job; `None` pauses. Results of the previous job stay readable
    /// through [`MiningBackend::best`] until a worker starts the next one.
    fn set_job(&self, job: Option<Job>);

    /// The best results found so far for job `job_id`, best first, at most the job's `keep`.
    fn best(&self, job_id: u64) -> Vec<Found>;

    /// Hashes computed by each worker since the backend started (monotonic).
    fn hash_counts(&self) -> Vec<u64>;

    /// LXRHash of `prefix ‖ nonce` for each nonce, computed the way this backend mines. Used for
    /// the bench checksum and to cross-check backends against each other.
    fn hash_nonces(&self, prefix: &[u8], nonces: &[Nonce]) -> Vec<[u8; HASH_SIZE]>;

    /// The random 1-byte reads per second this backend's memory allows over the table (the
    /// hash-rate ceiling is this divided by the reads per hash), measured for about `secs`.
    /// Call it while the backend is paused.
    fn random_read_ceiling(&self, secs: f64) -> Option<f64>;
}

/// Several backends mining the same job together (`--backend all`): their nonce spaces must not
/// overlap (give each its own range of nonce ids).
pub struct CombinedBackend {
    parts: Vec<Box<dyn MiningBackend>>,
}

impl CombinedBackend {
    /// Combines `parts`.
    pub fn new(parts: Vec<Box<dyn MiningBackend>>) -> Self {
        CombinedBackend { parts }
    }
}

impl MiningBackend for CombinedBackend {
    fn name(&self) -> &str {
        "all"
    }

    fn worker_labels(&self) -> Vec<String> {
        self.parts.iter().flat_map(|p| p.worker_labels()).collect()
    }

    fn set_job(&self, job: Option<Job>) {
        for p in &self.parts {
            p.set_job(job.clone());
        }
    }

    fn best(&self, job_id: u64) -> Vec<Found> {
        let lists: Vec<Vec<Found>> = self.parts.iter().map(|p| p.best(job_id)).collect();
        let keep = lists.iter().map(Vec::len).max().unwrap_or(0);
        crate::topn::TopN::merge(keep, lists.iter().map(Vec::as_slice)).sorted()
    }

    fn hash_counts(&self) -> Vec<u64> {
        self.parts.iter().flat_map(|p| p.hash_counts()).collect()
    }

    fn hash_nonces(&self, prefix: &[u8], nonces: &[Nonce]) -> Vec<[u8; HASH_SIZE]> {
        self.parts
            .first()
            .map(|p| p.hash_nonces(prefix, nonces))
            .unwrap_or_default()
    }

    fn random_read_ceiling(&self, secs: f64) -> Option<f64> {
        let each = secs / self.parts.len().max(1) as f64;
        self.parts.iter().map(|p| p.random_read_ceiling(each)).sum()
    }
}
