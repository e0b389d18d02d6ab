//! `factomd-sim`: a simulated factomd for tests and the devnet.

use anyhow::{bail, Context, Result};
use clap::Parser;
use factom::{EcAddress, EcSecret};
use factomd_sim::{SimConfig, SimServer};
use std::net::SocketAddr;
use std::time::Duration;

/// A simulated factomd (JSON-RPC on /v2) with the PegNet OPR chains already created.
#[derive(Parser, Debug)]
#[command(name = "factomd-sim", version, about)]
struct Args {
    /// Address and port to listen on (factomd's own default port is 8088); clients use /v2.
    #[arg(long, default_value = "127.0.0.1:8088")]
    listen: SocketAddr,
    /// Seconds per directory block (a minute is a tenth of it). Fractions allowed.
    #[arg(long, default_value_t = 600.0)]
    block_seconds: f64,
    /// Height of the first block being built.
    #[arg(long, default_value_t = 300_000)]
    start_height: u32,
    /// Give an EC address credits: `EC…=CREDITS` (repeatable).
    #[arg(long = "fund-ec", value_name = "EC=CREDITS")]
    fund_ec: Vec<String>,
    /// Create a fresh EC key with this many credits and print its secret (for a local devnet).
    #[arg(long, value_name = "CREDITS")]
    fund_new: Option<i64>,
    /// Serve POST /sim/faults, which makes the node lie (long error texts, changed entries and
    /// entry blocks) for tests that run the simulator as a process. Off by default.
    #[arg(long)]
    faults_route: bool,
    /// More log output (-v: every call).
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
}

fn parse_funding(s: &str) -> Result<(EcAddress, i64)> {
    let (addr, credits) = s
        .split_once('=')
        .with_context(|| format!("--fund-ec {s:?}: expected EC…=CREDITS"))?;
    let addr: EcAddress = addr.parse().with_context(|| format!("--fund-ec {s:?}"))?;
    let credits: i64 = credits
        .trim()
        .parse()
        .with_context(|| format!("--fund-ec {s:?}: credits must be a whole number"))?;
    if credits < 0 {
        bail!("--fund-ec {s:?}: credits must not be negative");
    }
    Ok((addr, credits))
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    netmine_cli::init_logging(args.verbose);
    if !(args.block_seconds.is_finite() && args.block_seconds >= 0.1) {
        bail!("--block-seconds must be at least 0.1");
    }
    let mut funded = args
        .fund_ec
        .iter()
        .map(|s| parse_funding(s))
        .collect::<Result<Vec<_>>>()?;
    if let Some(credits) = args.fund_new {
        let key = EcSecret::generate();
        println!("funded new EC key {} with {credits} credits", key.public());
        println!(
            "its secret (give it to the coordinator): {}",
            key.to_secret_string()
        );
        funded.push((key.public(), credits));
    }
    let cfg = SimConfig {
        block_time: Duration::from_secs_f64(args.block_seconds),
        start_height: args.start_height,
        funded,
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let server = SimServer::serve_with(cfg, listener, args.faults_route)
        .with_context(|| format!("listening on {}", args.listen))?;
    println!("factomd-sim listening on {}/v2", server.url());
    if args.faults_route {
        println!("faults route: POST {}/sim/faults", server.url());
    }
    for names in factomd_sim::PREMADE_CHAINS {
        println!(
            "chain {} = {}",
            names.join("/"),
            hex::encode(factom::opr_chain_id(names[1]))
        );
    }
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    server.shutdown().await;
    Ok(())
}
