//! `netmine-load`: how big one coordinator gets. It starts the coordinator's miners' side (the real
//! listener and hub, with its table) as a child process, connects N authenticated protocol clients
//! that do no hashing, each with its own identity, and runs rounds of a block's broadcasts:
//!
//! 1. `job`, then a `minute`: the latency from the coordinator's send to each client's receipt;
//! 2. `stop` (minute 9): every client submits its records (valid, found before the clock started,
//!    so the time measured is the coordinator's) and the time until the hub has verified all
//!    N × records of them, on its rayon pool, is measured against the submit window;
//! 3. the coordinator's memory (`VmRSS`, `VmHWM`) and CPU time, read from `/proc/<child>`.
//!
//! ```text
//! cargo run --release -p netmine-benches --bin netmine-load -- --miners 100,1000,5000 --rounds 5
//! ```
//!
//! With `--relays R` the clients are spread over R `netcoordinator relay` processes linked to
//! the coordinator (see `relays.rs`): the figures are end to end, and each relay's memory and CPU
//! are reported beside the coordinator's. `netmine-load verify` times minute 9's verification
//! alone (see `verify.rs`).
//!
//! Clients and coordinator share the machine: on a small box the clients' own work (reading and
//! checking N frames per broadcast) is part of the latency measured.

mod clients;
mod drive;
mod relays;
mod report;
mod serve;
mod verify;

use anyhow::Result;
use clap::{Parser, Subcommand};
use pegnet::{Network, OprTemplate};
use std::path::PathBuf;

/// The farm secret of the benchmark (every process).
pub(crate) const SECRET: &str = "netmine-load-benchmark-secret";
/// The secret the relays link to the primary with (`--relays`).
pub(crate) const RELAY_SECRET: &str = "netmine-load-benchmark-relay-secret";
/// Valid coinbases the clients alternate between.
pub(crate) const COINBASES: [&str; 2] = [
    "FA2jK2HcLnRdS94dEcU27rF3meoJfpUcZPSinpb7AwQvPRY6RL1Q",
    "FA1zT4aFpEvcnPqPCigB3fvGu4Q4mTXY22iiuV69DqE1pNhdF2MC",
];
/// The height of the benchmark's block.
pub(crate) const HEIGHT: u32 = 77;

/// The benchmark's job: a devnet record with every price set.
pub(crate) fn template() -> OprTemplate {
    OprTemplate {
        network: Network::DevNet,
        height: HEIGHT,
        winners: vec![String::new(); 25],
        prices: (1..=62).map(|k| k * 1000).collect(),
    }
}

/// Wall-clock time in ns since the epoch (both processes read the same clock).
pub(crate) fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Load generator for one coordinator: broadcast latency, memory, CPU and verification time with
/// N miners.
#[derive(Debug, Parser)]
#[command(name = "netmine-load", args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    load: LoadArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The coordinator child (started by netmine-load itself).
    #[command(hide = true)]
    Serve(serve::ServeArgs),
    /// Minute 9's verification alone: records hashed one at a time and batched, side by side.
    Verify(verify::VerifyArgs),
}

/// What to measure.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct LoadArgs {
    /// Miner counts to measure, one fresh coordinator each.
    #[arg(long, value_delimiter = ',', default_value = "100,1000,5000")]
    miners: Vec<usize>,
    /// Rounds (job, minute, stop, submissions) per miner count; the figures are their medians.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Table size in bits (20: 1 MiB; 30 is the network's 1 GiB table).
    #[arg(long, default_value_t = 20)]
    bits: u32,
    /// Table cache directory (default ~/.lxrhash).
    #[arg(long, value_name = "DIR")]
    table_dir: Option<PathBuf>,
    /// Records each miner submits at stop (the coordinator's default `records_per_miner` is 3).
    #[arg(long, default_value_t = 3)]
    records: usize,
    /// The coordinator's verification threads (0: one per CPU, its default).
    #[arg(long, default_value_t = 0)]
    verify_threads: usize,
    /// Clients handshaking at once while connecting.
    #[arg(long, default_value_t = 128)]
    connect_concurrency: usize,
    /// Relays (`netcoordinator relay` processes) between the coordinator and the clients, which
    /// are spread over them (0: the clients connect to the coordinator directly).
    #[arg(long, default_value_t = 0)]
    relays: usize,
    /// The `netcoordinator` binary the relays run (default: the one beside netmine-load).
    #[arg(long, value_name = "FILE")]
    relay_bin: Option<PathBuf>,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Serve(a)) => return serve::run(a),
        Some(Command::Verify(a)) => return verify::run(a),
        None => {}
    }
    let a = cli.load;
    let _ = netmine_cli::raise_fd_limit();
    let (table, _) = hashcore::cache::open(Some(a.bits), a.table_dir.clone())?;
    let rt = tokio::runtime::Runtime::new()?;
    let mut all = Vec::new();
    for &n in &a.miners {
        all.push(rt.block_on(drive::run(&a, n, &table))?);
    }
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let via = match a.relays {
        0 => String::new(),
        r => format!(", through {r} relays"),
    };
    println!(
        "netmine-load: {}-bit table, {} records per miner, {} rounds (medians over the rounds), {cores} CPUs{via}",
        a.bits, a.records, a.rounds
    );
    println!(
        "command: netmine-load {}",
        std::env::args().skip(1).collect::<Vec<_>>().join(" ")
    );
    println!();
    println!("{}", report::summary_header());
    for f in &all {
        println!("{}", f.summary_row());
    }
    println!();
    for f in &all {
        print!("{}", f.detail());
    }
    for f in &all {
        let t = f.relay_table();
        if !t.is_empty() {
            println!();
            print!("{t}");
        }
    }
    Ok(())
}
