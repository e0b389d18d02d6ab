//! The `[prices]` section of `netcoordinator.toml`: which sources, in which priority, with which
//! keys, and the breaker and freshness settings. Everything is checked when the config loads
//! ([`PricesConfig::plan`]), so a typo fails the start, not a block an hour later.
//!
//! Sources merge over the network's defaults, as PegNet's `[OracleDataSources]` does: on mainnet
//! and testnet PegNet's priorities (FixedUSD 0, PegnetMarketCap 1, AlternativeMe 2,
//! FreeForexAPI 3, OpenExchangeRates 9, the rest disabled), on the devnet only the built-in
//! `Fixed` prices.

use crate::breaker::BreakerConfig;
use crate::source::PriceSource;
use crate::sources::fixed::{PriceText, DEVNET_PRICES};
use crate::sources::{self, KINDS};
use crate::symbols::all_assets;
use pegnet::Network;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration;

/// A configuration mistake, said in terms of the config file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("[prices] {0}")]
pub struct PriceConfigError(pub String);

/// An API key, held as a [`SecretString`]: its `Debug` never shows it, so it cannot reach a log
/// by accident, and the memory is wiped when it is dropped.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct ApiKey(pub SecretString);

/// Written out (e.g. by `check-config`) as `"***"`, or `""` when empty: never the key.
impl Serialize for ApiKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if self.0.expose_secret().is_empty() {
            ""
        } else {
            "***"
        })
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.expose_secret().is_empty() {
            "\"\""
        } else {
            "\"***\""
        })
    }
}

/// `[prices]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PricesConfig {
    /// Seconds a source may take to answer (each source may override it).
    pub timeout_secs: f64,
    /// Quotes younger than this are reused without asking the source again.
    pub refresh_secs: f64,
    /// A source's last good quote is used while younger than this; then the asset has no price
    /// from that source.
    pub max_quote_age_secs: f64,
    /// Circuit breaker settings, shared by every source.
    pub breaker: BreakerSettings,
    /// Per-source settings, merged over the network's defaults.
    pub sources: BTreeMap<String, SourceEntry>,
    /// Per-asset source lists (highest priority first), replacing the priority order.
    pub assets: BTreeMap<String, Vec<String>>,
}

impl Default for PricesConfig {
    fn default() -> Self {
        PricesConfig {
            timeout_secs: 10.0,
            refresh_secs: 60.0,
            max_quote_age_secs: 1800.0,
            breaker: BreakerSettings::default(),
            sources: BTreeMap::new(),
            assets: BTreeMap::new(),
        }
    }
}

/// `[prices.breaker]`.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BreakerSettings {
    /// Consecutive failures that open a source's breaker.
    pub failure_threshold: u32,
    /// Seconds an open breaker waits before one trial request.
    pub recovery_timeout_secs: f64,
    /// Consecutive successful trials that close it again.
    pub success_threshold: u32,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        let d = BreakerConfig::default();
        BreakerSettings {
            failure_threshold: d.failure_threshold,
            recovery_timeout_secs: d.recovery_timeout.as_secs_f64(),
            success_threshold: d.success_threshold,
        }
    }
}

/// A source's entry: just a priority (`CoinGecko = 4`) or a table.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum SourceEntry {
    /// `NAME = priority`.
    Priority(i64),
    /// `[prices.sources.NAME]`.
    Settings(SourceSettings),
}

/// `[prices.sources.NAME]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSettings {
    /// Lower is preferred; -1 disables the source.
    pub priority: Option<i64>,
    /// API key (OpenExchangeRates, APILayer, CoinMarketCap, 1Forge).
    pub key: Option<ApiKey>,
    /// Endpoint replacing the real one (a proxy, or the fixture server).
    pub url: Option<String>,
    /// Timeout for this source.
    pub timeout_secs: Option<f64>,
    /// Refresh interval for this source (e.g. 3600 for a plan with few requests a month).
    pub refresh_secs: Option<f64>,
    /// The `Fixed` source's price file (TOML or JSON).
    pub file: Option<PathBuf>,
}

