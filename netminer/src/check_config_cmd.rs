//! `netminer check-config --config FILE`: the settings of that file (with the environment laid
//! over it, as the miner does) checked by the same code the miner runs at start. Loads no table
//! and connects to nothing. (`netminer --check-config …` does the same with every flag given.)

use crate::cli::{CheckConfigArgs, MineArgs};
use crate::settings;
use anyhow::Result;
use netminer::config::Environment;

/// Prints the effective settings and `config ok`, or every problem (and exits non-zero).
pub fn run(args: &CheckConfigArgs) -> Result<()> {
    let flags = MineArgs {
        config: Some(args.config.clone()),
        ..Default::default()
    };
    let f = settings::resolve(flags, &Environment::from_process())?;
    settings::check(&f, Some(&args.config))
}
