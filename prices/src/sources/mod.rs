//! Every data source of PegNet's `polling/` package that can still be used, one module each.
//!
//! Left out: Kitco (PegNet scraped its HTML page; a layout change silently yields wrong numbers,
//! which for a price oracle is worse than no number, and OpenExchangeRates covers the same four
//! metals), and ExchangeRates / Factoshiio, which PegNet itself hid or deprecated.

pub mod alternative_me;
pub mod apilayer;
pub mod coincap;
pub mod coingecko;
pub mod coinmarketcap;
pub mod fixed;
pub mod free_forex;
pub mod one_forge;
pub mod open_exchange_rates;
pub mod pegnet_market_cap;

use crate::source::PriceSource;
use fixed::{FixedFile, FixedUsd, PriceText};
use secrecy::SecretString;

/// What the config needs to know about a source before building it.
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    /// The name in the config.
    pub name: &'static str,
    /// Its endpoint, for HTTP sources.
    pub url: Option<&'static str>,
    /// It needs an API key.
    pub needs_key: bool,
    /// PegNet's default priority (-1: disabled).
    pub pegnet_priority: i32,
}

const fn k(name: &'static str, url: Option<&'static str>, needs_key: bool, p: i32) -> Kind {
    Kind {
        name,
        url,
        needs_key,
        pegnet_priority: p,
    }
}

/// Every source, in PegNet's default priority order, then the rest.
pub const KINDS: [Kind; 11] = [
    k("FixedUSD", None, false, 0),
    k("PegnetMarketCap", Some(pegnet_market_cap::URL), false, 1),
    k("AlternativeMe", Some(alternative_me::URL), false, 2),
    k("FreeForexAPI", Some(free_forex::URL), false, 3),
    k("OpenExchangeRates", Some(open_exchange_rates::URL), true, 9),
    k("APILayer", Some(apilayer::URL), true, -1),
    k("CoinMarketCap", Some(coinmarketcap::URL), true, -1),
    k("CoinCap", Some(coincap::URL), false, -1),
    k("CoinGecko", Some(coingecko::URL), false, -1),
    k("1Forge", Some(one_forge::URL), true, -1),
    k("Fixed", None, false, -1),
];

/// The source called `name` in the config.
pub fn kind(name: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.name == name)
}

/// Builds a source. `url` and `key` are already checked against [`Kind`]; `fixed` is the price
/// text of a `Fixed` source.
pub fn build(
    name: &str,
    url: Option<String>,
    key: Option<SecretString>,
    fixed: Option<PriceText>,
) -> Result<Box<dyn PriceSource>, String> {
    let kind = kind(name).ok_or_else(|| format!("unknown price source {name:?}"))?;
    let url = url.or(kind.url.map(str::to_string)).unwrap_or_default();
    let key = key.unwrap_or_default();
    Ok(match kind.name {
        "FixedUSD" => Box::new(FixedUsd),
        "Fixed" => {
            let text = fixed.ok_or("the Fixed source needs `file`")?;
            Box::new(FixedFile::new(text).map_err(|e| e.to_string())?)
        }
        "PegnetMarketCap" => Box::new(pegnet_market_cap::PegnetMarketCap { url }),
        "AlternativeMe" => Box::new(alternative_me::AlternativeMe { url }),
        "FreeForexAPI" => Box::new(free_forex::FreeForexApi { url }),
        "OpenExchangeRates" => Box::new(open_exchange_rates::OpenExchangeRates { url, key }),
        "APILayer" => Box::new(apilayer::ApiLayer { url, key }),
        "CoinMarketCap" => Box::new(coinmarketcap::CoinMarketCap { url, key }),
        "CoinCap" => Box::new(coincap::CoinCap { url }),
        "CoinGecko" => Box::new(coingecko::CoinGecko { url }),
        "1Forge" => Box::new(one_forge::OneForge { url, key }),
        other => return Err(format!("no builder for {other}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_and_every_asset_has_a_source() {
        for k in &KINDS {
            let fixed = (k.name == "Fixed").then_some(PriceText::Builtin(fixed::DEVNET_PRICES));
            let s = build(k.name, None, Some(SecretString::from("key")), fixed).unwrap();
            assert_eq!(s.name(), k.name);
        }
        let live: Vec<_> = KINDS
            .iter()
            .filter(|k| k.name != "Fixed")
            .map(|k| build(k.name, None, Some(SecretString::from("k")), None).unwrap())
            .collect();
        for a in crate::symbols::all_assets() {
            assert!(live.iter().any(|s| s.supports(a)), "{a} has no live source");
        }
    }
}
