//! `netcoordinator prices`: polls the configured price sources once and prints every asset's
//! value, the source used and its age, and which sources failed and why. Fails (exit 1) when the
//! record could not be built, so it doubles as a check before starting the daemon.

use anyhow::{Context, Result};
use coordinator::config::CoordinatorConfig;
use pegnet::Network;
use prices::{Oracle, PricesConfig};
use std::path::PathBuf;

/// Arguments of `netcoordinator prices`: where the sources come from and which version to price.
#[derive(Debug, clap::Args)]
pub struct PricesArgs {
    /// Coordinator config: its `network` and `[prices]` section are used.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// mainnet, testnet or devnet (overrides the config).
    #[arg(long)]
    pub network: Option<Network>,
    /// OPR version to price (default: the version in force now on the network).
    #[arg(long, value_name = "V", value_parser = clap::value_parser!(u8).range(1..=5))]
    pub version: Option<u8>,
    /// Take prices only from this file instead of the config's sources.
    #[arg(long, value_name = "FILE")]
    pub prices: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `netcoordinator prices`: polls once, prints the report (text or JSON) and fails when
/// the record's prices could not be built.
pub fn run(a: &PricesArgs) -> Result<()> {
    let mut cfg = match &a.config {
        Some(p) => CoordinatorConfig::load(p)?,
        None => CoordinatorConfig::default(),
    };
    if let Some(n) = &a.network {
        cfg.network = *n;
    }
    if let Some(f) = &a.prices {
        cfg.prices = PricesConfig::fixed_only(f.clone());
    }
    let network = cfg.network;
    let version = a.version.unwrap_or_else(|| network.version(u32::MAX));
    let oracle = Oracle::new(cfg.prices.plan(network)?).context("starting the price oracle")?;
    let report = tokio::runtime::Runtime::new()?.block_on(oracle.poll(version));
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.table());
    }
    let prices = report.record_prices()?;
    if !a.json {
        println!(
            "\n{network}: an OPR version {version} record can be built ({} prices)",
            prices.len()
        );
    }
    Ok(())
}
