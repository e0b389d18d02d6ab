//! The oracle: asks every source an OPR version needs (concurrently, each behind its breaker and
//! refresh interval), keeps each source's last good quote per asset with its age, and picks one
//! price per asset the way PegNet does.

use crate::breaker::{Breaker, Clock, SystemClock};
use crate::config::Plan;
use crate::http;
use crate::quote::{Quote, SourceError};
use crate::report::{AssetPrice, Candidate, PriceError, Report, SourceOutcome, SourceReport};
use crate::select::{select, truncate};
use crate::source::Fetch;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// A quote and when it arrived (clock time).
#[derive(Debug, Clone, Copy)]
struct Held {
    quote: Quote,
    received: Duration,
}

/// What the oracle remembers about one source.
#[derive(Debug)]
struct SourceState {
    breaker: Breaker,
    /// When it last answered, and for which assets.
    fetched: Option<(Duration, Vec<String>)>,
    quotes: BTreeMap<String, Held>,
}

/// The price oracle: polls the configured sources for an OPR version and reports, per asset,
/// the price PegNet's selection picks. Keeps per source a circuit breaker, its refresh interval
/// and its last good quotes; build it once and poll it for every block.
pub struct Oracle {
    plan: Plan,
    states: Vec<Mutex<SourceState>>,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
}

impl Oracle {
    /// An oracle on the real clock.
    pub fn new(plan: Plan) -> Result<Oracle, SourceError> {
        Self::with_clock(plan, Arc::new(SystemClock::default()))
    }

    /// The devnet's oracle: the built-in fixed prices only.
    pub fn devnet() -> Result<Oracle, SourceError> {
        let plan = crate::PricesConfig::default()
            .plan(pegnet::Network::DevNet)
            .map_err(|e| SourceError::Local(e.to_string()))?;
        Self::new(plan)
    }

    /// An oracle on `clock` (tests drive breakers and quote ages with a manual clock).
    pub fn with_clock(plan: Plan, clock: Arc<dyn Clock>) -> Result<Oracle, SourceError> {
        let states = plan
            .sources
            .iter()
            .map(|_| {
                Mutex::new(SourceState {
                    breaker: Breaker::new(plan.breaker),
                    fetched: None,
                    quotes: BTreeMap::new(),
                })
            })
            .collect();
        Ok(Oracle {
            plan,
            states,
            http: http::client()?,
            clock,
        })
    }

