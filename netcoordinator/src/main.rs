//! `netcoordinator`: the PegNet farm coordinator daemon, plus `relay` (a site's coordinator that
//! forwards to a primary), `status` (the running daemon's API as tables), `devnet` (everything in
//! one process), `grade` (grade a block file), `prices` (poll the price sources once),
//! `check-config`, `gen-secret` and `tls-fingerprint`.

mod check_config_cmd;
mod control_cmd;
mod grade_cmd;
mod miners_cmd;
mod prices_cmd;
mod relay_cmd;
mod settings;
mod status_cmd;

use anyhow::Context;
use clap::{Parser, Subcommand};
use coordinator::config::{Environment, Role};
use std::path::PathBuf;

/// The PegNet farm coordinator. Without a subcommand it runs the coordinator daemon.
#[derive(Debug, Parser)]
#[command(
    name = "netcoordinator",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    /// More log output (-v debug, -vv trace). `RUST_LOG` overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: settings::DaemonFlags,
}

/// Runs the daemon (or, with `--check-config`, only checks its settings).
fn run_daemon(flags: settings::DaemonFlags) -> anyhow::Result<()> {
    let check_only = flags.listener.check_config;
    let file = flags.listener.config.clone();
    let cfg = settings::resolve_daemon(flags, &Environment::from_process())?;
    if check_only {
        return settings::check(&cfg, Role::Coordinator, file.as_deref());
    }
    netmine_cli::warn_if_secret_flag();
    // The same checks as --check-config, before anything starts.
    cfg.validate()?;
    netmine_cli::raise_fd_limit_logged();
    let listen = cfg.listen_addr()?;
    tokio::runtime::Runtime::new()?.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("listening for miners on {listen}"))?;
        coordinator::daemon::run(cfg, listener, netmine_cli::shutdown_signal()).await
    })
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process; boxing would only obscure clap's derive
enum Command {
    /// Grade a block of OPR entries (JSON in the test-data shape) and print the result as JSON.
    Grade(grade_cmd::GradeArgs),
    /// Run everything in one process on loopback: a simulated factomd, the coordinator and N
    /// netminers; mine K blocks, print a summary per block, grade them.
    #[cfg(feature = "devnet")]
    Devnet(DevnetArgs),
    /// Poll the configured price sources once and print every asset: value, source used, age,
    /// and which sources failed and why. Exits non-zero if the record could not be built.
    Prices(prices_cmd::PricesArgs),
    /// Load and validate a config as the daemon (or, with --relay, the relay) would, print the
    /// effective settings (secrets as ***), and exit 1 listing every problem found. Starts and
    /// contacts nothing. (`--check-config` on the daemon's or the relay's own command line does
    /// the same with every flag given there.)
    CheckConfig(check_config_cmd::CheckConfigArgs),
    /// Print a fresh random shared secret (32 bytes from the OS RNG, 64 hex digits) for
    /// `secret` in the configs or NETMINE_SECRET.
    GenSecret,
    /// Run a relay: a coordinator to its own miners, one link to an upstream coordinator that
    /// pays (no factomd, prices or EC key needed).
    Relay(settings::RelayFlags),
    /// The farm's roster: which box key is which identity (list, add, remove). Works on the data
    /// dir; a running coordinator picks the change up within seconds.
    Miners(miners_cmd::MinersArgs),
    /// Print the running coordinator's status and miners as tables (from its HTTP API; the
    /// same as GET /api/status and /api/miners).
    Status(status_cmd::StatusArgs),
    /// Print the fingerprint (sha256:<hex> of the DER certificate) miners pin with
    /// --tls-fingerprint: of the data dir's self-signed certificate, or of --tls-cert.
    TlsFingerprint(TlsFingerprintArgs),
}

/// Arguments of `netcoordinator tls-fingerprint`.
#[derive(Debug, clap::Args)]
struct TlsFingerprintArgs {
    /// The daemon's config (its data_dir, tls_cert).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The daemon's data dir (default: the config's, else ~/.netmine).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// The operator's own certificate (PEM) instead of the self-signed one.
    #[arg(long, value_name = "FILE")]
    tls_cert: Option<PathBuf>,
}

fn tls_fingerprint(a: &TlsFingerprintArgs) -> anyhow::Result<()> {
    let c = coordinator::config::CoordinatorConfig::load_or_default(a.config.as_deref())?;
    let fp = match a.tls_cert.as_ref().or(c.tls_cert.as_ref()) {
        Some(cert) => coordinator::tls::fingerprint_of_file(cert)?,
        None => {
            let dir = match &a.data_dir {
                Some(d) => d.clone(),
                None => c.data_dir()?,
            };
            coordinator::tls::data_dir_fingerprint(&dir)?
        }
    };
    println!("{fp}");
    Ok(())
}

/// Arguments of `netcoordinator devnet`; they become [`netcoordinator::devnet::DevnetOptions`].
#[cfg(feature = "devnet")]
#[derive(Debug, clap::Args)]
struct DevnetArgs {
    /// Netminers to run (each with its own identity and coinbase).
    #[arg(long, default_value_t = 2)]
    miners: usize,
    /// Blocks to mine and grade before exiting.
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
    /// Serve the dashboard and API on this loopback address while the devnet runs (e.g.
    /// 127.0.0.1:7780).
    #[arg(long, value_name = "ADDR")]
    http: Option<std::net::SocketAddr>,
}

#[cfg(feature = "devnet")]
fn devnet(args: &DevnetArgs) -> anyhow::Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let json = args.json;
    let opts = netcoordinator::devnet::DevnetOptions {
        miners: args.miners,
        blocks: args.blocks,
        block_seconds: args.block_seconds,
        bits: args.bits,
        table_dir: args.table_dir.clone(),
        threads: args.threads,
        http: args.http,
    };
    if !json {
        println!(
            "devnet: {} miners, {} blocks of {} s, {}-bit table",
            args.miners, args.blocks, args.block_seconds, args.bits
        );
    }
    rt.block_on(netcoordinator::devnet::run(opts, |b| {
        if json {
            println!("{}", serde_json::to_string(b).unwrap_or_default());
        } else {
            let s = &b.summary.block;
            println!(
                "block {}: {} miners, {}, records {} received / {} verified, {} entries paid, EC left {}",
                s.height,
                s.miners,
                protocol::format_rate(s.hash_rate),
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
                b.graded_records,
                s.our_winners.len(),
                s.winners.len()
            );
        }
    }))?;
    Ok(())
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    netmine_cli::init_logging(cli.verbose);
    let result = match cli.command {
        Some(Command::Grade(args)) => grade_cmd::run(&args),
        #[cfg(feature = "devnet")]
        Some(Command::Devnet(args)) => devnet(&args),
        Some(Command::Prices(args)) => prices_cmd::run(&args),
        Some(Command::CheckConfig(args)) => check_config_cmd::run(&args),
        Some(Command::Status(args)) => status_cmd::run(&args),
        Some(Command::Miners(args)) => miners_cmd::run(args),
        Some(Command::Relay(args)) => relay_cmd::run(args),
        Some(Command::TlsFingerprint(args)) => tls_fingerprint(&args),
        Some(Command::GenSecret) => {
            println!("{}", protocol::Secret::generate_text());
            Ok(())
        }
        None => run_daemon(cli.run),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
