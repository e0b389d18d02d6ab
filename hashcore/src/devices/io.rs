//! What one instance of a device's thread gets: the job channel, its own hash counter and result
//! slot, and two flags the watchdog sets: `retired` (a newer instance replaced this one: stop,
//! publish nothing more) and `hot` (finish the launches in flight, then wait until it cools).

use crate::job::{Job, LatestJob};
use crate::topn::TopN;
use crate::workers::ResultSlot;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How often a device paused for heat looks whether it has cooled, a new job came or it was
/// retired. Off the hot path: a paused device hashes nothing anyway.
const COOL_POLL: Duration = Duration::from_millis(50);

/// A device's side of the supervision, moved into its thread. Every method is cheap enough to call
/// once per launch.
pub struct DeviceIo {
    pub(crate) jobs: Arc<LatestJob>,
    pub(crate) hashes: Arc<AtomicU64>,
    pub(crate) published: ResultSlot,
    pub(crate) retired: Arc<AtomicBool>,
    pub(crate) hot: Arc<AtomicBool>,
}

impl DeviceIo {
    /// Blocks until there is a job newer than generation `seen`; `None` when the backend stops
    /// or this instance was retired (the thread must then return).
    pub fn next_job(&self, seen: u64) -> Option<(u64, Arc<Job>)> {
        if self.retired() {
            return None;
        }
        let got = self.jobs.wait_newer(seen)?;
        (!self.retired()).then_some(got)
    }

    /// Whether the device should stop launching for job generation `seen`: a newer job (or a
    /// pause) was published, or this instance was retired.
    #[inline]
    pub fn switching(&self, seen: u64) -> bool {
        self.jobs.generation() != seen || self.retired()
    }

    /// Whether a newer instance replaced this one (it must return without publishing).
    #[inline]
    pub fn retired(&self) -> bool {
        self.retired.load(Ordering::Acquire)
    }

    /// Whether the device is over its temperature limit: launch nothing new.
    #[inline]
    pub fn hot(&self) -> bool {
        self.hot.load(Ordering::Acquire)
    }

    /// Waits (with nothing in flight) until the device has cooled, or job generation `seen` is no
    /// longer current, or this instance was retired.
    pub fn wait_cool(&self, seen: u64) {
        while self.hot() && !self.switching(seen) {
            std::thread::sleep(COOL_POLL);
        }
    }

    /// `n` hashes were computed.
    #[inline]
    pub fn add_hashes(&self, n: u64) {
        if !self.retired() {
            self.hashes.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// The device starts job `job_id` with an empty top-N.
    pub fn start_job(&self, job_id: u64, best: &TopN) {
        if !self.retired() {
            self.published.start_job(job_id, best);
        }
    }

    /// The device's top-N improved.
    pub fn improve(&self, best: &TopN) {
        if !self.retired() {
            self.published.improve(best);
        }
    }
}

/// One device the watchdog supervises: an OpenCL GPU, or a fake one in tests.
pub trait Device: Send + Sync + 'static {
    /// Short description (`opencl0:1 NVIDIA H200`), the worker's label.
    fn label(&self) -> String;

    /// Starts a fresh instance of the device (`first` is the instance [`crate::devices`]
    /// started with the backend; later ones follow a hang) and mines the jobs `io` hands out until
    /// [`DeviceIo::next_job`] returns `None`. Runs on its own thread and may block forever in a
    /// hung driver: the watchdog then abandons the thread and calls `run` again on a new one.
    /// An error ends this instance (the watchdog sees no results and restarts it).
    fn run(&self, io: DeviceIo, first: bool) -> crate::Result<()>;
}