    fn state(&self, i: usize) -> MutexGuard<'_, SourceState> {
        self.states[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Polls for OPR `version` and reports.
    pub async fn poll(&self, version: u8) -> Report {
        // V1 calls PEG `PNT`; the sources know it as PEG.
        let assets: Vec<(&str, &str)> = pegnet::assets::for_version(version)
            .into_iter()
            .map(|a| (a, if a == "PNT" { "PEG" } else { a }))
            .collect();
        let lists: Vec<Vec<usize>> = assets
            .iter()
            .map(|(_, key)| self.plan.sources_for(key))
            .collect();
        let mut wanted: Vec<Vec<&str>> = vec![Vec::new(); self.plan.sources.len()];
        for ((_, key), list) in assets.iter().zip(&lists) {
            for &i in list {
                wanted[i].push(key);
            }
        }
        let outcomes = futures_util::future::join_all(
            wanted
                .iter()
                .enumerate()
                .map(|(i, assets)| self.refresh(i, assets)),
        )
        .await;

        let now = self.clock.now();
        let max_age = self.plan.max_quote_age;
        let mut lines = Vec::with_capacity(assets.len());
        for ((shown, key), list) in assets.iter().zip(&lists) {
            let mut candidates = Vec::new();
            let mut notes = Vec::new();
            for &i in list {
                let name = self.plan.sources[i].source.name();
                let held = self.state(i).quotes.get(*key).copied();
                let Some(h) = held else {
                    // Why the source failed is said once, in its own line of the report.
                    notes.push(match &outcomes[i] {
                        SourceOutcome::Failed(_) => format!("{name}: failed"),
                        SourceOutcome::BreakerOpen { .. } => format!("{name}: breaker open"),
                        _ => format!("{name}: no quote"),
                    });
                    continue;
                };
                let age = now.saturating_sub(h.received);
                let v = h.quote.value;
                if age > max_age {
                    notes.push(format!(
                        "{name}: last quote is {} old (max {})",
                        crate::report::age(age.as_secs_f64()),
                        crate::report::age(max_age.as_secs_f64())
                    ));
                } else if !(v.is_finite() && v > 0.0) {
                    // PegNet ignores zero prices; NaN, infinite and negative ones are no better.
                    notes.push(format!("{name}: unusable value {v}"));
                } else {
                    candidates.push(Candidate {
                        source: name.to_string(),
                        value: v,
                        age_secs: age.as_secs_f64(),
                    });
                }
            }
            let values: Vec<f64> = candidates.iter().map(|c| c.value).collect();
            let chosen = select(version, &values).map(|k| &candidates[k]);
            lines.push(AssetPrice {
                asset: shown.to_string(),
                value: chosen.map(|c| truncate(version, c.value)),
                source: chosen.map(|c| c.source.clone()),
                age_secs: chosen.map(|c| c.age_secs),
                candidates: candidates.clone(),
                notes,
            });
        }
        let sources = self
            .plan
            .sources
            .iter()
            .zip(outcomes)
            .enumerate()
            .map(|(i, (p, outcome))| SourceReport {
                name: p.source.name().to_string(),
                priority: p.priority,
                outcome,
                breaker: self.state(i).breaker.state(),
            })
            .collect();
        Report {
            version,
            assets: lines,
            sources,
        }
    }

    /// Polls and returns the record's prices for `version`.
    pub async fn record_prices(&self, version: u8) -> Result<Vec<u64>, PriceError> {
        let report = self.poll(version).await;
        self.record_prices_from(&report)
    }

    /// The record's prices from a poll's `report` (see [`Oracle::poll`]), logging the sources
    /// that failed: for a caller that also shows the report (the coordinator's status).
    pub fn record_prices_from(&self, report: &Report) -> Result<Vec<u64>, PriceError> {
        for s in &report.sources {
            match &s.outcome {
                SourceOutcome::Failed(e) => {
                    tracing::warn!(source = %s.name, "price source failed: {e}")
                }
                SourceOutcome::BreakerOpen { .. } => {
                    tracing::debug!(source = %s.name, "price source skipped: breaker open")
                }
                _ => {}
            }
        }
        report.record_prices()
    }

    /// Brings source `i`'s quotes for `assets` up to date, if it is due and allowed.
    async fn refresh(&self, i: usize, assets: &[&str]) -> SourceOutcome {
        if assets.is_empty() {
            return SourceOutcome::Unused;
        }
        let p = &self.plan.sources[i];
        {
            let now = self.clock.now();
            let mut st = self.state(i);
            if let Some((at, covered)) = &st.fetched {
                let age = now.saturating_sub(*at);
                if age < p.refresh && assets.iter().all(|a| covered.iter().any(|c| c == a)) {
                    return SourceOutcome::Cached {
                        age_secs: age.as_secs_f64(),
                    };
                }
            }
            if let Err(wait) = st.breaker.allow(now) {
                return SourceOutcome::BreakerOpen {
                    retry_in_secs: wait.as_secs_f64(),
                };
            }
        }
        let result = match p.source.fetch(assets) {
            Fetch::Local(r) => r,
            Fetch::Http(req) => match http::get(&self.http, &req, p.timeout).await {
                Ok(body) => p
                    .source
                    .parse(&body)
                    .map_err(|e| e.redact(req.exposed_secret())),
                Err(e) => Err(e),
            },
        };
        let now = self.clock.now();
        let mut st = self.state(i);
        match result {
            Ok(quotes) => {
                st.breaker.success();
                for (asset, quote) in quotes {
                    st.quotes.insert(
                        asset,
                        Held {
                            quote,
                            received: now,
                        },
                    );
                }
                st.fetched = Some((now, assets.iter().map(|a| a.to_string()).collect()));
                SourceOutcome::Fetched
            }
            Err(e) => {
                st.breaker.failure(now);
                SourceOutcome::failed(&e)
            }
        }
    }
}
