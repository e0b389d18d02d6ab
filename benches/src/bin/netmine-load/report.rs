//! The figures of a run and how they are printed: per miner count, the medians over the rounds of
//! each round's p50 / p99 / max, as Markdown tables ready for `benches/results/` and docs/benchmarks.md.

use crate::drive::Usage;
use std::fmt::Write;

/// p50, p99 and max of one round's samples (ms); all `NaN` without samples.
#[derive(Debug, Clone, Copy)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 99th percentile (nearest rank).
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

/// The nearest-rank percentiles of `v`.
pub fn percentiles(mut v: Vec<f64>) -> Percentiles {
    v.sort_by(f64::total_cmp);
    let at = |q: f64| {
        if v.is_empty() {
            f64::NAN
        } else {
            v[((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1]
        }
    };
    Percentiles {
        p50: at(0.5),
        p99: at(0.99),
        max: at(1.0),
    }
}

/// The median of `v` (`NaN` if empty).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| !x.is_nan());
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// One round: job, minute, stop, submissions.
#[derive(Debug, Clone)]
pub struct Round {
    /// Job broadcast latency, coordinator's send to each client's receipt (ms).
    pub job: Percentiles,
    /// Minute broadcast latency (ms).
    pub minute: Percentiles,
    /// Stop broadcast latency (ms).
    pub stop: Percentiles,
    /// From the stop's send until the coordinator had verified every record (ms).
    pub verified_ms: Option<f64>,
    /// From the stop's send until the last client had its submission's answer (ms).
    pub results_ms: Option<f64>,
    /// Events the clients should have seen and did not.
    pub missing: usize,
    /// Records the coordinator verified.
    pub records_verified: usize,
    /// Records submitted.
    pub records_expected: usize,
    /// Submissions answered (a `submission_result` at a client).
    pub answered: usize,
    /// Records accepted, by those answers.
    pub accepted_at_miners: usize,
    /// The coordinator's CPU time during the round (s).
    pub cpu_secs: f64,
}

/// Everything measured at one miner count.
#[derive(Debug, Clone)]
pub struct Figures {
    /// Clients started.
    pub miners: usize,
    /// Clients that authenticated.
    pub connected: usize,
    /// Clients whose link failed.
    pub failed: usize,
    /// The table's size.
    pub table_bytes: usize,
    /// Time to connect and authenticate every client.
    pub connect_secs: f64,
    /// The coordinator's CPU time meanwhile.
    pub connect_cpu_secs: f64,
    /// The coordinator with its table loaded, before any client.
    pub idle: Usage,
    /// Right after every client connected.
    pub connected_usage: Usage,
    /// After the last round.
    pub end: Usage,
    /// Each round.
    pub rounds: Vec<Round>,
    /// Each relay (none: the clients connected directly).
    pub relays: Vec<RelayFigures>,
}

/// One relay's figures at one miner count.
#[derive(Debug, Clone)]
pub struct RelayFigures {
    /// Clients it served.
    pub miners: usize,
    /// Linked, with its table, before any client.
    pub idle: Usage,
    /// Right after every client connected.
    pub connected: Usage,
    /// After the last round.
    pub end: Usage,
    /// Its CPU time over all the rounds (s).
    pub cpu_rounds_secs: f64,
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

impl Figures {
    fn beyond_table(&self, kib: u64) -> f64 {
        mib(kib) - self.table_bytes as f64 / (1 << 20) as f64
    }

    fn med(&self, f: impl Fn(&Round) -> f64) -> f64 {
        median(self.rounds.iter().map(f).collect())
    }

    fn triple(&self, f: impl Fn(&Round) -> Percentiles) -> String {
        format!(
            "{:.1} / {:.1} / {:.1}",
            self.med(|r| f(r).p50),
            self.med(|r| f(r).p99),
            self.med(|r| f(r).max)
        )
    }

    /// The summary row of [`summary_header`].
    pub fn summary_row(&self) -> String {
        format!(
            "| {} | {} | {} | {} | {:.0} | {:.0} | {:.1} / {:.1} | {:.1} | {:.2} | {:.2} |",
            self.miners,
            self.triple(|r| r.job),
            self.triple(|r| r.minute),
            self.triple(|r| r.stop),
            self.med(|r| r.verified_ms.unwrap_or(f64::NAN)),
            self.med(|r| r.results_ms.unwrap_or(f64::NAN)),
            self.beyond_table(self.idle.rss_kib),
            self.beyond_table(self.end.rss_kib),
            self.beyond_table(self.end.hwm_kib),
            self.connect_cpu_secs,
            self.med(|r| r.cpu_secs),
        )
    }

    /// The detail of every round.
    pub fn detail(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{} miners: {} connected in {:.2} s, {} failed; table {:.0} MiB; RSS (VmRSS) idle {:.1} MiB, \
             connected {:.1} MiB, end {:.1} MiB, peak (VmHWM) {:.1} MiB",
            self.miners,
            self.connected,
            self.connect_secs,
            self.failed,
            self.table_bytes as f64 / (1 << 20) as f64,
            mib(self.idle.rss_kib),
            mib(self.connected_usage.rss_kib),
            mib(self.end.rss_kib),
            mib(self.end.hwm_kib),
        );
        for (k, r) in self.rounds.iter().enumerate() {
            let t = |p: Percentiles| format!("{:.1}/{:.1}/{:.1}", p.p50, p.p99, p.max);
            let ms = |x: Option<f64>| x.map_or("-".into(), |v| format!("{v:.0}"));
            let _ = writeln!(
                s,
                "  round {}: job {} minute {} stop {} ms (p50/p99/max); verified {}/{} records {} ms \
                 after stop, answers at the miners {} ms ({} answers, {} records accepted); {} events \
                 missing; CPU {:.2} s",
                k + 1,
                t(r.job),
                t(r.minute),
                t(r.stop),
                r.records_verified,
                r.records_expected,
                ms(r.verified_ms),
                ms(r.results_ms),
                r.answered,
                r.accepted_at_miners,
                r.missing,
                r.cpu_secs
            );
        }
        s
    }

    /// The relays' table (empty without relays): per relay, its memory (its table included) and
    /// CPU time.
    pub fn relay_table(&self) -> String {
        if self.relays.is_empty() {
            return String::new();
        }
        let mut s = format!(
            "{} miners through {} relays (each relay's RSS includes its own {:.0} MiB table):\n\n\
             | relay | miners | RSS linked / with its miners / end (MiB) | peak RSS (MiB) \
             | CPU to connect its miners (s) | CPU per round (s) |\n|---|---|---|---|---|---|\n",
            self.miners,
            self.relays.len(),
            self.table_bytes as f64 / (1 << 20) as f64,
        );
        for (k, r) in self.relays.iter().enumerate() {
            let _ = writeln!(
                s,
                "| relay{k} | {} | {:.1} / {:.1} / {:.1} | {:.1} | {:.2} | {:.2} |",
                r.miners,
                mib(r.idle.rss_kib),
                mib(r.connected.rss_kib),
                mib(r.end.rss_kib),
                mib(r.end.hwm_kib),
                r.connected.cpu_secs - r.idle.cpu_secs,
                r.cpu_rounds_secs / self.rounds.len().max(1) as f64,
            );
        }
        s
    }
}

/// The header of the summary table (one row per miner count).
pub fn summary_header() -> &'static str {
    "| miners | job p50 / p99 / max (ms) | minute p50 / p99 / max (ms) | stop p50 / p99 / max (ms) \
     | all records verified (ms after stop) | last answer at a miner (ms after stop) \
     | RSS beyond the table, idle / with the miners (MiB) | peak RSS beyond the table (MiB) \
     | CPU to connect all (s) | CPU per round (s) |\n\
     |---|---|---|---|---|---|---|---|---|---|"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank_and_medians_take_the_middle() {
        let p = percentiles((1..=100).map(f64::from).collect());
        assert_eq!((p.p50, p.p99, p.max), (50.0, 99.0, 100.0));
        let one = percentiles(vec![7.0]);
        assert_eq!((one.p50, one.p99, one.max), (7.0, 7.0, 7.0));
        assert!(percentiles(Vec::new()).p50.is_nan());
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(vec![f64::NAN, 5.0]), 5.0);
        assert!(median(Vec::new()).is_nan());
    }
}
