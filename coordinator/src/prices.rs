//! Prices for the records the coordinator builds. This is the `fixed` source: a TOML file of USD
//! prices (`config/devnet-prices.toml` documents the shape). Before anything is broadcast, every
//! asset the version needs must be present and sane; otherwise the block is skipped with the list
//! of what is wrong.

use pegnet::price_to_u64;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The prices the devnet uses, built in.
pub const DEVNET_PRICES: &str = include_str!("../../config/devnet-prices.toml");

/// Price problems.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PriceError {
    /// The file cannot be read or parsed.
    #[error("price file {path}: {detail}")]
    File {
        /// The file.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// Assets missing or with unusable prices: the record cannot be built.
    #[error("cannot build the record: {}", .0.join("; "))]
    Unusable(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceFile {
    prices: BTreeMap<String, f64>,
}

/// USD prices per ticker.
#[derive(Debug, Clone, PartialEq)]
pub struct FixedPrices {
    prices: BTreeMap<String, f64>,
}

impl FixedPrices {
    /// Parses the TOML text of a price file.
    pub fn parse(text: &str, origin: &str) -> Result<FixedPrices, PriceError> {
        let f: PriceFile = toml::from_str(text).map_err(|e| PriceError::File {
            path: origin.to_string(),
            detail: e.to_string(),
        })?;
        Ok(FixedPrices { prices: f.prices })
    }

    /// Reads a price file.
    pub fn load(path: &Path) -> Result<FixedPrices, PriceError> {
        let text = std::fs::read_to_string(path).map_err(|e| PriceError::File {
            path: path.display().to_string(),
            detail: e.to_string(),
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// The built-in devnet prices.
    pub fn devnet() -> FixedPrices {
        // The embedded file is tested to parse; an empty set would only make every block skip.
        Self::parse(DEVNET_PRICES, "built-in devnet prices").unwrap_or(FixedPrices {
            prices: BTreeMap::new(),
        })
    }

    /// The record's prices for OPR `version`, in asset order, or every problem at once.
    pub fn for_version(&self, version: u8) -> Result<Vec<u64>, PriceError> {
        let mut out = Vec::new();
        let mut problems = Vec::new();
        for asset in pegnet::assets::for_version(version) {
            let key = if asset == "PNT" { "PEG" } else { asset };
            match self.prices.get(key) {
                None => problems.push(format!("{asset} has no price")),
                Some(p) if !p.is_finite() || *p < 0.0 => {
                    problems.push(format!("{asset} price {p} is not a number >= 0"))
                }
                Some(p) if *p == 0.0 && !(asset == "PEG" && version <= 2) => problems.push(
                    format!("{asset} price is 0 (not allowed in version {version})"),
                ),
                Some(p) => match price_to_u64(*p) {
                    Some(u) if u > 0 || *p == 0.0 => out.push(u),
                    _ => problems.push(format!(
                        "{asset} price {p} is out of range (under 1e-8 or too large)"
                    )),
                },
            }
        }
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(PriceError::Unusable(problems))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devnet_prices_cover_every_version() {
        let p = FixedPrices::devnet();
        for v in 2..=5 {
            let prices = p.for_version(v).unwrap();
            assert_eq!(prices.len(), pegnet::assets::for_version(v).len());
        }
        assert_eq!(p.for_version(5).unwrap()[1], 100_000_000, "USD = 1.0");
    }

    #[test]
    fn bad_prices_are_all_reported() {
        let p = FixedPrices::parse(
            "[prices]\nPEG = 0.0\nUSD = -1.0\nEUR = nan\nJPY = 1e-12\n",
            "t",
        )
        .unwrap();
        let err = p.for_version(5).unwrap_err().to_string();
        for needle in [
            "PEG price is 0",
            "USD price -1",
            "EUR price NaN",
            "JPY price",
            "GBP has no price",
            "NGN has no price",
        ] {
            assert!(err.contains(needle), "{needle} in {err}");
        }
        // PEG = 0 is fine for version 2 records.
        let mut text = DEVNET_PRICES.replace("PEG = 0.0042", "PEG = 0.0");
        text.push('\n');
        assert_eq!(
            FixedPrices::parse(&text, "t")
                .unwrap()
                .for_version(2)
                .unwrap()[0],
            0
        );
        assert!(FixedPrices::parse("prices = 5", "t").is_err());
        assert!(FixedPrices::parse("[prices]\nUSD = \"one\"", "t").is_err());
        assert!(matches!(
            FixedPrices::load(Path::new("/nonexistent.toml")),
            Err(PriceError::File { .. })
        ));
    }
}
