//! CoinGecko's simple price: `{"bitcoin": {"usd": p, "last_updated_at": t}}`.

use crate::quote::{json, number, unix_seconds, Quote, Quotes, SourceError};
use crate::source::{Fetch, HttpRequest, PriceSource};
use crate::symbols::{crypto, CRYPTOS};
use serde_json::Value;

/// The API's public endpoint, used unless the source's `url` setting replaces it (a proxy, or
/// the prices-fixture server in tests).
pub const URL: &str = "https://api.coingecko.com/api/v3/simple/price";

/// The `CoinGecko` price source (so named in the config and in reports).
/// It prices every crypto asset, PEG included; needs no key.
#[derive(Debug)]
pub struct CoinGecko {
    /// Endpoint to query, without query parameters: [`URL`] or the configured replacement.
    pub url: String,
}

impl PriceSource for CoinGecko {
    fn name(&self) -> &'static str {
        "CoinGecko"
    }
    fn supports(&self, asset: &str) -> bool {
        crypto(asset).is_some()
    }
    fn fetch(&self, assets: &[&str]) -> Fetch {
        let ids: Vec<&str> = assets
            .iter()
            .filter_map(|a| crypto(a))
            .map(|c| c.coingecko)
            .collect();
        Fetch::Http(HttpRequest::get(self.url.clone()).query(&[
            ("ids", &ids.join(",")),
            ("vs_currencies", "usd"),
            ("include_last_updated_at", "true"),
        ]))
    }
    fn parse(&self, body: &[u8]) -> Result<Quotes, SourceError> {
        let v: Value = json(body)?;
        let obj = v
            .as_object()
            .ok_or_else(|| SourceError::Malformed("expected an object of coins".into()))?;
        if let Some(e) = obj.get("error").or(obj.get("status")) {
            return Err(SourceError::Api(e.to_string()));
        }
        let mut out = Quotes::new();
        for c in &CRYPTOS {
            let Some(row) = obj.get(c.coingecko) else {
                continue;
            };
            if let Some(value) = row.get("usd").and_then(number) {
                out.insert(
                    c.asset.into(),
                    Quote::at(value, row.get("last_updated_at").and_then(unix_seconds)),
                );
            }
        }
        Ok(out)
    }
}
