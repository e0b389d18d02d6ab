//! `netcoordinator check-config --config FILE [--relay]`: the settings of that file (with the
//! environment laid over it, as the program does) checked for the daemon or the relay, by the
//! same code the program runs at start. Nothing is started and nothing is contacted.

use crate::settings;
use anyhow::Result;
use coordinator::config::{Environment, Role};
use std::path::PathBuf;

/// Arguments of `netcoordinator check-config`.
#[derive(Debug, clap::Args)]
pub struct CheckConfigArgs {
    /// The config file to check (see config/netcoordinator.toml).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Check it as a relay's settings (`netcoordinator relay`) instead of the daemon's.
    #[arg(long)]
    pub relay: bool,
}

/// Prints the effective settings and `config ok`, or every problem (and exits non-zero).
pub fn run(args: &CheckConfigArgs) -> Result<()> {
    let env = Environment::from_process();
    let (cfg, role) = if args.relay {
        let mut f = settings::RelayFlags::default();
        f.listener.config = Some(args.config.clone());
        (settings::resolve_relay(f, &env)?, Role::Relay)
    } else {
        let mut f = settings::DaemonFlags::default();
        f.listener.config = Some(args.config.clone());
        (settings::resolve_daemon(f, &env)?, Role::Coordinator)
    };
    settings::check(&cfg, role, Some(&args.config))
}
