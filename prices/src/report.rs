//! The outcome of one poll: per asset the chosen price, where it came from and how old it is,
//! the other candidates and why sources gave nothing; per source what happened. From it come the
//! record's prices — only if every asset the version needs has a sane one.

use crate::breaker::BreakerState;
use crate::quote::SourceError;
use crate::select::truncate;
use serde::Serialize;
use std::fmt::Write as _;
use std::time::Duration;

/// Why the record cannot be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PriceError {
    /// Assets without a usable price.
    #[error("cannot build the record: {}", describe(.missing, .problems, .failed_sources))]
    Unusable {
        /// Assets with no price at all.
        missing: Vec<String>,
        /// Other problems, one per asset.
        problems: Vec<String>,
        /// Sources that failed this poll, with the reason.
        failed_sources: Vec<String>,
    },
}

fn describe(missing: &[String], problems: &[String], failed: &[String]) -> String {
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("no price for {}", missing.join(", ")));
    }
    parts.extend(problems.iter().cloned());
    let mut s = parts.join("; ");
    if !failed.is_empty() {
        let _ = write!(s, " (failed sources: {})", failed.join("; "));
    }
    s
}

/// A usable price a source gave for an asset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// Name of the source that gave it, as in the config (`[prices.sources.NAME]`).
    pub source: String,
    /// USD per unit of the asset, as received (before truncation).
    pub value: f64,
    /// Seconds since it was received.
    pub age_secs: f64,
}

/// One asset's line of the report: the price chosen for the record, where it came from, and the
/// alternatives.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssetPrice {
    /// PegNet's ticker (`PNT` in version 1).
    pub asset: String,
    /// The chosen value, truncated as PegNet does; `None` when no source had one.
    pub value: Option<f64>,
    /// The source it came from.
    pub source: Option<String>,
    /// Seconds since that source's quote was received.
    pub age_secs: Option<f64>,
    /// Every usable price, highest priority first.
    pub candidates: Vec<Candidate>,
    /// Why the other sources in the asset's list gave nothing usable.
    pub notes: Vec<String>,
}

/// What happened to a source in this poll.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "detail")]
pub enum SourceOutcome {
    /// Asked, and it answered.
    Fetched,
    /// Not asked: its quotes are younger than its refresh interval.
    Cached {
        /// Age in seconds of the cached quotes that were used instead.
        age_secs: f64,
    },
    /// Asked, and it failed.
    Failed(String),
    /// Not asked: its breaker is open.
    BreakerOpen {
        /// Seconds until the breaker lets a trial request through.
        retry_in_secs: f64,
    },
    /// No asset of this version needs it.
    Unused,
}

impl SourceOutcome {
    /// The outcome of a source that failed with `e`: its text (which may hold the API's own
    /// words) sanitized, at most 200 bytes without control characters.
    pub(crate) fn failed(e: &SourceError) -> SourceOutcome {
        SourceOutcome::Failed(protocol::text::sanitize(&e.to_string()).into_owned())
    }

    /// A short description for the table.
    pub fn describe(&self) -> String {
        match self {
            SourceOutcome::Fetched => "ok".into(),
            SourceOutcome::Cached { age_secs } => format!("ok (cached, {})", age(*age_secs)),
            SourceOutcome::Failed(e) => format!("FAILED: {e}"),
            SourceOutcome::BreakerOpen { retry_in_secs } => {
                format!("skipped: breaker open, retry in {}", age(*retry_in_secs))
            }
            SourceOutcome::Unused => "not needed".into(),
        }
    }
}

/// One source's line of the report: how it fared in this poll.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceReport {
    /// The source's name, as in the config (`[prices.sources.NAME]`).
    pub name: String,
    /// Its configured priority: lower numbers are asked first and preferred.
    pub priority: i64,
    /// Whether it was asked and how that went (fetched, cached, failed, skipped, unused).
    pub outcome: SourceOutcome,
    /// Its circuit breaker's state after this poll.
    pub breaker: BreakerState,
}

/// The report of a whole poll, for one OPR version: what the `prices` command prints and what
/// the coordinator builds a record's prices from ([`Report::record_prices`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The OPR version polled for.
    pub version: u8,
    /// One line per asset, in record order.
    pub assets: Vec<AssetPrice>,
    /// One line per enabled source, in priority order.
    pub sources: Vec<SourceReport>,
}

