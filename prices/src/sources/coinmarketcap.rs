//! CoinMarketCap's pro API: `data.{id}.quote.USD.price` and `.last_updated` (an ISO time), the
//! key in the `X-CMC_PRO_API_KEY` header.

use crate::quote::{json, number, Quote, Quotes, SourceError};
use crate::source::{Fetch, HttpRequest, PriceSource};
use crate::symbols::{crypto, CRYPTOS};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

/// The API's public endpoint, used unless the source's `url` setting replaces it (a proxy, or
/// the prices-fixture server in tests).
pub const URL: &str = "https://pro-api.coinmarketcap.com/v1/cryptocurrency/quotes/latest";

/// The `CoinMarketCap` price source (so named in the config and in reports).
/// It prices every crypto asset, PEG included.
#[derive(Debug)]
pub struct CoinMarketCap {
    /// Endpoint to query, without query parameters: [`URL`] or the configured replacement.
    pub url: String,
    /// The API key from the config, sent as the `X-CMC_PRO_API_KEY` header; kept out of every
    /// error message and log.
    pub key: SecretString,
}

impl PriceSource for CoinMarketCap {
    fn name(&self) -> &'static str {
        "CoinMarketCap"
    }
    fn supports(&self, asset: &str) -> bool {
        crypto(asset).is_some()
    }
    fn fetch(&self, assets: &[&str]) -> Fetch {
        let ids: Vec<String> = assets
            .iter()
            .filter_map(|a| crypto(a))
            .map(|c| c.cmc_id.to_string())
            .collect();
        Fetch::Http(
            HttpRequest::get(self.url.clone())
                .query(&[("id", &ids.join(",")), ("convert", "USD")])
                .header("X-CMC_PRO_API_KEY", self.key.expose_secret())
                .secret(&self.key),
        )
    }
    fn parse(&self, body: &[u8]) -> Result<Quotes, SourceError> {
        let v: Value = json(body)?;
        if let Some(code) = v
            .pointer("/status/error_code")
            .and_then(Value::as_i64)
            .filter(|c| *c != 0)
        {
            let msg = v.pointer("/status/error_message").and_then(Value::as_str);
            return Err(SourceError::Api(format!("{code} {}", msg.unwrap_or(""))));
        }
        let data = v
            .get("data")
            .and_then(Value::as_object)
            .ok_or_else(|| SourceError::Malformed("no `data` object".into()))?;
        let mut out = Quotes::new();
        for c in &CRYPTOS {
            let Some(q) = data
                .get(&c.cmc_id.to_string())
                .and_then(|row| row.pointer("/quote/USD"))
            else {
                continue;
            };
            let Some(value) = q.get("price").and_then(number) else {
                continue;
            };
            let time = q
                .get("last_updated")
                .and_then(Value::as_str)
                .and_then(unix_from_rfc3339);
            out.insert(c.asset.into(), Quote::at(value, time));
        }
        Ok(out)
    }
}

/// `2019-11-14T20:27:01.000Z` → unix seconds (UTC only, which is what CoinMarketCap sends). The
/// time is only displayed, so a small parser beats another date crate.
pub fn unix_from_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || !s.ends_with('Z') {
        return None;
    }
    // Digits only: `parse` would also take a sign, so "T-1:27" would be read as hour -1.
    let n = |r: std::ops::Range<usize>| {
        let t = s.get(r).filter(|t| t.bytes().all(|c| c.is_ascii_digit()))?;
        t.parse::<i64>().ok()
    };
    let (y, m, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let (hh, mm, ss) = (n(11..13)?, n(14..16)?, n(17..19)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // Days from 1970-01-01 (Howard Hinnant's days_from_civil).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_times() {
        assert_eq!(unix_from_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            unix_from_rfc3339("2019-11-14T20:27:01.000Z"),
            Some(1_573_763_221)
        );
        assert_eq!(
            unix_from_rfc3339("2024-02-29T12:00:00Z"),
            Some(1_709_208_000)
        );
        assert_eq!(unix_from_rfc3339("yesterday"), None);
        assert_eq!(unix_from_rfc3339("2019-13-14T20:27:01.000Z"), None);
    }

    #[test]
    fn signed_fields_are_not_times() {
        // i64::from_str takes a sign: these were read as hour -1, minute +7 and year -999.
        assert_eq!(unix_from_rfc3339("2019-11-14T-1:27:01.000Z"), None);
        assert_eq!(unix_from_rfc3339("2019-11-14T20:+7:01.000Z"), None);
        assert_eq!(unix_from_rfc3339("-999-11-14T20:27:01.000Z"), None);
    }
}
