//! `netcoordinator check-config --config FILE`: load and validate a config the way the daemon
//! would, print the effective settings (every secret as `***`) and exit 1 listing every problem.
//! Nothing is started and nothing is contacted.

use anyhow::Result;
use coordinator::config::CoordinatorConfig;
use std::path::PathBuf;

/// Arguments of `netcoordinator check-config`.
#[derive(Debug, clap::Args)]
pub struct CheckConfigArgs {
    /// The config file to check (see config/netcoordinator.toml).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
}

/// Prints the effective settings and `config ok`, or every problem (and exits non-zero).
pub fn run(args: &CheckConfigArgs) -> Result<()> {
    let mut cfg = CoordinatorConfig::load(&args.config)?;
    // The secrets the daemon would take from its environment count as set.
    if cfg.secret.is_none() {
        cfg.secret = env_secret("NETMINE_SECRET");
    }
    if cfg.ec_secret.is_none() {
        cfg.ec_secret = env_secret("NETMINE_EC_SECRET");
    }
    print!("{}", cfg.to_toml());
    let (problems, _) = cfg.problems();
    netmine_cli::report_problems(&args.config, &problems)
}

fn env_secret(name: &str) -> Option<secrecy::SecretString> {
    std::env::var(name)
        .ok()
        .filter(|s| !s.is_empty())
        .map(Into::into)
}
