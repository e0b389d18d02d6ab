//! The two sources that need no network: `FixedUSD` (USD is worth one dollar) and `Fixed`, a
//! price file for the devnet and for running offline.
//!
//! The file is TOML or JSON with one table, `prices`, of ticker → USD value
//! (`config/devnet-prices.toml` documents it). It is read again at every poll, so prices can be
//! edited without a restart; a file that stops parsing fails like an API that stops answering.

use crate::quote::{Quote, Quotes, SourceError};
use crate::source::{Fetch, PriceSource};
use std::path::PathBuf;

/// The prices the devnet uses, built in.
pub const DEVNET_PRICES: &str = include_str!("../../../config/devnet-prices.toml");

/// The `FixedUSD` source: prices USD, and only USD, at exactly 1 dollar, without any request.
#[derive(Debug, Default)]
pub struct FixedUsd;

impl PriceSource for FixedUsd {
    fn name(&self) -> &'static str {
        "FixedUSD"
    }
    fn supports(&self, asset: &str) -> bool {
        asset == "USD"
    }
    fn fetch(&self, _assets: &[&str]) -> Fetch {
        Fetch::Local(Ok(Quotes::from([("USD".to_string(), Quote::new(1.0))])))
    }
}

/// Where a `Fixed` source's prices come from.
#[derive(Debug, Clone)]
pub enum PriceText {
    /// A file, read at every poll.
    File(PathBuf),
    /// Text built into the binary (the devnet's prices).
    Builtin(&'static str),
}

/// The `Fixed` source: prices from a price file (or the devnet's built-in prices), re-read at
/// every poll; prices the assets the file listed when the source was built.
#[derive(Debug)]
pub struct FixedFile {
    text: PriceText,
    assets: Vec<String>,
}

impl FixedFile {
    /// Reads the prices once to learn which assets they cover (and to fail at start-up, not at
    /// the first block, on a bad file).
    pub fn new(text: PriceText) -> Result<FixedFile, SourceError> {
        let assets = read(&text)?.into_keys().collect();
        Ok(FixedFile { text, assets })
    }
}

impl PriceSource for FixedFile {
    fn name(&self) -> &'static str {
        "Fixed"
    }
    fn supports(&self, asset: &str) -> bool {
        self.assets.iter().any(|a| a == asset)
    }
    fn fetch(&self, _assets: &[&str]) -> Fetch {
        Fetch::Local(read(&self.text))
    }
}

/// Parses price-file text (TOML, or JSON when it starts with `{`).
pub fn parse(text: &str, origin: &str) -> Result<Quotes, SourceError> {
    let bad = |d: String| SourceError::Local(format!("price file {origin}: {d}"));
    let table: serde_json::Value = if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| bad(e.to_string()))?
    } else {
        let t: toml::Value = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        toml_to_json(t)
    };
    let obj = table.as_object().ok_or_else(|| bad("not a table".into()))?;
    if let Some(k) = obj.keys().find(|k| *k != "prices") {
        return Err(bad(format!("unknown key {k:?} (expected only `prices`)")));
    }
    let prices = obj
        .get("prices")
        .and_then(|p| p.as_object())
        .ok_or_else(|| bad("no `prices` table".into()))?;
    let mut out = Quotes::new();
    for (asset, v) in prices {
        let value = match v {
            serde_json::Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
            // TOML's nan/inf, and JSON's only way to write them.
            serde_json::Value::String(s)
                if matches!(s.as_str(), "nan" | "NaN" | "inf" | "-inf") =>
            {
                s.parse().unwrap_or(f64::NAN)
            }
            other => return Err(bad(format!("{asset} = {other} is not a number"))),
        };
        out.insert(asset.clone(), Quote::new(value));
    }
    Ok(out)
}

fn toml_to_json(v: toml::Value) -> serde_json::Value {
    match v {
        toml::Value::Float(f) if !f.is_finite() => serde_json::Value::String(f.to_string()),
        toml::Value::Float(f) => serde_json::json!(f),
        toml::Value::Integer(i) => serde_json::json!(i),
        toml::Value::Table(t) => {
            serde_json::Value::Object(t.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect())
        }
        other => serde_json::Value::String(format!("{other}")),
    }
}

fn read(text: &PriceText) -> Result<Quotes, SourceError> {
    match text {
        PriceText::Builtin(t) => parse(t, "(built in)"),
        PriceText::File(p) => {
            let t = std::fs::read_to_string(p)
                .map_err(|e| SourceError::Local(format!("price file {}: {e}", p.display())))?;
            parse(&t, &p.display().to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devnet_prices_cover_every_asset() {
        let f = FixedFile::new(PriceText::Builtin(DEVNET_PRICES)).unwrap();
        for a in crate::symbols::all_assets() {
            assert!(f.supports(a), "{a}");
        }
        let Fetch::Local(Ok(q)) = f.fetch(&[]) else {
            panic!("local")
        };
        assert_eq!(q["USD"].value, 1.0);
    }

    #[test]
    fn toml_and_json_files() {
        let q = parse("[prices]\nUSD = 1\nEUR = 1.08\nJPY = nan\n", "t").unwrap();
        assert_eq!(q["USD"].value, 1.0);
        assert_eq!(q["EUR"].value, 1.08);
        assert!(q["JPY"].value.is_nan());
        let q = parse(r#"{"prices": {"USD": 1.0, "PEG": "NaN"}}"#, "t").unwrap();
        assert!(q["PEG"].value.is_nan());
        for bad in [
            "prices = 5",
            "[prices]\nUSD = \"one\"",
            "[prices]\nUSD = 1\n[other]\n",
            "{\"prices\": [1]}",
            "{",
        ] {
            let e = parse(bad, "f.toml").unwrap_err().to_string();
            assert!(e.starts_with("price file f.toml: "), "{e}");
        }
        let e = FixedFile::new(PriceText::File("/nonexistent.toml".into())).unwrap_err();
        assert!(e.to_string().contains("/nonexistent.toml"), "{e}");
    }
}
