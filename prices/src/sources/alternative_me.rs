//! alternative.me's ticker: the top 300 coins keyed by CoinMarketCap's numeric IDs,
//! `data.{id}.quotes.USD.price` and `data.{id}.last_updated`.

use crate::quote::{json, number, unix_seconds, Quote, Quotes, SourceError};
use crate::source::{Fetch, HttpRequest, PriceSource};
use crate::symbols::CRYPTOS;
use serde_json::Value;

/// The API's public endpoint, used unless the source's `url` setting replaces it (a proxy, or
/// the prices-fixture server in tests).
pub const URL: &str = "https://api.alternative.me/v2/ticker";

/// The `AlternativeMe` price source (so named in the config and in reports).
/// It prices the crypto assets alternative.me lists; needs no key.
#[derive(Debug)]
pub struct AlternativeMe {
    /// Endpoint to query, without query parameters: [`URL`] or the configured replacement.
    pub url: String,
}

impl PriceSource for AlternativeMe {
    fn name(&self) -> &'static str {
        "AlternativeMe"
    }
    fn supports(&self, asset: &str) -> bool {
        CRYPTOS.iter().any(|c| c.asset == asset && c.alternative_me)
    }
    fn fetch(&self, _assets: &[&str]) -> Fetch {
        Fetch::Http(
            HttpRequest::get(self.url.clone()).query(&[("convert", "USD"), ("limit", "300")]),
        )
    }
    fn parse(&self, body: &[u8]) -> Result<Quotes, SourceError> {
        let v: Value = json(body)?;
        let data = v
            .get("data")
            .and_then(Value::as_object)
            .ok_or_else(|| SourceError::Malformed("no `data` object".into()))?;
        let mut out = Quotes::new();
        for c in CRYPTOS.iter().filter(|c| c.alternative_me) {
            let Some(row) = data.get(&c.cmc_id.to_string()) else {
                continue;
            };
            let Some(value) = row.pointer("/quotes/USD/price").and_then(number) else {
                continue;
            };
            let time = row.get("last_updated").and_then(unix_seconds);
            out.insert(c.asset.into(), Quote::at(value, time));
        }
        Ok(out)
    }
}
