//! What a source returns: a USD value per asset, and the typed ways a source can fail.

use std::collections::BTreeMap;
use std::time::Duration;

/// One asset's price from one source.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quote {
    /// USD per unit. Parsers keep whatever the source said (NaN for text that is not a number);
    /// the oracle decides what is usable.
    pub value: f64,
    /// The source's own timestamp (unix seconds), when it gives one. Shown, never used to select:
    /// forex quotes are legitimately days old over a weekend.
    pub source_time: Option<i64>,
}

impl Quote {
    /// A quote without a source timestamp.
    pub fn new(value: f64) -> Quote {
        Quote {
            value,
            source_time: None,
        }
    }

    /// A quote with the source's timestamp, when it gave one.
    pub fn at(value: f64, source_time: Option<i64>) -> Quote {
        Quote { value, source_time }
    }

    /// A quote from a forex-style rate: units of the asset per US dollar, so the USD price is
    /// its inverse (a rate of 0 gives an infinite price, which the oracle refuses).
    pub fn per_dollar(rate: f64, source_time: Option<i64>) -> Quote {
        Quote::at(1.0 / rate, source_time)
    }
}

/// Quotes by asset ticker (PegNet's names: `XBT`, `XBC`, `PEG`, …).
pub type Quotes = BTreeMap<String, Quote>;

/// Why a source gave nothing this time. None of these carries a URL or an API key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SourceError {
    /// No answer within the source's timeout.
    #[error("timed out after {0:.1?}")]
    Timeout(Duration),
    /// The connection could not be made or broke.
    #[error("connection failed: {0}")]
    Connect(String),
    /// The API refuses because of too many requests.
    #[error("rate limited (HTTP 429)")]
    RateLimited,
    /// Any other non-success HTTP status.
    #[error("HTTP {status}{}", if .detail.is_empty() { String::new() } else { format!(": {}", .detail) })]
    Status {
        /// The HTTP status code the API answered with (not 2xx, not 429).
        status: u16,
        /// The start of the body, when it is short text.
        detail: String,
    },
    /// The answer is not the documented shape.
    #[error("malformed response: {0}")]
    Malformed(String),
    /// The answer is larger than any real one.
    #[error("response larger than {0} bytes")]
    TooLarge(usize),
    /// The API answered with an error of its own (bad key, quota, …).
    #[error("API error: {0}")]
    Api(String),
    /// A local source (a price file) cannot be read.
    #[error("{0}")]
    Local(String),
}

impl SourceError {
    /// Replaces every occurrence of `secret` in the message: APIs sometimes echo the key back.
    pub fn redact(self, secret: Option<&str>) -> SourceError {
        let Some(s) = secret.filter(|s| !s.is_empty()) else {
            return self;
        };
        let r = |t: String| t.replace(s, "***");
        match self {
            SourceError::Connect(t) => SourceError::Connect(r(t)),
            SourceError::Status { status, detail } => SourceError::Status {
                status,
                detail: r(detail),
            },
            SourceError::Malformed(t) => SourceError::Malformed(r(t)),
            SourceError::Api(t) => SourceError::Api(r(t)),
            SourceError::Local(t) => SourceError::Local(r(t)),
            other => other,
        }
    }
}

/// Parses JSON into `T`, naming what was wrong without echoing the body.
pub fn json<'a, T: serde::Deserialize<'a>>(body: &'a [u8]) -> Result<T, SourceError> {
    serde_json::from_slice(body).map_err(|e| SourceError::Malformed(e.to_string()))
}

/// A price that some APIs send as a JSON number and others as a string. Text that is not a
/// number becomes NaN, which the oracle reports as unusable.
pub fn number(v: &serde_json::Value) -> Option<f64> {
    match v {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => Some(s.trim().parse().unwrap_or(f64::NAN)),
        _ => None,
    }
}

/// A timestamp that may be in seconds or milliseconds.
pub fn unix_seconds(v: &serde_json::Value) -> Option<i64> {
    let t = number(v).filter(|t| t.is_finite() && *t > 0.0)?;
    Some(if t > 1e11 { t / 1000.0 } else { t } as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_and_times() {
        assert_eq!(number(&json!(1.5)), Some(1.5));
        assert_eq!(number(&json!("2.25")), Some(2.25));
        assert!(number(&json!("NaN")).unwrap().is_nan());
        assert!(number(&json!("abc")).unwrap().is_nan());
        assert_eq!(number(&json!(null)), None);
        assert_eq!(unix_seconds(&json!(1_573_000_000)), Some(1_573_000_000));
        assert_eq!(
            unix_seconds(&json!(1_573_000_000_123u64)),
            Some(1_573_000_000)
        );
        assert_eq!(unix_seconds(&json!(-5)), None);
    }

    #[test]
    fn redaction_removes_the_key() {
        let e = SourceError::Api("invalid app_id SECRETKEY".into()).redact(Some("SECRETKEY"));
        assert_eq!(e.to_string(), "API error: invalid app_id ***");
        let e = SourceError::Status {
            status: 401,
            detail: "SECRETKEY".into(),
        }
        .redact(Some("SECRETKEY"));
        assert!(!e.to_string().contains("SECRETKEY"));
        assert_eq!(
            SourceError::RateLimited.to_string(),
            "rate limited (HTTP 429)"
        );
    }
}
