//! The verification pool and the queue in front of it. Submissions' records wait in one priority
//! queue (see `budget.rs` for the order and the budget); each record queued spawns one task on
//! the bounded rayon pool, and each task takes the *best* records waiting, not its own, so the
//! pool works in the queue's order whatever order the tasks run in. A task takes up to
//! [`RecordHasher::LANES`] records (one per identity: see `run_batch`), decides each (the budget,
//! a closed identity, a stale job), hashes together the ones it may (one LXRHash alone waits on
//! memory for each of its ~1,900 table reads; 24 interleaved keep that many reads in flight:
//! ~13× the records a second at 30 bits), times them for the rate, and sends each verdict back
//! to the submission that queued the record. Tasks that find the queue empty end at once.

use super::budget::{BudgetView, Decision, JobBudget, Priority, Rate, Standing};
use crate::verify::{Accepted, Candidate, MinerRecord, RecordRefusal};
use hashcore::{RecordHasher, Table};
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Verifications the calibration times at start (two full batches).
const CALIBRATION_HASHES: usize = 2 * RecordHasher::LANES;

/// What became of one queued record.
#[derive(Debug)]
pub(super) enum Verdict {
    /// It hashes to its claimed difficulty.
    Accepted(Accepted),
    /// Refused (a wrong difficulty, or unhashed: the budget, a closed identity, a stale job).
    Refused(RecordRefusal),
    /// Hashing it failed (a panic: the coordinator's fault).
    Failed,
}

/// A record waiting in the queue.
struct Item {
    priority: Priority,
    job_id: u64,
    identity: Arc<str>,
    standing: Standing,
    record: Arc<MinerRecord>,
    index: usize,
    nonce: Vec<u8>,
    claimed: u64,
    reply: mpsc::UnboundedSender<(usize, Verdict)>,
}

impl PartialEq for Item {
    fn eq(&self, other: &Self) -> bool {
        self.priority == other.priority
    }
}
impl Eq for Item {}
impl PartialOrd for Item {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Item {
    fn cmp(&self, other: &Self) -> Ordering {
        self.priority.cmp(&other.priority)
    }
}

struct State {
    queue: BinaryHeap<Item>,
    arrivals: u64,
    rate: Rate,
    window: Duration,
    job: Option<JobBudget>,
}

struct Shared {
    table: Arc<Table>,
    /// Hashers not in use (one per pool thread at most), kept for their buffers.
    hashers: Mutex<Vec<RecordHasher>>,
    state: Mutex<State>,
    hashes: AtomicU64,
    /// The order records were taken from the queue (identity, record index), for the tests.
    #[cfg(test)]
    served: Mutex<Vec<(Arc<str>, usize)>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One pool task: the best records waiting (up to [`RecordHasher::LANES`], one per
    /// identity), decided in the queue's order, the ones that may be hashed hashed together,
    /// each answered.
    fn run_batch(&self) {
        let mut batch: Vec<(Item, Decision)> = Vec::with_capacity(RecordHasher::LANES);
        {
            let mut st = self.lock();
            while batch.len() < RecordHasher::LANES {
                // One record per identity in a batch: an identity's next record waits until its
                // earlier ones are hashed, so a liar's later records are still refused unhashed.
                let next_is_new = st
                    .queue
                    .peek()
                    .is_some_and(|n| batch.iter().all(|(b, _)| b.identity != n.identity));
                if !next_is_new {
                    break;
                }
                let Some(item) = st.queue.pop() else { break };
                #[cfg(test)]
                self.served
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((item.identity.clone(), item.index));
                let decision = match st.job.as_mut() {
                    Some(b) => b.decide(item.job_id, &item.identity, item.standing),
                    None => Decision::Stale,
                };
                batch.push((item, decision));
            }
            // The stale ones' answer names the current job, as of their decision.
            let current = st.job.as_ref().map_or(0, JobBudget::job_id);
            for (item, d) in &batch {
                if *d == Decision::Stale {
                    let v = Verdict::Refused(RecordRefusal::StaleJob {
                        got: item.job_id,
                        current,
                    });
                    let _ = item.reply.send((item.index, v));
                }
            }
        }
        let to_hash: Vec<&Item> = batch
            .iter()
            .filter(|(_, d)| *d == Decision::Hash)
            .map(|(item, _)| item)
            .collect();
        let hashed = self.hash(&to_hash);
        for (item, decision) in &batch {
            let verdict = match decision {
                Decision::Hash => continue,
                Decision::OverBudget(n) => Verdict::Refused(RecordRefusal::OverBudget(*n)),
                Decision::Closed => Verdict::Refused(RecordRefusal::Closed),
                Decision::Stale => continue,
            };
            let _ = item.reply.send((item.index, verdict));
        }
        for (item, verdict) in to_hash.iter().zip(hashed) {
            let _ = item.reply.send((item.index, verdict));
        }
    }

    /// Hashes `items` together (see [`RecordHasher`]) and judges each against its claim: a wrong
    /// difficulty closes its identity for the job.
    fn hash(&self, items: &[&Item]) -> Vec<Verdict> {
        if items.is_empty() {
            return Vec::new();
        }
        let started = Instant::now();
        let mut hasher = self.hashers.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let actual = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let h = hasher.get_or_insert_with(|| RecordHasher::new(self.table.clone()));
            let inputs: Vec<(&[u8], &[u8])> = items
                .iter()
                .map(|i| (&i.record.opr_hash[..], &i.nonce[..]))
                .collect();
            let mut out = vec![0u64; items.len()];
            h.difficulties(&inputs, &mut out);
            out
        }));
        let per_hash = started.elapsed().as_secs_f64() / items.len() as f64;
        if let (Some(h), Ok(_)) = (hasher, &actual) {
            self.hashers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(h);
        }
        self.hashes
            .fetch_add(items.len() as u64, AtomicOrdering::Relaxed);
        let mut st = self.lock();
        for _ in items {
            st.rate.observe(per_hash);
        }
        let Ok(actual) = actual else {
            return items.iter().map(|_| Verdict::Failed).collect();
        };
        let mut out = Vec::with_capacity(items.len());
        for (item, actual) in items.iter().zip(actual) {
            out.push(if actual == item.claimed {
                Verdict::Accepted(Accepted {
                    nonce: item.nonce.clone(),
                    difficulty: actual,
                })
            } else {
                if let Some(b) = st.job.as_mut().filter(|b| b.job_id() == item.job_id) {
                    b.close(&item.identity);
                }
                Verdict::Refused(RecordRefusal::WrongDifficulty {
                    claimed: item.claimed,
                    actual,
                })
            });
        }
        out
    }
}

