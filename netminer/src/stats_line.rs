//! The miner's own stats line in its log, every 15 minutes (`--stats-interval`) and at shutdown:
//! hash rate over 10 s / 60 s / 15 min, jobs received, records submitted, accepted and refused by
//! the coordinator in the period, and whether it is connected. What an operator greps for when a
//! box looks slow, without opening the coordinator's dashboard.

use crate::rates::RateTracker;
use hashcore::MiningBackend;
use protocol::format_rate;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Counters the connection bumps as things happen; the stats line reads and resets them.
#[derive(Debug, Default)]
pub struct Activity {
    jobs: AtomicU64,
    submitted: AtomicU64,
    accepted: AtomicU64,
    refused: AtomicU64,
    connected: AtomicBool,
}

impl Activity {
    /// A job arrived.
    pub fn job(&self) {
        self.jobs.fetch_add(1, Ordering::Relaxed);
    }

    /// `n` records were submitted.
    pub fn submitted(&self, n: usize) {
        self.submitted.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// The coordinator accepted `accepted` and refused `refused` records.
    pub fn result(&self, accepted: u32, refused: u64) {
        self.accepted
            .fetch_add(u64::from(accepted), Ordering::Relaxed);
        self.refused.fetch_add(refused, Ordering::Relaxed);
    }

    /// Connected (and authenticated) or not.
    pub fn connected(&self, yes: bool) {
        self.connected.store(yes, Ordering::Relaxed);
    }

    /// The counters since the last call, reset.
    fn take(&self) -> Snapshot {
        Snapshot {
            jobs: self.jobs.swap(0, Ordering::Relaxed),
            submitted: self.submitted.swap(0, Ordering::Relaxed),
            accepted: self.accepted.swap(0, Ordering::Relaxed),
            refused: self.refused.swap(0, Ordering::Relaxed),
            connected: self.connected.load(Ordering::Relaxed),
        }
    }
}

/// One period's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Snapshot {
    jobs: u64,
    submitted: u64,
    accepted: u64,
    refused: u64,
    connected: bool,
}

/// The line for a period of `period` with rates `s`.
fn line(period: Duration, s: &protocol::Stats, a: Snapshot) -> String {
    let mins = period.as_secs_f64() / 60.0;
    let span = if mins >= 2.0 {
        format!("{mins:.0} min")
    } else {
        format!("{:.0} s", period.as_secs_f64())
    };
    format!(
        "stats for the last {span}: {} (10 s) {} (60 s) {} (15 min), {} jobs, {} records submitted, \
         {} accepted, {} refused, {}",
        format_rate(s.rate_10s),
        format_rate(s.rate_60s),
        format_rate(s.rate_15m),
        a.jobs,
        a.submitted,
        a.accepted,
        a.refused,
        if a.connected {
            "connected"
        } else {
            "NOT connected"
        }
    )
}

/// Logs a stats line every `every` and once more when `last` fires (or is dropped).
pub async fn run(
    every: Duration,
    backend: Arc<dyn MiningBackend>,
    activity: Arc<Activity>,
    mut last: oneshot::Receiver<()>,
) {
    let mut rates = RateTracker::new();
    rates.sample(&backend.hash_counts());
    let mut since = Instant::now();
    // Rates need samples inside their windows: sample every 10 s, log every `every`.
    let sample_every = every.min(Duration::from_secs(10));
    let mut sample =
        tokio::time::interval_at(tokio::time::Instant::now() + sample_every, sample_every);
    let mut log = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        tokio::select! {
            _ = sample.tick() => { rates.sample(&backend.hash_counts()); }
            _ = log.tick() => {
                let s = rates.sample(&backend.hash_counts());
                tracing::info!("{}", line(since.elapsed(), &s, activity.take()));
                since = Instant::now();
            }
            _ = &mut last => {
                let s = rates.sample(&backend.hash_counts());
                tracing::info!("{}", line(since.elapsed(), &s, activity.take()));
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_says_rates_counts_and_connection() {
        let a = Activity::default();
        a.job();
        a.submitted(3);
        a.result(2, 1);
        a.connected(true);
        let s = protocol::Stats {
            rate_10s: 1500.0,
            rate_60s: 1400.0,
            rate_15m: 1300.0,
            ..protocol::Stats::default()
        };
        let l = line(Duration::from_secs(900), &s, a.take());
        assert_eq!(
            l,
            "stats for the last 15 min: 1.50 kH/s (10 s) 1.40 kH/s (60 s) 1.30 kH/s (15 min), \
             1 jobs, 3 records submitted, 2 accepted, 1 refused, connected"
        );
        // The period's counters start again from zero.
        let again = a.take();
        assert_eq!((again.jobs, again.submitted, again.accepted), (0, 0, 0));
        assert!(line(Duration::from_secs(5), &s, again).starts_with("stats for the last 5 s"));
    }
}