impl Report {
    /// The record's prices (round(value × 1e8), in asset order), or everything that is wrong.
    pub fn record_prices(&self) -> Result<Vec<u64>, PriceError> {
        let mut out = Vec::with_capacity(self.assets.len());
        let mut missing = Vec::new();
        let mut problems = Vec::new();
        for a in &self.assets {
            let peg = a.asset == "PEG" || a.asset == "PNT";
            match a.value {
                // PegNet prices a missing PEG at 0, which only versions 1 and 2 accept.
                None if peg && self.version <= 2 => out.push(0),
                None => missing.push(a.asset.clone()),
                Some(v) => match record_value(&a.asset, self.version, v) {
                    Ok(u) => out.push(u),
                    Err(p) => problems.push(p),
                },
            }
        }
        if missing.is_empty() && problems.is_empty() {
            return Ok(out);
        }
        Err(PriceError::Unusable {
            missing,
            problems,
            failed_sources: self
                .sources
                .iter()
                .filter_map(|s| match &s.outcome {
                    SourceOutcome::Failed(e) => Some(format!("{}: {e}", s.name)),
                    SourceOutcome::BreakerOpen { .. } => Some(format!("{}: breaker open", s.name)),
                    _ => None,
                })
                .collect(),
        })
    }

    /// The human-readable table of `netcoordinator prices`.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "OPR version {}", self.version);
        let _ = writeln!(
            s,
            "{:<6} {:>20}  {:<18} {:>8}  other sources",
            "ASSET", "USD", "SOURCE", "AGE"
        );
        for a in &self.assets {
            let others: Vec<String> = a
                .candidates
                .iter()
                .filter(|c| Some(&c.source) != a.source.as_ref())
                .map(|c| format!("{} {}", c.source, c.value))
                .chain(a.notes.iter().cloned())
                .collect();
            let _ = writeln!(
                s,
                "{:<6} {:>20}  {:<18} {:>8}  {}",
                a.asset,
                a.value.map_or("-".into(), |v| format!("{v:.8}")),
                a.source.as_deref().unwrap_or("MISSING"),
                a.age_secs.map_or("-".into(), age),
                others.join("; ")
            );
        }
        let _ = writeln!(s, "\nSOURCES");
        for src in &self.sources {
            let _ = writeln!(
                s,
                "{:>3}  {:<18} {}",
                src.priority,
                src.name,
                src.outcome.describe()
            );
        }
        s
    }
}

/// A chosen value as the record stores it, or what is wrong with it.
pub fn record_value(asset: &str, version: u8, value: f64) -> Result<u64, String> {
    if !value.is_finite() || value < 0.0 {
        return Err(format!("{asset}: price {value} is not a number >= 0"));
    }
    let peg = asset == "PEG" || asset == "PNT";
    if value == 0.0 && !(peg && version <= 2) {
        return Err(format!(
            "{asset}: price 0 is not allowed in version {version}"
        ));
    }
    match pegnet::price_to_u64(truncate(version, value)) {
        Some(u) if u > 0 || value == 0.0 => Ok(u),
        _ => Err(format!(
            "{asset}: price {value} is out of range (under the record's precision, or too large)"
        )),
    }
}

/// `93s`, `12m05s`, `3h02m`.
pub fn age(secs: f64) -> String {
    let d = Duration::from_secs_f64(secs.max(0.0));
    let s = d.as_secs();
    match s {
        0..=99 => format!("{s}s"),
        100..=5999 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s / 60) % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_values() {
        assert_eq!(record_value("EUR", 5, 1.123456789), Ok(112_345_678));
        assert_eq!(record_value("EUR", 1, 1.123456789), Ok(112_340_000));
        assert!(record_value("EUR", 5, f64::NAN)
            .unwrap_err()
            .contains("NaN"));
        assert!(record_value("EUR", 5, f64::INFINITY).is_err());
        assert!(record_value("EUR", 5, -1.0).is_err());
        assert!(record_value("EUR", 5, 0.0)
            .unwrap_err()
            .contains("not allowed"));
        assert!(record_value("EUR", 5, 1e-9)
            .unwrap_err()
            .contains("out of range"));
        assert_eq!(record_value("PEG", 2, 0.0), Ok(0));
        assert!(record_value("PEG", 3, 0.0).is_err());
        assert_eq!(age(5.2), "5s");
        assert_eq!(age(725.0), "12m05s");
        assert_eq!(age(10_920.0), "3h02m");
    }

    #[test]
    fn an_apis_error_text_is_kept_short_and_clean() {
        let e = SourceError::Api(format!("\u{1b}]0;title\u{7}quota\n{}", "x".repeat(5000)));
        let SourceOutcome::Failed(shown) = SourceOutcome::failed(&e) else {
            panic!("not failed")
        };
        assert!(shown.len() <= 200, "{shown}");
        assert!(shown.starts_with("API error: quota xxx"), "{shown}");
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
    }
}
