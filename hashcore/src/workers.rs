//! What every backend has: a set of worker threads (CPU miners or OpenCL device feeders) fed by one
//! latest-value job channel, each counting its hashes in an atomic counter and publishing the best
//! results of the job it is on. Workers replace their results when they start a job and update them
//! only when their top-N improves (rarely), so readers never slow the hot loop.

use crate::error::{Error, Result};
use crate::job::{Job, LatestJob};
use crate::topn::{Found, TopN};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

struct Published {
    job_id: Option<u64>,
    best: TopN,
}

/// One worker's published results.
#[derive(Clone)]
pub(crate) struct ResultSlot(Arc<Mutex<Published>>);

impl ResultSlot {
    pub(crate) fn new() -> Self {
        ResultSlot(Arc::new(Mutex::new(Published {
            job_id: None,
            best: TopN::new(0),
        })))
    }

    fn lock(&self) -> MutexGuard<'_, Published> {
        // The slot holds plain data; a worker that panicked cannot leave it half-written.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The worker starts `job_id`: its previous results are dropped.
    pub(crate) fn start_job(&self, job_id: u64, best: &TopN) {
        let mut p = self.lock();
        p.job_id = Some(job_id);
        p.best = best.clone();
    }

    /// The worker's top-N improved.
    pub(crate) fn improve(&self, best: &TopN) {
        self.lock().best.clone_from(best);
    }

    /// Adds the results for `job_id`, if that is the job the worker is on, to `all`, and raises
    /// `keep` to the job's.
    pub(crate) fn collect(&self, job_id: u64, keep: &mut usize, all: &mut Vec<Found>) {
        let p = self.lock();
        if p.job_id == Some(job_id) {
            *keep = (*keep).max(p.best.keep());
            all.extend_from_slice(p.best.as_slice());
        }
    }
}

/// What a worker thread gets: the job channel, its hash counter, its result slot.
pub(crate) struct WorkerIo {
    pub jobs: Arc<LatestJob>,
    pub hashes: Arc<AtomicU64>,
    pub published: ResultSlot,
}

struct Worker {
    label: String,
    hashes: Arc<AtomicU64>,
    published: ResultSlot,
    handle: Option<JoinHandle<()>>,
}

/// A backend's workers. Dropping it closes the job channel and joins every thread.
pub(crate) struct WorkerSet {
    jobs: Arc<LatestJob>,
    workers: Vec<Worker>,
}

impl WorkerSet {
    pub(crate) fn new() -> Self {
        WorkerSet {
            jobs: Arc::new(LatestJob::new()),
            workers: Vec::new(),
        }
    }

    /// Starts a worker thread named `thread` running `run`.
    pub(crate) fn spawn(
        &mut self,
        label: String,
        thread: String,
        run: impl FnOnce(WorkerIo) + Send + 'static,
    ) -> Result<()> {
        let io = WorkerIo {
            jobs: self.jobs.clone(),
            hashes: Arc::new(AtomicU64::new(0)),
            published: ResultSlot::new(),
        };
        let (hashes, published) = (io.hashes.clone(), io.published.clone());
        let handle = std::thread::Builder::new()
            .name(thread.clone())
            .spawn(move || run(io))
            .map_err(|e| Error::Backend(format!("cannot start thread {thread}: {e}")))?;
        self.workers.push(Worker {
            label,
            hashes,
            published,
            handle: Some(handle),
        });
        Ok(())
    }

    pub(crate) fn len(&self) -> usize {
        self.workers.len()
    }

    pub(crate) fn labels(&self) -> Vec<String> {
        self.workers.iter().map(|w| w.label.clone()).collect()
    }

    pub(crate) fn set_job(&self, job: Option<Job>) {
        self.jobs.publish(job);
    }

    /// The best results of `job_id` over the workers that are on it, best first.
    pub(crate) fn best(&self, job_id: u64) -> Vec<Found> {
        let mut keep = 0;
        let mut all = Vec::new();
        for w in &self.workers {
            w.published.collect(job_id, &mut keep, &mut all);
        }
        TopN::merge(keep, [all.as_slice()]).sorted()
    }

    /// Workers blocked waiting for a job (all of them once a pause has taken effect).
    pub(crate) fn parked(&self) -> usize {
        self.jobs.parked()
    }

    pub(crate) fn hash_counts(&self) -> Vec<u64> {
        self.workers
            .iter()
            .map(|w| w.hashes.load(Ordering::Relaxed))
            .collect()
    }
}

impl Drop for WorkerSet {
    fn drop(&mut self) {
        self.jobs.close();
        for w in &mut self.workers {
            if let Some(h) = w.handle.take() {
                let _ = h.join();
            }
        }
    }
}
