//! `netcoordinator`: the PegNet farm coordinator daemon, plus `relay` (a site's coordinator that
//! forwards to a primary), `status` (the running daemon's API as tables), `devnet` (everything in
//! one process), `grade` (grade a block file), `prices` (poll the price sources once),
//! `check-config`, `gen-secret` and `tls-fingerprint`.

mod block_file;
mod check_config_cmd;
mod grade_cmd;
mod prices_cmd;
mod relay_cmd;
mod status_cmd;

use clap::{Parser, Subcommand};
use secrecy::SecretString;
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
    run: RunArgs,
}

/// The daemon's flags; each overrides the config file.
#[derive(Debug, clap::Args)]
struct RunArgs {
    /// TOML config (see config/netcoordinator.toml).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Listen address for miners (`:1234` = every interface).
    #[arg(long, value_name = "ADDR")]
    caddr: Option<String>,
    /// factomd address (host:port or URL).
    #[arg(long, value_name = "URL")]
    factomd: Option<String>,
    /// The farm's shared secret (also NETMINE_SECRET).
    #[arg(long, env = "NETMINE_SECRET", hide_env_values = true)]
    secret: Option<SecretString>,
    /// Run without miner authentication (only on a loopback --caddr; logged as a warning).
    #[arg(long)]
    no_auth: bool,
    /// Serve miners over TLS (wss://) with a self-signed certificate generated once into the
    /// data dir; its fingerprint is logged (and printed by `tls-fingerprint`).
    #[arg(long)]
    tls: bool,
    /// TLS with your own certificate (chain), PEM (with --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert, PEM.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// mainnet, testnet or devnet.
    #[arg(long)]
    network: Option<pegnet::Network>,
    /// Take prices only from this file (TOML `[prices]` TICKER = USD), instead of the
    /// `[prices]` sources of the config.
    #[arg(long, value_name = "FILE")]
    prices: Option<PathBuf>,
    /// Store directory (default ~/.netmine).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// LXRHash table size in bits (default: the config's `bits`, else LXRBITSIZE, else 30; only
    /// 30 is valid on the network).
    #[arg(long, value_name = "N")]
    bits: Option<u32>,
    /// LXRHash table cache directory.
    #[arg(long, value_name = "DIR")]
    table_dir: Option<PathBuf>,
    /// Entries paid per block at most.
    #[arg(long, value_name = "N")]
    max_entries: Option<usize>,
    /// Of those, at most N paying any one coinbase (payout address); default: no limit.
    #[arg(long, value_name = "N")]
    max_entries_per_coinbase: Option<usize>,
    /// Records each miner may submit per block.
    #[arg(long, value_name = "N")]
    records_per_miner: Option<usize>,
    /// Authenticated miners connected at once.
    #[arg(long, value_name = "N")]
    max_connections: Option<usize>,
    /// Handshakes in progress at once (sockets not yet authenticated); when full the oldest of
    /// the address holding the most is dropped.
    #[arg(long, value_name = "N")]
    max_pending: Option<usize>,
    /// Handshakes in progress from one address at once.
    #[arg(long, value_name = "N")]
    max_pending_per_address: Option<usize>,
    /// Seconds a socket has to upgrade to WebSocket and authenticate.
    #[arg(long, value_name = "S")]
    handshake_timeout: Option<f64>,
    /// Failed handshakes from one address before it is banned.
    #[arg(long, value_name = "N")]
    ban_after: Option<u32>,
    /// Seconds a ban lasts.
    #[arg(long, value_name = "S")]
    ban_secs: Option<f64>,
    /// The winner list in force for the block before the first one planned, comma-separated
    /// short hashes: used instead of recovering it when there is no history.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    previous_winners: Option<Vec<String>>,
    /// Seconds after minute 9 to collect submissions (default: a third of factomd's minute, at
    /// most 20; a window that leaves no time to pay is refused).
    #[arg(long, value_name = "S")]
    submit_window: Option<f64>,
    /// The operators' HTTP API, metrics and dashboard: HOST:PORT, :PORT or `off` (default
    /// 127.0.0.1:7780). Beyond loopback it needs --http-token.
    #[arg(long, value_name = "ADDR")]
    http: Option<String>,
    /// The token every HTTP request must then carry (Bearer, or a browser's Basic password).
    #[arg(long, env = "NETMINE_HTTP_TOKEN", hide_env_values = true)]
    http_token: Option<SecretString>,
    /// Days of per-block history kept in the store (0: forever; default 30).
    #[arg(long, value_name = "DAYS")]
    history_days: Option<u32>,
    /// Seconds between stats lines in the log (default 900).
    #[arg(long, value_name = "S")]
    stats_interval: Option<f64>,
    /// Table copies served to miners at once (default 2; 0 never serves the table).
    #[arg(long, value_name = "N")]
    max_table_transfers: Option<usize>,
    /// Relays allowed to forward their miners' records here: their --name, comma-separated.
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    relays: Option<Vec<String>>,
    /// The secret relays authenticate with instead of the farm secret (also
    /// NETMINE_RELAY_SECRET), so a mining box cannot pass for a relay.
    #[arg(long, env = "NETMINE_RELAY_SECRET", hide_env_values = true)]
    relay_secret: Option<SecretString>,
}

