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
}