/// A source ready to poll.
pub struct PlannedSource {
    /// The source itself, built from its config entry (URL and key filled in).
    pub source: Box<dyn PriceSource>,
    /// Its priority (lower first).
    pub priority: i64,
    /// The deadline of one request to it: connect, headers and body together.
    pub timeout: Duration,
    /// Its refresh interval.
    pub refresh: Duration,
}

impl std::fmt::Debug for PlannedSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlannedSource")
            .field("source", &self.source.name())
            .field("priority", &self.priority)
            .field("timeout", &self.timeout)
            .field("refresh", &self.refresh)
            .finish()
    }
}

/// A checked configuration.
#[derive(Debug)]
pub struct Plan {
    /// Enabled sources, in priority order.
    pub sources: Vec<PlannedSource>,
    /// Per-asset lists, as indices into `sources`.
    pub overrides: BTreeMap<String, Vec<usize>>,
    /// Oldest usable quote.
    pub max_quote_age: Duration,
    /// The circuit breaker every source gets: failures before it opens, how long it stays open,
    /// successes to close it again.
    pub breaker: BreakerConfig,
}

impl Plan {
    /// The sources to ask for `asset`, highest priority first (indices into `sources`).
    pub fn sources_for(&self, asset: &str) -> Vec<usize> {
        match self.overrides.get(asset) {
            Some(list) => list.clone(),
            None => (0..self.sources.len())
                .filter(|i| self.sources[*i].source.supports(asset))
                .collect(),
        }
    }
}

fn err<T>(msg: impl Into<String>) -> Result<T, PriceConfigError> {
    Err(PriceConfigError(msg.into()))
}

fn secs(name: &str, v: f64, min_exclusive: bool) -> Result<Duration, PriceConfigError> {
    let ok = v.is_finite() && if min_exclusive { v > 0.0 } else { v >= 0.0 } && v < 1e9;
    if !ok {
        return err(format!(
            "{name} = {v} must be a number of seconds {}",
            if min_exclusive { "> 0" } else { ">= 0" }
        ));
    }
    Ok(Duration::from_secs_f64(v))
}

impl PricesConfig {
    /// Only the `Fixed` source, reading `file` (`--prices FILE`).
    pub fn fixed_only(file: PathBuf) -> PricesConfig {
        let mut c = PricesConfig::default();
        for k in &KINDS {
            c.sources
                .insert(k.name.to_string(), SourceEntry::Priority(-1));
        }
        c.sources.insert(
            "Fixed".into(),
            SourceEntry::Settings(SourceSettings {
                priority: Some(0),
                file: Some(file),
                ..SourceSettings::default()
            }),
        );
        c
    }

    /// Makes relative price-file paths relative to `dir` (the config file's folder), as a user
    /// writing `file = "prices.toml"` next to the config means.
    pub fn resolve_files(&mut self, dir: &std::path::Path) {
        for entry in self.sources.values_mut() {
            if let SourceEntry::Settings(SourceSettings { file: Some(f), .. }) = entry {
                if f.is_relative() {
                    *f = dir.join(&*f);
                }
            }
        }
    }

