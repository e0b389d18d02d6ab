//! 1Forge: an array of `{"s": "EUR/USD", "p": price, "b", "a", "t"}`; `p` is already USD per
//! unit. Needs an API key.

use crate::quote::{json, number, unix_seconds, Quote, Quotes, SourceError};
use crate::source::{Fetch, HttpRequest, PriceSource};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

/// The API's public endpoint, used unless the source's `url` setting replaces it (a proxy, or
/// the prices-fixture server in tests).
pub const URL: &str = "https://api.1forge.com/quotes";

/// The assets 1Forge quotes against the dollar.
pub const ASSETS: [&str; 17] = [
    "EUR", "JPY", "GBP", "CAD", "CHF", "SGD", "HKD", "MXN", "AUD", "NZD", "SEK", "NOK", "RUB",
    "ZAR", "TRY", "XAU", "XAG",
];

/// The `1Forge` price source (so named in the config and in reports).
/// It prices 15 fiat currencies, gold and silver.
#[derive(Debug)]
pub struct OneForge {
    /// Endpoint to query, without query parameters: [`URL`] or the configured replacement.
    pub url: String,
    /// The API key from the config, sent as the `api_key` query parameter; kept out of every
    /// error message and log.
    pub key: SecretString,
}

impl PriceSource for OneForge {
    fn name(&self) -> &'static str {
        "1Forge"
    }
    fn supports(&self, asset: &str) -> bool {
        ASSETS.contains(&asset)
    }
    fn fetch(&self, assets: &[&str]) -> Fetch {
        let pairs: Vec<String> = assets.iter().map(|a| format!("{a}/USD")).collect();
        Fetch::Http(
            HttpRequest::get(self.url.clone())
                .query(&[
                    ("pairs", &pairs.join(",")),
                    ("api_key", self.key.expose_secret()),
                ])
                .secret(&self.key),
        )
    }
    fn parse(&self, body: &[u8]) -> Result<Quotes, SourceError> {
        let v: Value = json(body)?;
        if v.get("error").and_then(Value::as_bool) == Some(true) {
            let msg = v.get("message").and_then(Value::as_str).unwrap_or("error");
            return Err(SourceError::Api(msg.into()));
        }
        let rows = v
            .as_array()
            .ok_or_else(|| SourceError::Malformed("expected an array of quotes".into()))?;
        let mut out = Quotes::new();
        for row in rows {
            let Some(asset) = row
                .get("s")
                .and_then(Value::as_str)
                .and_then(|s| s.strip_suffix("/USD"))
                .filter(|a| self.supports(a))
            else {
                continue;
            };
            if let Some(value) = row.get("p").and_then(number) {
                out.insert(
                    asset.into(),
                    Quote::at(value, row.get("t").and_then(unix_seconds)),
                );
            }
        }
        Ok(out)
    }
}
