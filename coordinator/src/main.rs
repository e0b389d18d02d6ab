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
    /// Run everything in one process on loopback: a simulated factomd, the coordinator and N
    /// netminers; mine K blocks, print a summary per block, grade them.
    Devnet(DevnetArgs),
}

/// Arguments of `devnet`.
#[derive(Debug, clap::Args)]
struct DevnetArgs {
    /// Netminers to run (each with its own identity and coinbase).
    #[arg(long, default_value_t = 2)]
    miners: usize,
    /// Blocks to mine.
    #[arg(long, default_value_t = 3)]
    blocks: usize,
    /// Seconds per block (a Factom minute is a tenth of it).
    #[arg(long, default_value_t = 60.0)]
    block_seconds: f64,
    /// LXRHash table size (20 keeps the devnet light; the network uses 30).
    #[arg(long, default_value_t = 20)]
    bits: u32,
    /// Hashing threads per miner.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Table cache directory (default ~/.lxrhash).
    #[arg(long, value_name = "DIR")]
    table_dir: Option<PathBuf>,
    /// One JSON object per finished block instead of text.
    #[arg(long)]
    json: bool,
}

fn devnet(args: &DevnetArgs) -> anyhow::Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let json = args.json;
    let opts = coordinator::devnet::DevnetOptions {
        miners: args.miners,
        blocks: args.blocks,
        block_seconds: args.block_seconds,
        bits: args.bits,
        table_dir: args.table_dir.clone(),
        threads: args.threads,
    };
    if !json {
        println!(
            "devnet: {} miners, {} blocks of {} s, {}-bit table",
            args.miners, args.blocks, args.block_seconds, args.bits
        );
    }
    rt.block_on(coordinator::devnet::run(opts, |b| {
        if json {
            println!("{}", serde_json::to_string(b).unwrap_or_default());
        } else {
            let s = &b.summary;
            println!(
                "block {}: {} miners, {:.0} hashes/s, records {} received / {} verified, {} entries paid, EC left {}",
                s.height,
                s.miners,
                s.hash_rate,
                s.records_received,
                s.records_verified,
                s.entries_paid,
                s.ec_balance.map_or("?".into(), |b| b.to_string())
            );
            if !s.records_rejected.is_empty() {
                println!("  refused: {:?}", s.records_rejected);
            }
            println!(
                "  graded {} records; {} of the {} winners are ours",
                b.graded,
                b.our_winners.len(),
                b.winners.len()
            );
        }
    }))?;
    Ok(())
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
        Command::Devnet(args) => devnet(&args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
