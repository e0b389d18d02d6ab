//! The block's verification budget, as plain bookkeeping (no locks, no threads, no hashing), so
//! each rule can be tested on its own; the verifier (`verifier.rs`) keeps one behind its lock.
//!
//! * **Size.** Each block may cost at most `max(rate × window, floor)` LXRHashes: `rate` is the
//!   pool's measured verification rate ([`Rate`]: a calibration at start, then an exponentially
//!   weighted average of real verifications), `window` the submit window, and `floor`
//!   `records_per_miner` for each enrolled identity (connected when the job started, or submitting
//!   since), so every enrolled miner's records always fit.
//! * **Who comes first.** An identity is *enrolled* when the roster has it from before the job
//!   started (its key, or its relay, pinned before, or an operator's entry); one pinned at first
//!   use during the block, or a box without a key, is *unknown*. Enrolled identities are never
//!   refused for the budget (each costs at most its `records_per_miner`); unknown ones share what
//!   the enrolled do not need: `rate × window − floor`. And each unknown identity still costs at
//!   most its own `records_per_miner` (the book's count).
//! * **Order.** Records wait in one queue ([`Priority`]): enrolled first; then in rounds (every
//!   identity's best claim, then every identity's second best, …), so that a liar is found at its
//!   first record; within a round, by claimed difficulty, best first; then first come.
//! * **Liars.** A record whose claimed difficulty is wrong closes its identity for the rest of
//!   the block: its records still queued are refused unhashed ([`Decision::Closed`]).

use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// Seconds per verification assumed before the calibration has run (1,000 a second per thread:
/// slower than any CPU hashing the 30-bit table, so the first block's budget errs on the small
/// side, which only unknown identities can feel).
pub const UNCALIBRATED_SECS_PER_HASH: f64 = 1e-3;

/// The weight of each new verification in the average (about the last 100 count).
const EWMA_WEIGHT: f64 = 0.01;

/// The verification pool's measured speed.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    secs_per_hash: f64,
    threads: usize,
    calibrated: bool,
}

impl Rate {
    /// A pool of `threads`, not yet measured.
    pub fn new(threads: usize) -> Rate {
        Rate {
            secs_per_hash: UNCALIBRATED_SECS_PER_HASH,
            threads: threads.max(1),
            calibrated: false,
        }
    }

    /// The calibration's result: seconds per verification on one thread.
    pub fn calibrate(&mut self, secs_per_hash: f64) {
        if secs_per_hash.is_finite() && secs_per_hash > 0.0 {
            self.secs_per_hash = secs_per_hash;
            self.calibrated = true;
        }
    }

    /// One real verification took `secs` (on one thread).
    pub fn observe(&mut self, secs: f64) {
        if !(secs.is_finite() && secs > 0.0) {
            return;
        }
        if self.calibrated {
            self.secs_per_hash += EWMA_WEIGHT * (secs - self.secs_per_hash);
        } else {
            self.calibrate(secs);
        }
    }

    /// Verifications per second, all threads together.
    pub fn per_sec(&self) -> f64 {
        self.threads as f64 / self.secs_per_hash
    }

    /// Whether the calibration (or a real verification) has measured it yet.
    pub fn calibrated(&self) -> bool {
        self.calibrated
    }
}

/// The budget's size before the floor: what the pool verifies in the submit window.
pub fn sized(rate_per_sec: f64, window: Duration) -> u64 {
    let n = rate_per_sec * window.as_secs_f64();
    if n.is_finite() && n > 0.0 {
        n.min(u64::MAX as f64) as u64
    } else {
        0
    }
}

/// How the roster knows an identity during the open job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Standing {
    /// Pinned at first use during this block, or a box without a key.
    Unknown,
    /// In the roster from before the job started, or an operator's entry.
    Enrolled,
}

