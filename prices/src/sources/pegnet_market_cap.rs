//! PegnetMarketCap: PEG's exchange price. The answer is a set of records
//! `{ticker_symbol, exchange_price (string), exchange_price_dateline (unix s)}`; depending on the
//! API's version they come as an array, as an object of records, or under `data`.

use crate::quote::{json, number, unix_seconds, Quote, Quotes, SourceError};
use crate::source::{Fetch, HttpRequest, PriceSource};
use serde_json::Value;

/// The API's public endpoint, used unless the source's `url` setting replaces it (a proxy, or
/// the prices-fixture server in tests).
pub const URL: &str = "https://pegnetmarketcap.com/api/asset/all";

/// The `PegnetMarketCap` price source (so named in the config and in reports).
/// It prices PEG only; needs no key.
#[derive(Debug)]
pub struct PegnetMarketCap {
    /// Endpoint (the real one unless the config overrides it).
    pub url: String,
}

impl PriceSource for PegnetMarketCap {
    fn name(&self) -> &'static str {
        "PegnetMarketCap"
    }
    fn supports(&self, asset: &str) -> bool {
        asset == "PEG"
    }
    fn fetch(&self, _assets: &[&str]) -> Fetch {
        Fetch::Http(HttpRequest::get(self.url.clone()).query(&[(
            "columns",
            "ticker_symbol,exchange_price,exchange_price_dateline",
        )]))
    }
    fn parse(&self, body: &[u8]) -> Result<Quotes, SourceError> {
        let v: Value = json(body)?;
        let records: Vec<&Value> = match &v {
            Value::Array(a) => a.iter().collect(),
            Value::Object(o) => match o.get("data") {
                Some(Value::Array(a)) => a.iter().collect(),
                Some(Value::Object(d)) => d.values().collect(),
                _ => o.values().collect(),
            },
            _ => return Err(SourceError::Malformed("expected records".into())),
        };
        let mut out = Quotes::new();
        for r in records {
            if r.get("ticker_symbol").and_then(Value::as_str) != Some("PEG") {
                continue;
            }
            let value = r.get("exchange_price").and_then(number).ok_or_else(|| {
                SourceError::Malformed("PEG record without exchange_price".into())
            })?;
            let time = r.get("exchange_price_dateline").and_then(unix_seconds);
            out.insert("PEG".into(), Quote::at(value, time));
        }
        Ok(out)
    }
}
