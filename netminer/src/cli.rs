//! Command-line interface.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Headless PegNet network miner.
#[derive(Debug, Parser)]
#[command(name = "netminer", version, about)]
pub struct Cli {
    /// More log output (-v debug, -vv trace). `RUST_LOG` overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build or load the LXRHash table and print its path, size, sha256 and huge-page share.
    Table(TableArgs),
    /// Print the LXRHash of each hex input (arguments, or one per stdin line).
    Hash(HashArgs),
    /// Measure the hash rate and print a checksum that must match on every box and backend.
    Bench(BenchArgs),
}

/// Which table to use; shared by every subcommand.
#[derive(Debug, Args, Clone)]
pub struct TableFlags {
    /// Table size in bits, 8..=30. Default: LXRBITSIZE if set, else 30 (the only size the
    /// network accepts).
    #[arg(long, value_name = "N")]
    pub bits: Option<u32>,

    /// Directory of the table cache. Default: ~/.lxrhash (shared with PegNet's Go tools).
    #[arg(long, value_name = "DIR")]
    pub table_dir: Option<PathBuf>,
}

/// `netminer table`.
#[derive(Debug, Args)]
pub struct TableArgs {
    #[command(flatten)]
    pub table: TableFlags,
}

/// `netminer hash`.
#[derive(Debug, Args)]
pub struct HashArgs {
    #[command(flatten)]
    pub table: TableFlags,

    /// Inputs as hex (empty string = empty input). Without any, one input per stdin line.
    #[arg(value_name = "HEX")]
    pub inputs: Vec<String>,
}

/// `netminer bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub table: TableFlags,

    /// Hashing threads. Default: one per logical CPU.
    #[arg(long, short = 't', value_name = "T")]
    pub threads: Option<usize>,

    /// Seconds to measure (after a short warm-up).
    #[arg(long, short = 's', value_name = "S", default_value_t = 10.0)]
    pub seconds: f64,

    /// Also measure the machine's random-read ceiling and report the hash rate as a share of it.
    #[arg(long)]
    pub ceiling: bool,

    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}