/// The pool, its queue, its measured rate and the open job's budget.
pub(super) struct Verifier {
    pool: Option<rayon::ThreadPool>,
    shared: Arc<Shared>,
}

/// What the verifier has done, for the logs, the load generator and the tests.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct VerifyStats {
    /// LXRHashes done since the start, all jobs.
    pub hashes: u64,
    /// The measured rate, verifications per second (all threads).
    pub rate_per_sec: f64,
    /// Records waiting now.
    pub queued: usize,
    /// The open job's budget (none between jobs).
    pub budget: Option<BudgetView>,
}

impl Verifier {
    /// A pool of `threads` (0: one per CPU) verifying with `table`; its rate is calibrated on it
    /// at once, off the async threads.
    pub(super) fn new(threads: usize, table: Arc<Table>) -> Verifier {
        let threads = match threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|k| format!("verify-{k}"))
            .build()
            .map_err(|e| {
                tracing::warn!("no verification pool ({e}): verifying on tokio's blocking threads")
            })
            .ok();
        let shared = Arc::new(Shared {
            table,
            hashers: Mutex::new(Vec::new()),
            state: Mutex::new(State {
                queue: BinaryHeap::new(),
                arrivals: 0,
                rate: Rate::new(threads),
                window: crate::engine::DEFAULT_SUBMIT_WINDOW_CAP,
                job: None,
            }),
            hashes: AtomicU64::new(0),
            #[cfg(test)]
            served: Mutex::new(Vec::new()),
        });
        let v = Verifier { pool, shared };
        let s = v.shared.clone();
        v.spawn(move || calibrate(&s));
        v
    }

    fn spawn(&self, f: impl FnOnce() + Send + 'static) {
        match &self.pool {
            Some(pool) => pool.spawn(f),
            None => {
                // Only without a pool; a runtime is there whenever a submission is.
                if let Ok(rt) = tokio::runtime::Handle::try_current() {
                    rt.spawn_blocking(f);
                }
            }
        }
    }

    /// The submit window the budget is sized for (the engine sets it; 20 s until then).
    pub(super) fn set_window(&self, window: Duration) {
        self.shared.lock().window = window;
    }

    /// Opens job `job_id`'s budget (the previous job's records still queued are refused as
    /// stale): `per_miner` records each, `enrolled` enrolled identities connected now, at most
    /// `cap` identities remembered.
    pub(super) fn start_job(&self, job_id: u64, per_miner: usize, enrolled: usize, cap: usize) {
        let mut st = self.shared.lock();
        let base = super::budget::sized(st.rate.per_sec(), st.window);
        let now = crate::telemetry::unix_now();
        tracing::debug!(
            job_id,
            base,
            enrolled,
            rate = st.rate.per_sec(),
            "verification budget"
        );
        st.job = Some(JobBudget::new(job_id, now, base, per_miner, enrolled, cap));
    }

    /// When the open job `job_id` started (Unix seconds), if it is the open one.
    pub(super) fn job_started(&self, job_id: u64) -> Option<u64> {
        let st = self.shared.lock();
        st.job
            .as_ref()
            .filter(|b| b.job_id() == job_id)
            .map(JobBudget::started_unix)
    }

    /// Whether `identity` lied earlier in job `job_id`.
    pub(super) fn is_closed(&self, job_id: u64, identity: &str) -> bool {
        let st = self.shared.lock();
        st.job
            .as_ref()
            .is_some_and(|b| b.job_id() == job_id && b.is_closed(identity))
    }

    /// Queues `candidates` of `identity` (of `standing`) for job `job_id` and waits for every
    /// one's verdict: (index in the submission, verdict), in no particular order.
    pub(super) async fn verify(
        &self,
        job_id: u64,
        identity: &str,
        standing: Standing,
        record: MinerRecord,
        mut candidates: Vec<Candidate>,
    ) -> Vec<(usize, Verdict)> {
        let n = candidates.len();
        if n == 0 {
            return Vec::new();
        }
        // Best claim first: its first round is the identity's best record.
        candidates.sort_by_key(|c| Reverse(c.2));
        let (tx, mut rx) = mpsc::unbounded_channel();
        let identity: Arc<str> = Arc::from(identity);
        let record = Arc::new(record);
        {
            let mut st = self.shared.lock();
            let first = match st.job.as_mut().filter(|b| b.job_id() == job_id) {
                Some(b) => b.arrive(&identity, standing, n),
                None => 0,
            };
            for (k, (index, nonce, claimed)) in candidates.into_iter().enumerate() {
                let arrival = st.arrivals;
                st.arrivals += 1;
                let round = first.saturating_add(u32::try_from(k).unwrap_or(u32::MAX));
                st.queue.push(Item {
                    priority: Priority {
                        standing,
                        round: Reverse(round),
                        claimed,
                        arrival: Reverse(arrival),
                    },
                    job_id,
                    identity: identity.clone(),
                    standing,
                    record: record.clone(),
                    index,
                    nonce,
                    claimed,
                    reply: tx.clone(),
                });
            }
        }
        drop(tx);
        for _ in 0..n {
            let s = self.shared.clone();
            self.spawn(move || s.run_batch());
        }
        let mut out = Vec::with_capacity(n);
        while let Some(v) = rx.recv().await {
            out.push(v);
            if out.len() == n {
                break;
            }
        }
        out
    }

    /// Whether the pool's rate has been measured yet.
    #[cfg(test)]
    pub(super) fn calibrated(&self) -> bool {
        self.shared.lock().rate.calibrated()
    }

    /// The figures now.
    pub(super) fn stats(&self) -> VerifyStats {
        let st = self.shared.lock();
        VerifyStats {
            hashes: self.shared.hashes.load(AtomicOrdering::Relaxed),
            rate_per_sec: st.rate.per_sec(),
            queued: st.queue.len(),
            budget: st.job.as_ref().map(JobBudget::view),
        }
    }
}