/// A queued record's place: the greatest is verified first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Priority {
    /// Enrolled before unknown.
    pub standing: Standing,
    /// The identity's first record before anyone's second.
    pub round: Reverse<u32>,
    /// Best claim first.
    pub claimed: u64,
    /// First come first.
    pub arrival: Reverse<u64>,
}

/// What a worker does with the record it took from the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Hash it (counted against the budget).
    Hash,
    /// Refuse it unhashed: unknown identities' share of the budget (this many) is spent.
    OverBudget(u64),
    /// Refuse it unhashed: its identity lied earlier in the block.
    Closed,
    /// Refuse it unhashed: its job is over.
    Stale,
}

/// The open job's budget and what was spent of it.
#[derive(Debug)]
pub struct JobBudget {
    job_id: u64,
    started_unix: u64,
    base: u64,
    per_miner: u64,
    enrolled_at_start: usize,
    /// Most identities each set below holds (the hub's miners with work per job).
    cap: usize,
    enrolled_seen: HashSet<Arc<str>>,
    rounds: HashMap<Arc<str>, u32>,
    closed: HashSet<Arc<str>>,
    used: u64,
    used_unknown: u64,
    refused: u64,
}

/// The budget's figures, for the logs, the load generator and the tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BudgetView {
    /// The job.
    pub job_id: u64,
    /// `rate × window` at the job's start.
    pub base: u64,
    /// `records_per_miner` × enrolled identities.
    pub floor: u64,
    /// The most the block may cost: `max(base, floor)`.
    pub limit: u64,
    /// LXRHashes done for the job, all identities.
    pub used: u64,
    /// Of those, for unknown identities.
    pub used_unknown: u64,
    /// Records refused for the budget (or for a closed identity), unhashed.
    pub refused: u64,
    /// Identities closed for the block (a wrong difficulty).
    pub closed: usize,
}

impl JobBudget {
    /// The budget of job `job_id`, started at Unix second `started_unix`: `base` LXRHashes
    /// (see [`sized`]), `per_miner` records per identity, `enrolled_at_start` enrolled identities
    /// connected; at most `cap` identities remembered per set.
    pub fn new(
        job_id: u64,
        started_unix: u64,
        base: u64,
        per_miner: usize,
        enrolled_at_start: usize,
        cap: usize,
    ) -> JobBudget {
        JobBudget {
            job_id,
            started_unix,
            base,
            per_miner: per_miner as u64,
            enrolled_at_start,
            cap: cap.max(1),
            enrolled_seen: HashSet::new(),
            rounds: HashMap::new(),
            closed: HashSet::new(),
            used: 0,
            used_unknown: 0,
            refused: 0,
        }
    }

    /// The job.
    pub fn job_id(&self) -> u64 {
        self.job_id
    }

    /// When it started (Unix seconds): a roster entry pinned before is enrolled.
    pub fn started_unix(&self) -> u64 {
        self.started_unix
    }

    /// `records_per_miner` for every enrolled identity: what the enrolled may always spend.
    pub fn floor(&self) -> u64 {
        let enrolled = self.enrolled_at_start.max(self.enrolled_seen.len()) as u64;
        self.per_miner.saturating_mul(enrolled)
    }

    /// What unknown identities may spend, together.
    pub fn unknown_allowance(&self) -> u64 {
        self.base.saturating_sub(self.floor())
    }

    /// The most the block may cost: `max(base, floor)`.
    pub fn limit(&self) -> u64 {
        self.base.max(self.floor())
    }

    /// Takes note of a submission of `n` records to hash by `identity`: returns the round of its
    /// first record (the next ones take the following rounds).
    pub fn arrive(&mut self, identity: &Arc<str>, standing: Standing, n: usize) -> u32 {
        if standing == Standing::Enrolled && self.enrolled_seen.len() < self.cap {
            self.enrolled_seen.insert(identity.clone());
        }
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        let room = self.rounds.len() < self.cap;
        match self.rounds.get_mut(identity) {
            Some(r) => {
                let first = *r;
                *r = r.saturating_add(n);
                first
            }
            None if room => {
                self.rounds.insert(identity.clone(), n);
                0
            }
            // Past the cap (identities churning within one block): they queue as first rounds.
            None => 0,
        }
    }

