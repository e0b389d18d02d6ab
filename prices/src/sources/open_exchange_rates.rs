//! OpenExchangeRates: `rates.{ISO}` per US dollar (inverted), Bitcoin read from `BTC`. Needs an
//! app ID.

use crate::quote::{json, number, unix_seconds, Quote, Quotes, SourceError};
use crate::source::{Fetch, HttpRequest, PriceSource};
use crate::symbols::{is_fiat, METALS};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

/// The API's public endpoint, used unless the source's `url` setting replaces it (a proxy, or
/// the prices-fixture server in tests).
pub const URL: &str = "https://openexchangerates.org/api/latest.json";

/// The `OpenExchangeRates` price source (so named in the config and in reports).
/// It prices fiat currencies, the four metals and XBT.
#[derive(Debug)]
pub struct OpenExchangeRates {
    /// Endpoint to query, without query parameters: [`URL`] or the configured replacement.
    pub url: String,
    /// The API key from the config, sent as the `app_id` query parameter; kept out of every
    /// error message and log.
    pub key: SecretString,
}

impl PriceSource for OpenExchangeRates {
    fn name(&self) -> &'static str {
        "OpenExchangeRates"
    }
    fn supports(&self, asset: &str) -> bool {
        is_fiat(asset) || METALS.contains(&asset) || asset == "XBT"
    }
    fn fetch(&self, _assets: &[&str]) -> Fetch {
        Fetch::Http(
            HttpRequest::get(self.url.clone())
                .query(&[("app_id", self.key.expose_secret())])
                .secret(&self.key),
        )
    }
    fn parse(&self, body: &[u8]) -> Result<Quotes, SourceError> {
        let v: Value = json(body)?;
        if v.get("error").and_then(Value::as_bool) == Some(true) {
            let msg = v.get("description").or(v.get("message"));
            return Err(SourceError::Api(
                msg.and_then(Value::as_str).unwrap_or("error").into(),
            ));
        }
        if let Some(base) = v
            .get("base")
            .and_then(Value::as_str)
            .filter(|b| *b != "USD")
        {
            return Err(SourceError::Malformed(format!("base is {base}, not USD")));
        }
        let rates = v
            .get("rates")
            .and_then(Value::as_object)
            .ok_or_else(|| SourceError::Malformed("no `rates` object".into()))?;
        let time = v.get("timestamp").and_then(unix_seconds);
        let mut out = Quotes::new();
        for (iso, r) in rates {
            let asset = if iso == "BTC" { "XBT" } else { iso.as_str() };
            if !self.supports(asset) || asset == "XBT" && iso != "BTC" {
                continue;
            }
            if let Some(rate) = number(r) {
                out.insert(asset.into(), Quote::per_dollar(rate, time));
            }
        }
        Ok(out)
    }
}