/// Times [`CALIBRATION_HASHES`] verifications of arbitrary records, hashed together as the pool
/// hashes a full batch, on one pool thread.
fn calibrate(s: &Shared) {
    let prefixes: Vec<[u8; 32]> = (0..CALIBRATION_HASHES)
        .map(|k| std::array::from_fn(|i| (k + i) as u8 ^ 0x5a))
        .collect();
    let nonces: Vec<[u8; 8]> = (0..CALIBRATION_HASHES as u64)
        .map(u64::to_be_bytes)
        .collect();
    let inputs: Vec<(&[u8], &[u8])> = prefixes
        .iter()
        .zip(&nonces)
        .map(|(p, n)| (&p[..], &n[..]))
        .collect();
    let mut out = vec![0u64; CALIBRATION_HASHES];
    let mut hasher = RecordHasher::new(s.table.clone());
    let started = Instant::now();
    hasher.difficulties(&inputs, &mut out);
    let per_hash = started.elapsed().as_secs_f64() / CALIBRATION_HASHES as f64;
    std::hint::black_box(&out);
    s.hashers
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(hasher);
    let mut st = s.lock();
    if !st.rate.calibrated() {
        st.rate.calibrate(per_hash);
        tracing::debug!(
            rate = st.rate.per_sec(),
            "verification pool calibrated: {:.1} µs a record",
            per_hash * 1e6
        );
    }
}

#[cfg(test)]
#[path = "verifier_tests.rs"]
mod tests;
