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

    /// The health of the workers that are supervised devices (GPUs): state, restarts, sensors.
    /// `worker` indexes [`MiningBackend::worker_labels`]. CPU threads are not listed.
    fn device_health(&self) -> Vec<crate::devices::DeviceHealth> {
        Vec::new()
    }
}

/// Several backends mining the same job together (`--backend all`): their nonce spaces must not
/// overlap (give each its own range of nonce ids).
pub struct CombinedBackend {
    parts: Vec<Box<dyn MiningBackend>>,
    /// The id and `keep` of the last job given (a pause keeps it), so that [`MiningBackend::best`]
    /// keeps as many results as the job asked for, not as many as one part happened to find.
    last_job: std::sync::Mutex<Option<(u64, usize)>>,
}

impl CombinedBackend {
    /// Combines `parts`.
    pub fn new(parts: Vec<Box<dyn MiningBackend>>) -> Self {
        CombinedBackend {
            parts,
            last_job: std::sync::Mutex::new(None),
        }
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
        if let Some(j) = &job {
            *self.last_job.lock().unwrap_or_else(|e| e.into_inner()) = Some((j.id, j.keep));
        }
        for p in &self.parts {
            p.set_job(job.clone());
        }
    }

    fn best(&self, job_id: u64) -> Vec<Found> {
        let lists: Vec<Vec<Found>> = self.parts.iter().map(|p| p.best(job_id)).collect();
        // The job's own `keep`; for a job this backend was not given, the longest part's list
        // (each part keeps at most the job's `keep`).
        let keep = match *self.last_job.lock().unwrap_or_else(|e| e.into_inner()) {
            Some((id, keep)) if id == job_id => keep,
            _ => lists.iter().map(Vec::len).max().unwrap_or(0),
        };
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

    fn device_health(&self) -> Vec<crate::devices::DeviceHealth> {
        let mut out = Vec::new();
        let mut offset = 0;
        for p in &self.parts {
            out.extend(p.device_health().into_iter().map(|mut h| {
                h.worker += offset;
                h
            }));
            offset += p.worker_labels().len();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A backend that reports fixed results and records the jobs it is given.
    struct Fixed {
        found: Vec<Found>,
        jobs: Mutex<Vec<Option<u64>>>,
    }

    impl Fixed {
        fn boxed(id: u8, difficulties: &[u64]) -> Box<dyn MiningBackend> {
            let found = difficulties
                .iter()
                .enumerate()
                .map(|(k, d)| Found {
                    nonce: Nonce::new(id, k as u64 + 1),
                    difficulty: *d,
                })
                .collect();
            Box::new(Fixed {
                found,
                jobs: Mutex::new(Vec::new()),
            })
        }
    }

    impl MiningBackend for Fixed {
        fn name(&self) -> &str {
            "fixed"
        }
        fn worker_labels(&self) -> Vec<String> {
            vec![format!("fixed{}", self.found.len())]
        }
        fn set_job(&self, job: Option<Job>) {
            self.jobs.lock().unwrap().push(job.map(|j| j.id));
        }
        fn best(&self, job_id: u64) -> Vec<Found> {
            if job_id == 7 {
                self.found.clone()
            } else {
                Vec::new()
            }
        }
        fn hash_counts(&self) -> Vec<u64> {
            vec![self.found.len() as u64]
        }
        fn hash_nonces(&self, _: &[u8], nonces: &[Nonce]) -> Vec<[u8; HASH_SIZE]> {
            vec![[self.found.len() as u8; HASH_SIZE]; nonces.len()]
        }
        fn random_read_ceiling(&self, _: f64) -> Option<f64> {
            Some(10.0)
        }
    }

    #[test]
    fn combined_best_keeps_what_the_job_asked_for_across_parts() {
        let all = CombinedBackend::new(vec![
            Fixed::boxed(0, &[50, 30, 10]),
            Fixed::boxed(1, &[40, 20]),
        ]);
        let job = |keep| {
            Some(Job {
                id: 7,
                prefix: vec![],
                min_difficulty: 0,
                keep,
            })
        };
        // The job wants 5: both parts' results count, though neither found 5 alone.
        all.set_job(job(5));
        all.set_job(None); // a pause (minute 9) keeps the job's keep
        let got: Vec<u64> = all.best(7).iter().map(|f| f.difficulty).collect();
        assert_eq!(got, vec![50, 40, 30, 20, 10]);
        all.set_job(job(2));
        let got: Vec<u64> = all.best(7).iter().map(|f| f.difficulty).collect();
        assert_eq!(got, vec![50, 40]);
    }

    #[test]
    fn combined_best_merges_the_parts_best_first_keeping_the_longest_list() {
        // For a job it was never given, the longest part's list bounds the merge.
        let all = CombinedBackend::new(vec![
            Fixed::boxed(0, &[50, 30, 10]),
            Fixed::boxed(1, &[40, 20]),
        ]);
        let got: Vec<(u8, u64)> = all
            .best(7)
            .iter()
            .map(|f| (f.nonce.as_bytes()[0], f.difficulty))
            .collect();
        // Three kept (the longest part's list), best of both parts, in order.
        assert_eq!(got, vec![(0, 50), (1, 40), (0, 30)]);
        assert!(
            all.best(8).is_empty(),
            "no part has results for another job"
        );
    }

    #[test]
    fn combined_forwards_jobs_and_concatenates_counters() {
        let all = CombinedBackend::new(vec![Fixed::boxed(0, &[1, 2, 3]), Fixed::boxed(1, &[4])]);
        all.set_job(Some(Job {
            id: 7,
            prefix: vec![],
            min_difficulty: 0,
            keep: 2,
        }));
        all.set_job(None);
        assert_eq!(all.hash_counts(), vec![3, 1]);
        assert_eq!(all.worker_labels(), vec!["fixed3", "fixed1"]);
        assert_eq!(all.hash_nonces(&[], &[Nonce::new(0, 1)])[0][0], 3);
        assert_eq!(all.random_read_ceiling(1.0), Some(20.0));
    }
}