    /// Checks everything and builds the sources.
    pub fn plan(&self, network: Network) -> Result<Plan, PriceConfigError> {
        let timeout = secs("timeout_secs", self.timeout_secs, true)?;
        let refresh = secs("refresh_secs", self.refresh_secs, false)?;
        let max_quote_age = secs("max_quote_age_secs", self.max_quote_age_secs, true)?;
        let b = self.breaker;
        if b.failure_threshold == 0 || b.success_threshold == 0 {
            return err("breaker failure_threshold and success_threshold must be at least 1");
        }
        let breaker = BreakerConfig {
            failure_threshold: b.failure_threshold,
            recovery_timeout: secs(
                "breaker.recovery_timeout_secs",
                b.recovery_timeout_secs,
                false,
            )?,
            success_threshold: b.success_threshold,
        };
        if let Some(name) = self.sources.keys().find(|n| sources::kind(n).is_none()) {
            let known: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
            return err(format!(
                "unknown source {name:?}; the sources are {}",
                known.join(", ")
            ));
        }

        let mut planned = Vec::new();
        let mut by_priority: HashMap<i64, &str> = HashMap::new();
        for kind in &KINDS {
            let s = match self.sources.get(kind.name) {
                Some(SourceEntry::Priority(p)) => SourceSettings {
                    priority: Some(*p),
                    ..SourceSettings::default()
                },
                Some(SourceEntry::Settings(s)) => s.clone(),
                None => SourceSettings::default(),
            };
            let default_priority = match network {
                Network::DevNet => i64::from(if kind.name == "Fixed" { 0 } else { -1 }),
                _ => i64::from(kind.pegnet_priority),
            };
            let priority = s.priority.unwrap_or(default_priority);
            let name = kind.name;
            if priority < -1 {
                return err(format!(
                    "{name}: priority {priority} (use -1 to disable, 0 or more to enable)"
                ));
            }
            if priority == -1 {
                continue;
            }
            if let Some(other) = by_priority.insert(priority, name) {
                return err(format!(
                    "{other} and {name} both have priority {priority}; priorities must be unique"
                ));
            }
            let key = s
                .key
                .clone()
                .map(|k| k.0)
                .filter(|k| !k.expose_secret().is_empty());
            match (kind.needs_key, &key) {
                (true, None) => {
                    return err(format!(
                    "{name} is enabled (priority {priority}) but has no key: set [prices.sources.{name}] key = \"...\", or priority = -1"
                ))
                }
                (false, Some(_)) => return err(format!("{name} takes no key")),
                _ => {}
            }
            if let Some(u) = &s.url {
                if kind.url.is_none() {
                    return err(format!("{name} is not an HTTP source: it takes no url"));
                }
                if !(u.starts_with("http://") || u.starts_with("https://")) || u.contains(' ') {
                    return err(format!("{name}: url {u:?} is not an http(s) URL"));
                }
            }
            let fixed = match (&s.file, name, network) {
                (Some(f), "Fixed", _) => Some(PriceText::File(f.clone())),
                (None, "Fixed", Network::DevNet) => Some(PriceText::Builtin(DEVNET_PRICES)),
                (None, "Fixed", _) => return err("the Fixed source is enabled but has no `file`"),
                (Some(_), _, _) => return err(format!("{name} takes no file")),
                _ => None,
            };
            let source = sources::build(name, s.url.clone(), key, fixed)
                .map_err(|e| PriceConfigError(format!("{name}: {e}")))?;
            planned.push(PlannedSource {
                source,
                priority,
                timeout: match s.timeout_secs {
                    Some(t) => secs(&format!("sources.{name}.timeout_secs"), t, true)?,
                    None => timeout,
                },
                refresh: match s.refresh_secs {
                    Some(t) => secs(&format!("sources.{name}.refresh_secs"), t, false)?,
                    None => refresh,
                },
            });
        }
        planned.sort_by_key(|p| p.priority);

        let assets = all_assets();
        let mut overrides = BTreeMap::new();
        for (asset, list) in &self.assets {
            if !assets.contains(&asset.as_str()) {
                return err(format!("assets: {asset:?} is not a PegNet asset"));
            }
            if list.is_empty() {
                return err(format!("assets.{asset}: the list is empty"));
            }
            let mut idx = Vec::new();
            for name in list {
                if sources::kind(name).is_none() {
                    return err(format!("assets.{asset}: unknown source {name:?}"));
                }
                let Some(i) = planned.iter().position(|p| p.source.name() == name) else {
                    return err(format!("assets.{asset}: {name} is not enabled"));
                };
                if !planned[i].source.supports(asset) {
                    return err(format!("assets.{asset}: {name} does not price {asset}"));
                }
                if idx.contains(&i) {
                    return err(format!("assets.{asset}: {name} is listed twice"));
                }
                idx.push(i);
            }
            overrides.insert(asset.clone(), idx);
        }
        if planned.is_empty() {
            return err("no source is enabled");
        }
        Ok(Plan {
            sources: planned,
            overrides,
            max_quote_age,
            breaker,
        })
    }
}
