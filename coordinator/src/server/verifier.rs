//! The verification pool and the queue in front of it. Submissions' records wait in one priority
//! queue (see `budget.rs` for the order and the budget); each record queued spawns one task on
//! the bounded rayon pool, and each task takes the *best* record waiting, not its own, so the
//! pool works in the queue's order whatever order the tasks run in. A task decides (the budget,
//! a closed identity, a stale job), hashes if it may, times the hash for the rate, and sends the
//! verdict back to the submission that queued the record.

use super::budget::{BudgetView, Decision, JobBudget, Priority, Rate, Standing};
use crate::verify::{Accepted, Candidate, MinerRecord, RecordRefusal};
use hashcore::Table;
use pegnet::Pow;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Verifications the calibration times at start.
const CALIBRATION_HASHES: usize = 64;

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

    /// One pool task: the best record waiting, decided, hashed if it may be, answered.
    fn run_one(&self) {
        let (item, decision) = {
            let mut st = self.lock();
            let Some(item) = st.queue.pop() else { return };
            #[cfg(test)]
            self.served
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((item.identity.clone(), item.index));
            let decision = match st.job.as_mut() {
                Some(b) => b.decide(item.job_id, &item.identity, item.standing),
                None => Decision::Stale,
            };
            (item, decision)
        };
        let verdict = match decision {
            Decision::Hash => self.hash(&item),
            Decision::OverBudget(n) => Verdict::Refused(RecordRefusal::OverBudget(n)),
            Decision::Closed => Verdict::Refused(RecordRefusal::Closed),
            Decision::Stale => {
                let current = self.lock().job.as_ref().map_or(0, JobBudget::job_id);
                Verdict::Refused(RecordRefusal::StaleJob {
                    got: item.job_id,
                    current,
                })
            }
        };
        let _ = item.reply.send((item.index, verdict));
    }

    fn hash(&self, item: &Item) -> Verdict {
        let started = Instant::now();
        let table = &self.table;
        let actual = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            table.difficulty(&item.record.opr_hash, &item.nonce)
        }));
        let secs = started.elapsed().as_secs_f64();
        self.hashes.fetch_add(1, AtomicOrdering::Relaxed);
        let mut st = self.lock();
        st.rate.observe(secs);
        match actual {
            Ok(actual) if actual == item.claimed => Verdict::Accepted(Accepted {
                nonce: item.nonce.clone(),
                difficulty: actual,
            }),
            Ok(actual) => {
                if let Some(b) = st.job.as_mut().filter(|b| b.job_id() == item.job_id) {
                    b.close(&item.identity);
                }
                Verdict::Refused(RecordRefusal::WrongDifficulty {
                    claimed: item.claimed,
                    actual,
                })
            }
            Err(_) => Verdict::Failed,
        }
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
            self.spawn(move || s.run_one());
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

