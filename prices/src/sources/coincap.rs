//! CoinCap: `data[] = {id, symbol, priceUsd (string)}` and a millisecond `timestamp`. Rows are
//! matched by slug, so a symbol clash (two coins called `HT`) cannot slip in a wrong price.

use crate::quote::{json, number, unix_seconds, Quote, Quotes, SourceError};
use crate::source::{Fetch, HttpRequest, PriceSource};
use crate::symbols::{crypto, CRYPTOS};
use serde_json::Value;

/// The API's public endpoint, used unless the source's `url` setting replaces it (a proxy, or
/// the prices-fixture server in tests).
pub const URL: &str = "http://api.coincap.io/v2/assets";

/// The `CoinCap` price source (so named in the config and in reports).
/// It prices the crypto assets that have a CoinCap slug; needs no key.
#[derive(Debug)]
pub struct CoinCap {
    /// Endpoint to query, without query parameters: [`URL`] or the configured replacement.
    pub url: String,
}

impl PriceSource for CoinCap {
    fn name(&self) -> &'static str {
        "CoinCap"
    }
    fn supports(&self, asset: &str) -> bool {
        crypto(asset).is_some_and(|c| c.coincap.is_some())
    }
    fn fetch(&self, assets: &[&str]) -> Fetch {
        let ids: Vec<&str> = assets.iter().filter_map(|a| crypto(a)?.coincap).collect();
        Fetch::Http(HttpRequest::get(self.url.clone()).query(&[("ids", &ids.join(","))]))
    }
    fn parse(&self, body: &[u8]) -> Result<Quotes, SourceError> {
        let v: Value = json(body)?;
        let rows = v
            .get("data")
            .and_then(Value::as_array)
            .ok_or_else(|| SourceError::Malformed("no `data` array".into()))?;
        let time = v.get("timestamp").and_then(unix_seconds);
        let mut out = Quotes::new();
        for row in rows {
            let id = row.get("id").and_then(Value::as_str);
            let Some(c) = CRYPTOS
                .iter()
                .find(|c| c.coincap.is_some() && c.coincap == id)
            else {
                continue;
            };
            if let Some(value) = row.get("priceUsd").and_then(number) {
                out.insert(c.asset.into(), Quote::at(value, time));
            }
        }
        Ok(out)
    }
}
