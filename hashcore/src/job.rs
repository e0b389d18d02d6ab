//! Jobs, and the latest-value channel that hands them to hashing threads.
//!
//! Hashing threads are plain OS threads, not async tasks: they poll a generation counter (one
//! atomic load per batch) and block on a condition variable only while there is no job. Only the
//! newest job matters, so publishing replaces whatever was there.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// Work for a backend: find nonces such that LXRHash(`prefix ‖ nonce`) has a high difficulty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// Identifies the job in results (the coordinator's job id).
    pub id: u64,
    /// The shared input prefix: the 32-byte OPR hash when mining PegNet.
    pub prefix: Vec<u8>,
    /// Only results strictly above this difficulty are kept.
    pub min_difficulty: u64,
    /// How many results to keep (top-N).
    pub keep: usize,
}

struct Slot {
    job: Option<Arc<Job>>,
    closed: bool,
}

/// A single-slot channel holding the latest job (or none, meaning "pause").
pub struct LatestJob {
    generation: AtomicU64,
    /// Threads blocked in [`LatestJob::wait_newer`] right now.
    parked: AtomicUsize,
    slot: Mutex<Slot>,
    changed: Condvar,
}

impl Default for LatestJob {
    fn default() -> Self {
        Self::new()
    }
}

impl LatestJob {
    /// An empty channel (no job: workers idle).
    pub fn new() -> Self {
        LatestJob {
            generation: AtomicU64::new(0),
            parked: AtomicUsize::new(0),
            slot: Mutex::new(Slot {
                job: None,
                closed: false,
            }),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Slot> {
        // A panicking worker cannot leave the slot half-written (it only holds plain data).
        self.slot.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces the current job (`None` pauses the workers).
    pub fn publish(&self, job: Option<Job>) {
        let mut slot = self.lock();
        slot.job = job.map(Arc::new);
        self.generation.fetch_add(1, Ordering::Release);
        self.changed.notify_all();
    }

    /// Closes the channel: workers see `None` from [`LatestJob::wait_newer`] and exit.
    pub fn close(&self) {
        let mut slot = self.lock();
        slot.closed = true;
        slot.job = None;
        self.generation.fetch_add(1, Ordering::Release);
        self.changed.notify_all();
    }

    /// The generation counter; it changes whenever a job is published. Cheap enough for hot loops.
    #[inline]
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Blocks until the generation differs from `seen` and there is a job, or the channel is
    /// closed. Returns the new generation and job, or `None` once closed.
    pub fn wait_newer(&self, seen: u64) -> Option<(u64, Arc<Job>)> {
        let mut slot = self.lock();
        loop {
            if slot.closed {
                return None;
            }
            let generation = self.generation.load(Ordering::Acquire);
            if let (true, Some(job)) = (generation != seen, &slot.job) {
                return Some((generation, job.clone()));
            }
            self.parked.fetch_add(1, Ordering::AcqRel);
            slot = self.changed.wait(slot).unwrap_or_else(|e| e.into_inner());
            self.parked.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// How many threads are blocked waiting for a job right now. After a pause (`publish(None)`)
    /// it reaches the number of workers once every one of them has stopped hashing.
    pub fn parked(&self) -> usize {
        self.parked.load(Ordering::Acquire)
    }

    /// True once [`LatestJob::close`] has been called; workers then exit and no job is published
    /// again.
    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// True while there is a job to work on (not paused, not closed).
    pub fn has_job(&self) -> bool {
        let slot = self.lock();
        !slot.closed && slot.job.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn job(id: u64) -> Job {
        Job {
            id,
            prefix: vec![1, 2, 3],
            min_difficulty: 0,
            keep: 3,
        }
    }

    #[test]
    fn latest_value_wins_and_waiters_wake() {
        let ch = Arc::new(LatestJob::new());
        let g0 = ch.generation();
        ch.publish(Some(job(1)));
        ch.publish(Some(job(2)));
        let (g, j) = ch.wait_newer(g0).unwrap();
        assert_eq!(j.id, 2, "only the newest job is seen");
        let waiter = {
            let ch = ch.clone();
            std::thread::spawn(move || ch.wait_newer(g).map(|(_, j)| j.id))
        };
        std::thread::sleep(Duration::from_millis(20));
        ch.publish(None); // a pause does not wake the waiter with a job
        std::thread::sleep(Duration::from_millis(20));
        ch.publish(Some(job(3)));
        assert_eq!(waiter.join().unwrap(), Some(3));
    }

    #[test]
    fn parked_counts_the_waiting_threads() {
        let ch = Arc::new(LatestJob::new());
        assert_eq!(ch.parked(), 0);
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let ch = ch.clone();
                std::thread::spawn(move || ch.wait_newer(0).map(|(_, j)| j.id))
            })
            .collect();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while ch.parked() < 2 {
            assert!(std::time::Instant::now() < deadline, "waiters never parked");
            std::thread::yield_now();
        }
        ch.publish(Some(job(4)));
        for w in waiters {
            assert_eq!(w.join().unwrap(), Some(4));
        }
        assert_eq!(ch.parked(), 0);
    }

    #[test]
    fn close_releases_waiters() {
        let ch = Arc::new(LatestJob::new());
        let waiter = {
            let ch = ch.clone();
            std::thread::spawn(move || ch.wait_newer(0).is_none())
        };
        std::thread::sleep(Duration::from_millis(20));
        ch.close();
        assert!(waiter.join().unwrap());
        assert!(ch.is_closed());
    }
}