/// Times [`CALIBRATION_HASHES`] verifications of arbitrary records on one pool thread.
fn calibrate(s: &Shared) {
    let prefix: [u8; 32] = std::array::from_fn(|k| k as u8 ^ 0x5a);
    let started = Instant::now();
    let mut sink = 0u64;
    for n in 0..CALIBRATION_HASHES as u64 {
        sink ^= s.table.difficulty(&prefix, &n.to_be_bytes());
    }
    let per_hash = started.elapsed().as_secs_f64() / CALIBRATION_HASHES as f64;
    std::hint::black_box(sink);
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
mod tests {
    use super::*;
    use pegnet::Network;

    fn table() -> Arc<Table> {
        static T: std::sync::OnceLock<Arc<Table>> = std::sync::OnceLock::new();
        T.get_or_init(|| Arc::new(Table::generate(10, &mut |_, _| {}).unwrap()))
            .clone()
    }

    fn record(identity: &str) -> MinerRecord {
        MinerRecord {
            job_id: 1,
            network: Network::DevNet,
            version: 2,
            identity: identity.into(),
            coinbase: String::new(),
            content: Vec::new(),
            opr_hash: [identity.len() as u8; 32],
        }
    }

    /// `n` records of `identity`, each claiming its real difficulty (`lie`: the first one's is
    /// off by one).
    fn honest(identity: &str, n: usize, lie: bool) -> Vec<Candidate> {
        let r = record(identity);
        (0..n)
            .map(|k| {
                let nonce = (k as u64).to_be_bytes().to_vec();
                let d = table().difficulty(&r.opr_hash, &nonce);
                let d = if lie && k == 0 { d ^ 1 } else { d };
                (k, nonce, d)
            })
            .collect()
    }

    fn counts(v: &[(usize, Verdict)]) -> (usize, usize, usize, usize) {
        let mut c = (0, 0, 0, 0);
        for (_, v) in v {
            match v {
                Verdict::Accepted(_) => c.0 += 1,
                Verdict::Refused(RecordRefusal::OverBudget(_)) => c.1 += 1,
                Verdict::Refused(RecordRefusal::Closed) => c.2 += 1,
                Verdict::Refused(_) | Verdict::Failed => c.3 += 1,
            }
        }
        c
    }

    /// A one-thread verifier whose rate makes the budget `base` hashes a 1 s window.
    fn verifier(base: f64) -> Verifier {
        let v = Verifier::new(1, table());
        let mut st = v.shared.lock();
        st.rate.calibrate(1.0 / base);
        st.window = Duration::from_secs(1);
        drop(st);
        v
    }

    #[tokio::test]
    async fn unknown_identities_share_what_the_enrolled_do_not_need() {
        // 25 a block; one enrolled miner of 10 records reserves 10; unknowns share 15.
        let v = verifier(25.0);
        v.start_job(1, 10, 1, 64);
        let a = v
            .verify(
                1,
                "junk1",
                Standing::Unknown,
                record("junk1"),
                honest("junk1", 10, false),
            )
            .await;
        assert_eq!(counts(&a), (10, 0, 0, 0));
        let b = v
            .verify(
                1,
                "junk02",
                Standing::Unknown,
                record("junk02"),
                honest("junk02", 10, false),
            )
            .await;
        assert_eq!(counts(&b), (5, 5, 0, 0), "the unknown share is spent");
        let rig = v
            .verify(
                1,
                "rig",
                Standing::Enrolled,
                record("rig"),
                honest("rig", 10, false),
            )
            .await;
        assert_eq!(
            counts(&rig),
            (10, 0, 0, 0),
            "the enrolled miner's reserve is intact"
        );
        let s = v.stats();
        assert_eq!(s.hashes, 25);
        let b = s.budget.unwrap();
        assert_eq!((b.used, b.used_unknown, b.refused), (25, 15, 5));
        // The next job has a fresh budget; a record of the old one is stale, unhashed.
        v.start_job(2, 10, 1, 64);
        let old = v
            .verify(
                1,
                "junk1",
                Standing::Unknown,
                record("junk1"),
                honest("junk1", 1, false),
            )
            .await;
        assert!(matches!(
            old[0].1,
            Verdict::Refused(RecordRefusal::StaleJob { got: 1, current: 2 })
        ));
        assert_eq!(v.stats().hashes, 25);
    }

    #[tokio::test]
    async fn a_wrong_difficulty_closes_the_identity_for_the_block() {
        let v = verifier(1000.0);
        v.start_job(1, 10, 0, 64);
        let first = v
            .verify(
                1,
                "liar",
                Standing::Enrolled,
                record("liar"),
                honest("liar", 1, true),
            )
            .await;
        assert!(matches!(
            first[0].1,
            Verdict::Refused(RecordRefusal::WrongDifficulty { .. })
        ));
        assert!(v.is_closed(1, "liar"));
        assert!(!v.is_closed(2, "liar") && !v.is_closed(1, "other"));
        let more = v
            .verify(
                1,
                "liar",
                Standing::Enrolled,
                record("liar"),
                honest("liar", 5, false),
            )
            .await;
        assert_eq!(counts(&more), (0, 0, 5, 0), "nothing more of it is hashed");
        assert_eq!(v.stats().hashes, 1);
        v.start_job(2, 10, 0, 64);
        assert!(!v.is_closed(2, "liar"), "a new block, a new chance");
    }

    #[tokio::test]
    async fn the_pool_serves_enrolled_first_then_best_claims() {
        let v = verifier(1000.0);
        v.start_job(1, 10, 1, 64);
        // Hold the pool's only thread until everything is queued.
        let (release, wait) = std::sync::mpsc::channel::<()>();
        v.spawn(move || {
            let _ = wait.recv();
        });
        let v = Arc::new(v);
        let junk = tokio::spawn({
            let v = v.clone();
            async move {
                v.verify(
                    1,
                    "junk",
                    Standing::Unknown,
                    record("junk"),
                    honest("junk", 3, false),
                )
                .await
            }
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        while v.stats().queued < 3 {
            assert!(Instant::now() < deadline, "never queued");
            tokio::task::yield_now().await;
        }
        let rig = tokio::spawn({
            let v = v.clone();
            async move {
                v.verify(
                    1,
                    "rig",
                    Standing::Enrolled,
                    record("rig"),
                    honest("rig", 3, false),
                )
                .await
            }
        });
        while v.stats().queued < 6 {
            assert!(Instant::now() < deadline, "never queued");
            tokio::task::yield_now().await;
        }
        release.send(()).unwrap();
        assert_eq!(counts(&rig.await.unwrap()).0, 3);
        assert_eq!(counts(&junk.await.unwrap()).0, 3);
        let served = v.shared.served.lock().unwrap().clone();
        let who: Vec<&str> = served.iter().map(|(id, _)| &**id).collect();
        assert_eq!(who, ["rig", "rig", "rig", "junk", "junk", "junk"]);
        // Within an identity, its best claim first.
        let claims = honest("rig", 3, false);
        let order: Vec<u64> = served[..3].iter().map(|(_, k)| claims[*k].2).collect();
        let mut best_first = order.clone();
        best_first.sort_by(|a, b| b.cmp(a));
        assert_eq!(order, best_first);
    }
}