fn run_daemon(a: RunArgs) -> anyhow::Result<()> {
    netmine_cli::warn_if_secret_flag();
    let mut c = match &a.config {
        Some(p) => coordinator::config::CoordinatorConfig::load(p)?,
        None => coordinator::config::CoordinatorConfig::default(),
    };
    macro_rules! over {
        ($($f:ident),*) => { $( if let Some(v) = a.$f { c.$f = v; } )* };
    }
    over!(
        caddr,
        factomd,
        network,
        max_entries,
        records_per_miner,
        max_connections,
        max_pending,
        max_pending_per_address,
        ban_after,
        ban_secs,
        http,
        history_days,
        max_table_transfers,
        relays
    );
    if a.http_token.is_some() {
        c.http_token = a.http_token;
    }
    if a.relay_secret.is_some() {
        c.relay_secret = a.relay_secret;
    }
    if let Some(s) = a.stats_interval {
        c.stats_interval_secs = s;
    }
    if let Some(s) = a.handshake_timeout {
        c.handshake_timeout_secs = s;
    }
    if a.secret.is_some() {
        c.secret = a.secret;
    }
    c.no_auth |= a.no_auth;
    c.tls |= a.tls;
    if a.tls_cert.is_some() {
        c.tls_cert = a.tls_cert;
        c.tls_key = a.tls_key;
    }
    if let Some(file) = a.prices {
        c.prices = prices::PricesConfig::fixed_only(file);
    }
    if a.data_dir.is_some() {
        c.data_dir = a.data_dir;
    }
    if a.bits.is_some() {
        c.bits = a.bits;
    }
    if a.table_dir.is_some() {
        c.table_dir = a.table_dir;
    }
    if a.max_entries_per_coinbase.is_some() {
        c.max_entries_per_coinbase = a.max_entries_per_coinbase;
    }
    if a.previous_winners.is_some() {
        c.previous_winners = a.previous_winners;
    }
    if a.submit_window.is_some() {
        c.submit_window_secs = a.submit_window;
    }
    tokio::runtime::Runtime::new()?.block_on(coordinator::daemon::run(c))
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Grade a block of OPR entries (JSON in the test-data shape) and print the result as JSON.
    Grade(grade_cmd::GradeArgs),
    /// Run everything in one process on loopback: a simulated factomd, the coordinator and N
    /// netminers; mine K blocks, print a summary per block, grade them.
    Devnet(DevnetArgs),
    /// Poll the configured price sources once and print every asset: value, source used, age,
    /// and which sources failed and why. Exits non-zero if the record could not be built.
    Prices(prices_cmd::PricesArgs),
    /// Load and validate a config as the daemon would, print the effective settings (secrets as
    /// ***), and exit 1 listing every problem found. Starts and contacts nothing.
    CheckConfig(check_config_cmd::CheckConfigArgs),
    /// Print a fresh random shared secret (32 bytes from the OS RNG, 64 hex digits) for
    /// `secret` in the configs or NETMINE_SECRET.
    GenSecret,
    /// Run a relay: a coordinator to its own miners, one link to an upstream coordinator that
    /// pays (no factomd, prices or EC key needed).
    Relay(relay_cmd::RelayArgs),
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
    let c = match &a.config {
        Some(p) => coordinator::config::CoordinatorConfig::load(p)?,
        None => coordinator::config::CoordinatorConfig::default(),
    };
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
        Some(Command::Devnet(args)) => devnet(&args),
        Some(Command::Prices(args)) => prices_cmd::run(&args),
        Some(Command::CheckConfig(args)) => check_config_cmd::run(&args),
        Some(Command::Status(args)) => status_cmd::run(&args),
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
