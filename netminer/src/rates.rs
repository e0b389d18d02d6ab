//! The miner's hash rates, as it reports them to its coordinator: over the last 10 s, 60 s and
//! 15 minutes, and per worker (CPU thread or OpenCL device) over 10 s, computed from periodic
//! samples of the backend's monotonic hash counters.

use protocol::Stats;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Samples older than this are dropped: the longest window (15 min) plus one sampling period.
const KEEP: Duration = Duration::from_secs(16 * 60);

/// Keeps the samples of the last 16 minutes and turns them into rates.
pub(crate) struct RateTracker {
    samples: VecDeque<(Instant, Vec<u64>)>,
}

impl RateTracker {
    pub(crate) fn new() -> Self {
        RateTracker {
            samples: VecDeque::new(),
        }
    }

    /// Records the counters now and returns the rates.
    pub(crate) fn sample(&mut self, counts: &[u64]) -> Stats {
        self.sample_at(Instant::now(), counts)
    }

    /// Records `counts` (hashes per worker since the start) taken at `now` and returns the rates.
    /// Each window's rate uses the oldest sample inside the window: until a window is full, its
    /// rate covers what there is. A single sample gives zero rates.
    pub(crate) fn sample_at(&mut self, now: Instant, counts: &[u64]) -> Stats {
        self.samples.push_back((now, counts.to_vec()));
        while self
            .samples
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) > KEEP)
        {
            self.samples.pop_front();
        }
        let total = |c: &[u64]| c.iter().sum::<u64>();
        // The sample whose age is closest to the window, among those at most 1.5 windows old (so
        // a sample taken a hair more than 10 s ago still serves the 10 s rate, whatever the
        // timers' jitter); until a window is full, the oldest sample there is.
        let oldest_within = |window: Duration| {
            let limit = window + window / 2;
            self.samples
                .iter()
                .map(|s @ (t, _)| (now.duration_since(*t), s))
                .filter(|(age, _)| *age > Duration::ZERO && *age <= limit)
                .min_by_key(|(age, _)| age.abs_diff(window))
                .map(|(_, s)| s)
        };
        let rate = |window: Duration| -> f64 {
            match oldest_within(window) {
                Some((t0, c0)) => {
                    total(counts).saturating_sub(total(c0)) as f64
                        / now.duration_since(*t0).as_secs_f64()
                }
                None => 0.0,
            }
        };
        let per_worker = match oldest_within(Duration::from_secs(10)) {
            Some((t0, c0)) => {
                let dt = now.duration_since(*t0).as_secs_f64();
                counts
                    .iter()
                    .zip(c0)
                    .map(|(a, b)| a.saturating_sub(*b) as f64 / dt)
                    .collect()
            }
            None => vec![0.0; counts.len()],
        };
        Stats {
            rate_10s: rate(Duration::from_secs(10)),
            rate_60s: rate(Duration::from_secs(60)),
            rate_15m: rate(Duration::from_secs(15 * 60)),
            per_worker,
            total_hashes: total(counts),
            ..Stats::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_sample_gives_zero_rates_and_the_total() {
        let s = RateTracker::new().sample_at(Instant::now(), &[5, 7]);
        assert_eq!((s.rate_10s, s.rate_60s, s.rate_15m), (0.0, 0.0, 0.0));
        assert_eq!(s.per_worker, vec![0.0, 0.0]);
        assert_eq!(s.total_hashes, 12);
    }

    #[test]
    fn each_window_measures_its_own_span() {
        let t0 = Instant::now();
        let mut r = RateTracker::new();
        // Two workers: 100 and 50 hashes/s for 10 minutes, then 1000 and 0 for the last 10 s.
        let mut counts = [0u64, 0];
        for k in 0..=60u64 {
            r.sample_at(t0 + Duration::from_secs(10 * k), &counts);
            counts[0] += 1000;
            counts[1] += 500;
        }
        counts[0] -= 1000; // undo the last step: the counters at t0 + 600 s
        counts[1] -= 500;
        let end = t0 + Duration::from_secs(610);
        let last = [counts[0] + 10_000, counts[1]];
        let s = r.sample_at(end, &last);
        assert_eq!(s.rate_10s, 1000.0);
        assert_eq!(s.per_worker, vec![1000.0, 0.0]);
        // 60 s: 50 s at 150 H/s plus 10 s at 1000 H/s.
        assert!(
            (s.rate_60s - (50.0 * 150.0 + 10_000.0) / 60.0).abs() < 1e-9,
            "{}",
            s.rate_60s
        );
        // 15 min is not full yet: it covers the 610 s there are.
        assert!(
            (s.rate_15m - (600.0 * 150.0 + 10_000.0) / 610.0).abs() < 1e-9,
            "{}",
            s.rate_15m
        );
        assert_eq!(s.total_hashes, last[0] + last[1]);
    }

    #[test]
    fn samples_a_little_late_still_give_the_10_second_rate() {
        // Timers fire late: samples 10.003 s apart, and the stats line sampling twice at once.
        let t0 = Instant::now();
        let mut r = RateTracker::new();
        let step = Duration::from_millis(10_003);
        for k in 0..8u32 {
            let s = r.sample_at(t0 + step * k, &[u64::from(k) * 10_003]);
            if k > 0 {
                assert!(
                    (s.rate_10s - 1000.0).abs() < 1e-6,
                    "sample {k}: {}",
                    s.rate_10s
                );
                assert!((s.per_worker[0] - 1000.0).abs() < 1e-6);
            }
        }
        let again = r.sample_at(t0 + step * 7, &[7 * 10_003]);
        assert!((again.rate_10s - 1000.0).abs() < 1e-6, "{}", again.rate_10s);
    }

    #[test]
    fn old_samples_are_dropped_and_counters_never_go_negative() {
        let t0 = Instant::now();
        let mut r = RateTracker::new();
        for k in 0..200u64 {
            r.sample_at(t0 + Duration::from_secs(10 * k), &[k * 10]);
        }
        assert!(r.samples.len() <= 98, "{} samples kept", r.samples.len());
        // A backend restart resets its counters: rates clamp at zero instead of wrapping.
        let s = r.sample_at(t0 + Duration::from_secs(2000), &[0]);
        assert_eq!((s.rate_10s, s.rate_60s, s.rate_15m), (0.0, 0.0, 0.0));
    }
}
