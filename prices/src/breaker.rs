//! A circuit breaker per source, so a dead API costs one timeout per recovery window instead of
//! one per block: closed → open after `failure_threshold` consecutive failures → half-open once
//! `recovery_timeout` has passed (one trial request) → closed after `success_threshold`
//! consecutive successes, or open again at the first failure.
//!
//! Time comes from a [`Clock`], so the transitions are tested without sleeping.

use serde::Serialize;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Monotonic time since some fixed start.
pub trait Clock: Send + Sync {
    /// Time elapsed since the clock's fixed start; never goes backwards.
    fn now(&self) -> Duration;
}

/// The real monotonic clock ([`Instant`]), counting from when it was created.
#[derive(Debug)]
pub struct SystemClock(Instant);

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock(Instant::now())
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.0.elapsed()
    }
}

/// A clock that moves only when told to (tests).
#[derive(Debug, Default)]
pub struct ManualClock(Mutex<Duration>);

impl ManualClock {
    /// Moves this clock's time forward by `by`; every later [`Clock::now`] sees it.
    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Breaker settings (`[prices.breaker]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerConfig {
    /// Consecutive failures that open the breaker.
    pub failure_threshold: u32,
    /// How long it stays open before one trial request.
    pub recovery_timeout: Duration,
    /// Consecutive successes in half-open that close it.
    pub success_threshold: u32,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            failure_threshold: 3,
            recovery_timeout: Duration::from_secs(300),
            success_threshold: 1,
        }
    }
}

/// Where a breaker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum BreakerState {
    /// Requests go through; `failures` in a row so far.
    Closed {
        /// Failures in a row since the last success; the breaker opens when this reaches
        /// `failure_threshold`.
        failures: u32,
    },
    /// No requests until the recovery timeout has passed.
    Open {
        /// When it opened (clock time).
        #[serde(skip)]
        since: Duration,
    },
    /// Trial requests; `successes` in a row so far.
    HalfOpen {
        /// Trial successes in a row; the breaker closes when this reaches `success_threshold`.
        successes: u32,
    },
}

/// One source's circuit breaker: asked with [`Breaker::allow`] before each request, told the
/// result with [`Breaker::success`] or [`Breaker::failure`].
#[derive(Debug, Clone)]
pub struct Breaker {
    cfg: BreakerConfig,
    state: BreakerState,
}

impl Breaker {
    /// A breaker with settings `cfg`, starting closed with no failures counted.
    pub fn new(cfg: BreakerConfig) -> Breaker {
        Breaker {
            cfg,
            state: BreakerState::Closed { failures: 0 },
        }
    }

    /// Where the breaker stands now (shown per source in the price report).
    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// May a request go out now? If not, how long until the trial request.
    pub fn allow(&mut self, now: Duration) -> Result<(), Duration> {
        if let BreakerState::Open { since } = self.state {
            let reopen = since + self.cfg.recovery_timeout;
            if now < reopen {
                return Err(reopen - now);
            }
            self.state = BreakerState::HalfOpen { successes: 0 };
        }
        Ok(())
    }

    /// Records a successful request: closes the breaker and resets the failure count, or, while
    /// half-open, counts towards `success_threshold`.
    pub fn success(&mut self) {
        self.state = match self.state {
            BreakerState::HalfOpen { successes } if successes + 1 < self.cfg.success_threshold => {
                BreakerState::HalfOpen {
                    successes: successes + 1,
                }
            }
            _ => BreakerState::Closed { failures: 0 },
        };
    }

    /// Records a failed request at clock time `now`: counts towards `failure_threshold` while
    /// closed, and opens the breaker when that is reached or when a half-open trial fails.
    pub fn failure(&mut self, now: Duration) {
        self.state = match self.state {
            BreakerState::Closed { failures } if failures + 1 < self.cfg.failure_threshold => {
                BreakerState::Closed {
                    failures: failures + 1,
                }
            }
            _ => BreakerState::Open { since: now },
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn full_cycle_with_a_controlled_clock() {
        let clock = ManualClock::default();
        let mut b = Breaker::new(BreakerConfig {
            failure_threshold: 3,
            recovery_timeout: S(60),
            success_threshold: 2,
        });
        // Two failures keep it closed; a success resets the count.
        b.failure(clock.now());
        b.failure(clock.now());
        assert_eq!(b.state(), BreakerState::Closed { failures: 2 });
        b.success();
        assert_eq!(b.state(), BreakerState::Closed { failures: 0 });
        for _ in 0..3 {
            assert!(b.allow(clock.now()).is_ok());
            b.failure(clock.now());
        }
        assert!(matches!(b.state(), BreakerState::Open { .. }));
        clock.advance(S(59));
        assert_eq!(b.allow(clock.now()), Err(S(1)));
        clock.advance(S(1));
        assert!(b.allow(clock.now()).is_ok());
        assert_eq!(b.state(), BreakerState::HalfOpen { successes: 0 });
        // A failed trial re-opens it for a whole new window.
        b.failure(clock.now());
        assert!(matches!(b.state(), BreakerState::Open { .. }));
        clock.advance(S(30));
        assert_eq!(b.allow(clock.now()), Err(S(30)));
        clock.advance(S(30));
        assert!(b.allow(clock.now()).is_ok());
        b.success();
        assert_eq!(b.state(), BreakerState::HalfOpen { successes: 1 });
        assert!(b.allow(clock.now()).is_ok());
        b.success();
        assert_eq!(b.state(), BreakerState::Closed { failures: 0 });
    }

    #[test]
    fn threshold_one_opens_at_the_first_failure() {
        let mut b = Breaker::new(BreakerConfig {
            failure_threshold: 1,
            recovery_timeout: S(10),
            success_threshold: 1,
        });
        b.failure(S(5));
        assert_eq!(b.allow(S(6)), Err(S(9)));
        assert!(b.allow(S(15)).is_ok());
        b.success();
        assert_eq!(b.state(), BreakerState::Closed { failures: 0 });
    }
}