    /// Whether `identity` lied earlier in this block.
    pub fn is_closed(&self, identity: &str) -> bool {
        self.closed.contains(identity)
    }

    /// `identity` claimed a wrong difficulty: nothing more of it is verified in this block.
    pub fn close(&mut self, identity: &Arc<str>) {
        if self.closed.len() < self.cap.saturating_mul(4) {
            self.closed.insert(identity.clone());
        }
    }

    /// Decides what to do with a record of job `job_id` by `identity` (of `standing`), taken from
    /// the queue; a [`Decision::Hash`] is counted as spent.
    pub fn decide(&mut self, job_id: u64, identity: &str, standing: Standing) -> Decision {
        if job_id != self.job_id {
            return Decision::Stale;
        }
        if self.closed.contains(identity) {
            self.refused += 1;
            return Decision::Closed;
        }
        if standing == Standing::Unknown {
            let allowance = self.unknown_allowance();
            if self.used_unknown >= allowance {
                self.refused += 1;
                return Decision::OverBudget(allowance);
            }
            self.used_unknown += 1;
        }
        self.used += 1;
        Decision::Hash
    }

    /// The figures now.
    pub fn view(&self) -> BudgetView {
        BudgetView {
            job_id: self.job_id,
            base: self.base,
            floor: self.floor(),
            limit: self.limit(),
            used: self.used,
            used_unknown: self.used_unknown,
            refused: self.refused,
            closed: self.closed.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BinaryHeap;

    fn id(s: &str) -> Arc<str> {
        Arc::from(s)
    }

    #[test]
    fn the_rate_is_calibrated_then_follows_real_verifications() {
        let mut r = Rate::new(2);
        assert!(!r.calibrated());
        assert_eq!(r.per_sec(), 2.0 / UNCALIBRATED_SECS_PER_HASH);
        r.calibrate(0.0); // nonsense is ignored
        r.calibrate(f64::NAN);
        assert!(!r.calibrated());
        r.calibrate(250e-6);
        assert!((r.per_sec() - 8000.0).abs() < 1e-6, "{}", r.per_sec());
        // A slower pool (a busy machine) pulls the average down, gradually.
        for _ in 0..1000 {
            r.observe(500e-6);
        }
        assert!((r.per_sec() - 4000.0).abs() < 10.0, "{}", r.per_sec());
        let before = r.per_sec();
        r.observe(1.0); // one stall moves it by about a hundredth of the gap
        assert!(r.per_sec() < before && r.per_sec() > before / 30.0);
    }

    #[test]
    fn the_size_is_rate_times_window_and_never_below_the_floor() {
        assert_eq!(sized(4000.0, Duration::from_secs(20)), 80_000);
        assert_eq!(sized(f64::INFINITY, Duration::from_secs(1)), 0);
        assert_eq!(sized(1e30, Duration::from_secs(20)), u64::MAX);
        // 80,000 a block; 100 enrolled miners of 10 records reserve 1,000 of it.
        let b = JobBudget::new(1, 0, 80_000, 10, 100, 1024);
        assert_eq!(
            (b.floor(), b.limit(), b.unknown_allowance()),
            (1000, 80_000, 79_000)
        );
        // A slow pool: the floor wins and unknown identities get nothing.
        let b = JobBudget::new(1, 0, 500, 10, 100, 1024);
        assert_eq!(
            (b.floor(), b.limit(), b.unknown_allowance()),
            (1000, 1000, 0)
        );
    }

    #[test]
    fn enrolled_records_always_pass_and_unknown_ones_share_what_is_left() {
        let mut b = JobBudget::new(7, 0, 25, 10, 1, 1024);
        let (rig, stranger) = (id("rig"), id("stranger"));
        b.arrive(&rig, Standing::Enrolled, 10);
        assert_eq!(b.floor(), 10);
        for _ in 0..15 {
            assert_eq!(b.decide(7, "stranger", Standing::Unknown), Decision::Hash);
        }
        assert_eq!(
            b.decide(7, "stranger", Standing::Unknown),
            Decision::OverBudget(15)
        );
        // The enrolled miner's reserve is intact.
        for _ in 0..10 {
            assert_eq!(b.decide(7, "rig", Standing::Enrolled), Decision::Hash);
        }
        // A second enrolled miner raises the floor; unknowns' share shrinks to nothing.
        b.arrive(&id("rig2"), Standing::Enrolled, 10);
        assert_eq!(b.unknown_allowance(), 5);
        assert_eq!(b.decide(7, "rig2", Standing::Enrolled), Decision::Hash);
        let v = b.view();
        assert_eq!((v.used, v.used_unknown, v.refused), (26, 15, 1));
        let _ = stranger;
        // Another job's record is stale.
        assert_eq!(b.decide(6, "rig", Standing::Enrolled), Decision::Stale);
    }

    #[test]
    fn a_liar_is_closed_for_the_block() {
        let mut b = JobBudget::new(1, 0, 1000, 10, 0, 1024);
        let liar = id("liar");
        assert_eq!(b.decide(1, "liar", Standing::Unknown), Decision::Hash);
        b.close(&liar);
        assert!(b.is_closed("liar"));
        assert_eq!(b.decide(1, "liar", Standing::Unknown), Decision::Closed);
        assert_eq!(b.decide(1, "liar", Standing::Enrolled), Decision::Closed);
        assert_eq!(b.decide(1, "honest", Standing::Unknown), Decision::Hash);
        assert_eq!(b.view().closed, 1);
    }

    #[test]
    fn rounds_count_on_across_submissions_and_stay_bounded() {
        let mut b = JobBudget::new(1, 0, 1000, 10, 0, 2);
        let (a, c) = (id("a"), id("c"));
        assert_eq!(b.arrive(&a, Standing::Unknown, 3), 0);
        assert_eq!(b.arrive(&a, Standing::Unknown, 2), 3);
        assert_eq!(b.arrive(&c, Standing::Enrolled, 1), 0);
        // Past the cap, new identities start at round 0 and nothing more is remembered.
        assert_eq!(b.arrive(&id("d"), Standing::Unknown, 5), 0);
        assert_eq!(b.arrive(&id("d"), Standing::Unknown, 5), 0);
        assert_eq!(b.rounds.len(), 2);
    }

    #[test]
    fn the_queue_serves_enrolled_first_then_rounds_then_claims_then_arrival() {
        let p = |standing, round, claimed, arrival| Priority {
            standing,
            round: Reverse(round),
            claimed,
            arrival: Reverse(arrival),
        };
        use Standing::*;
        let mut heap = BinaryHeap::new();
        // (what, priority): a junk unknown claiming the most, honest unknowns, enrolled miners.
        heap.push((p(Unknown, 0, u64::MAX, 0), "junk#0"));
        heap.push((p(Unknown, 1, u64::MAX, 1), "junk#1"));
        heap.push((p(Unknown, 0, 500, 2), "new-box#0"));
        heap.push((p(Enrolled, 1, 900, 3), "rig#1"));
        heap.push((p(Enrolled, 0, 800, 4), "rig#0"));
        heap.push((p(Enrolled, 0, 100, 5), "rig2#0"));
        heap.push((p(Enrolled, 0, 100, 6), "rig3#0"));
        let order: Vec<&str> = std::iter::from_fn(|| heap.pop().map(|(_, w)| w)).collect();
        assert_eq!(
            order,
            [
                "rig#0",
                "rig2#0",
                "rig3#0",
                "rig#1",
                "junk#0",
                "new-box#0",
                "junk#1"
            ]
        );
    }
}
