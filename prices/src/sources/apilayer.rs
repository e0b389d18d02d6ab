//! APILayer (currencylayer): `quotes.USDEUR` per US dollar, inverted. Needs an access key.

use crate::quote::{json, number, unix_seconds, Quote, Quotes, SourceError};
use crate::source::{Fetch, HttpRequest, PriceSource};
use crate::symbols::is_fiat;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

/// The real endpoint (PegNet used plain HTTP: the free plan had no TLS).
pub const URL: &str = "http://www.apilayer.net/api/live";

/// The `APILayer` price source (so named in the config and in reports).
/// It prices every fiat currency.
#[derive(Debug)]
pub struct ApiLayer {
    /// Endpoint to query, without query parameters: [`URL`] or the configured replacement.
    pub url: String,
    /// The API key from the config, sent as the `access_key` query parameter; kept out of every
    /// error message and log.
    pub key: SecretString,
}

impl PriceSource for ApiLayer {
    fn name(&self) -> &'static str {
        "APILayer"
    }
    fn supports(&self, asset: &str) -> bool {
        is_fiat(asset)
    }
    fn fetch(&self, _assets: &[&str]) -> Fetch {
        Fetch::Http(
            HttpRequest::get(self.url.clone())
                .query(&[("access_key", self.key.expose_secret())])
                .secret(&self.key),
        )
    }
    fn parse(&self, body: &[u8]) -> Result<Quotes, SourceError> {
        let v: Value = json(body)?;
        if v.get("success").and_then(Value::as_bool) == Some(false) {
            let info = v.pointer("/error/info").and_then(Value::as_str);
            return Err(SourceError::Api(info.unwrap_or("success = false").into()));
        }
        let quotes = v
            .get("quotes")
            .and_then(Value::as_object)
            .ok_or_else(|| SourceError::Malformed("no `quotes` object".into()))?;
        let time = v.get("timestamp").and_then(unix_seconds);
        let mut out = Quotes::new();
        for (pair, r) in quotes {
            let Some(asset) = pair.strip_prefix("USD").filter(|a| self.supports(a)) else {
                continue;
            };
            if let Some(rate) = number(r) {
                out.insert(asset.into(), Quote::per_dollar(rate, time));
            }
        }
        Ok(out)
    }
}
