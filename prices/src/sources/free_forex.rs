//! FreeForexAPI: `rates.USDEUR.rate` is euros per dollar, so the USD price is its inverse.

use crate::quote::{json, number, unix_seconds, Quote, Quotes, SourceError};
use crate::source::{Fetch, HttpRequest, PriceSource};
use crate::symbols::is_fiat;
use serde_json::Value;

/// The API's public endpoint, used unless the source's `url` setting replaces it (a proxy, or
/// the prices-fixture server in tests).
pub const URL: &str = "https://www.freeforexapi.com/api/live";

/// The `FreeForexAPI` price source (so named in the config and in reports).
/// It prices fiat currencies, gold (XAU) and silver (XAG); needs no key.
#[derive(Debug)]
pub struct FreeForexApi {
    /// Endpoint to query, without query parameters: [`URL`] or the configured replacement.
    pub url: String,
}

impl PriceSource for FreeForexApi {
    fn name(&self) -> &'static str {
        "FreeForexAPI"
    }
    fn supports(&self, asset: &str) -> bool {
        is_fiat(asset) || asset == "XAU" || asset == "XAG"
    }
    fn fetch(&self, assets: &[&str]) -> Fetch {
        let pairs: Vec<String> = assets.iter().map(|a| format!("USD{a}")).collect();
        Fetch::Http(HttpRequest::get(self.url.clone()).query(&[("pairs", &pairs.join(","))]))
    }
    fn parse(&self, body: &[u8]) -> Result<Quotes, SourceError> {
        let v: Value = json(body)?;
        if let Some(code) = v.get("code").and_then(Value::as_i64).filter(|c| *c != 200) {
            let msg = v.get("message").and_then(Value::as_str).unwrap_or("");
            return Err(SourceError::Api(format!("code {code} {msg}").trim().into()));
        }
        let rates = v
            .get("rates")
            .and_then(Value::as_object)
            .ok_or_else(|| SourceError::Malformed("no `rates` object".into()))?;
        let mut out = Quotes::new();
        for (pair, r) in rates {
            let Some(asset) = pair.strip_prefix("USD").filter(|a| self.supports(a)) else {
                continue;
            };
            let Some(rate) = r.get("rate").and_then(number) else {
                continue;
            };
            out.insert(
                asset.into(),
                Quote::per_dollar(rate, r.get("timestamp").and_then(unix_seconds)),
            );
        }
        Ok(out)
    }
}
