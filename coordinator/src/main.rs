//! `netcoordinator`: the PegNet farm coordinator. For now it grades blocks (`grade`); the daemon
//! that drives miners arrives with the network protocol.

mod grade_cmd;

use coordinator::block_file;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// The PegNet farm coordinator.
#[derive(Debug, Parser)]
#[command(name = "netcoordinator", version, about)]
struct Cli {
    /// More log output (-v debug, -vv trace). `RUST_LOG` overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Grade a block of OPR entries (JSON in the test-data shape) and print the result as JSON.
    Grade(grade_cmd::GradeArgs),
}

/// Flags choosing the LXRHash table.
#[derive(Debug, clap::Args, Clone)]
pub struct TableFlags {
    /// Table size in bits (default: LXRBITSIZE, else 30; only 30 grades real blocks correctly).
    #[arg(long, value_name = "N")]
    pub bits: Option<u32>,
    /// Table cache directory (default ~/.lxrhash).
    #[arg(long, value_name = "DIR")]
    pub table_dir: Option<PathBuf>,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let default = match cli.verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default)),
        )
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    let result = match cli.command {
        Command::Grade(args) => grade_cmd::run(&args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
