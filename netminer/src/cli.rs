//! netminer's command line (clap): the mining flags, the backend flags shared by every command
//! that hashes, and the `table`, `hash` and `bench` tools. The doc comments of fields and
//! variants are the `--help` text.

use clap::{Args, Parser, Subcommand};
pub use netmine_cli::TableFlags;
pub use netminer::config::{BackendKind, TableSource};
use secrecy::SecretString;
use std::path::PathBuf;

/// Headless PegNet network miner. Without a subcommand it mines for a coordinator.
#[derive(Debug, Parser)]
#[command(
    name = "netminer",
    version,
    about,
    arg_required_else_help = true,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// More log output (-v debug, -vv trace). `RUST_LOG` overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// List OpenCL platforms and devices (memory, max allocation, compute units) and exit.
    #[arg(long)]
    pub list_devices: bool,

    /// A tool to run instead of mining (`table`, `hash` or `bench`).
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub mine: MineArgs,
}

/// Mining for a coordinator (no subcommand). Each flag sets the config key of the same name and
/// overrides the file and the environment.
#[derive(Debug, Args, Default)]
pub struct MineArgs {
    /// TOML config (see config/netminer.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Coordinators, preferred first: host:1234[,host2:1234…] (ws:// or wss:// URLs too).
    #[arg(long, value_name = "ADDRS", value_delimiter = ',')]
    pub caddr: Option<Vec<String>>,

    /// The farm's shared secret. Prefer NETMINE_SECRET or the config file: a flag shows in the
    /// process list.
    #[arg(long, value_name = "SECRET")]
    pub secret: Option<SecretString>,

    /// Trust a wss:// coordinator only with exactly this certificate: sha256:<hex>, as
    /// `netcoordinator tls-fingerprint` prints it (comma-separated for several).
    #[arg(long, value_name = "sha256:HEX", value_delimiter = ',')]
    pub tls_fingerprint: Option<Vec<String>>,

    /// Trust wss:// coordinators whose certificate these CAs (PEM) vouch for, instead of the
    /// system's roots.
    #[arg(long, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,

    /// CPU hashing threads (default: one per logical CPU). `--miners` is PegNet's name for it.
    #[arg(long, value_name = "N", alias = "miners")]
    pub threads: Option<usize>,

    /// Records to submit per block (default 3).
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,

    /// This box's identity in its records (letters, digits, commas; unique per box).
    #[arg(long)]
    pub identity: Option<String>,

    /// FA address receiving this box's rewards.
    #[arg(long)]
    pub coinbase: Option<String>,

    /// The newest protocol version to speak (default: this build's newest); 1 connects as a
    /// version-1 build does, to rehearse a farm's upgrade.
    #[arg(long, value_name = "N")]
    pub protocol_version: Option<u32>,

    /// Seconds between the stats lines in the log (default 900; also written at shutdown).
    #[arg(long, value_name = "S", alias = "stats-interval")]
    pub stats_interval_secs: Option<f64>,

    /// Where a table missing from the cache comes from: copied from the coordinator (then
    /// generated if none serves it), or generated here.
    #[arg(long, value_enum, value_name = "SOURCE")]
    pub table_source: Option<TableSource>,

    /// Where the box keeps its signing key, box.key (default ~/.netmine).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Print the effective settings (the secret as ***) and every problem, then exit (1 if there
    /// is one); loads no table and connects to nothing.
    #[arg(long)]
    pub check_config: bool,

    #[command(flatten)]
    pub table: TableFlags,

    #[command(flatten)]
    pub backend: BackendFlags,

    #[command(flatten)]
    pub gpu: GpuHealthFlags,
}

/// The GPU watchdog and temperature limit (OpenCL devices; see docs/mining.md, GPU health).
#[derive(Debug, Args, Clone, Default)]
pub struct GpuHealthFlags {
    /// Seconds an OpenCL device may return no results while a job runs before it is
    /// reinitialized. Default: 30.
    #[arg(long, value_name = "SECS")]
    pub gpu_stall_secs: Option<f64>,

    /// Restarts of one device within an hour after which it is taken out of the rotation
    /// (0: at its first stall). Default: 3.
    #[arg(long, value_name = "N")]
    pub gpu_max_restarts: Option<u32>,

    /// Pause an OpenCL device at this temperature (°C) until it is 10 °C cooler. Default: no
    /// limit.
    #[arg(long, value_name = "CELSIUS")]
    pub gpu_temp_limit: Option<f64>,
}

/// Backend selection, shared by every command that hashes.
#[derive(Debug, Args, Clone, Default)]
pub struct BackendFlags {
    /// Where to hash: CPU threads (default), OpenCL devices, or both.
    #[arg(long, value_enum)]
    pub backend: Option<BackendKind>,

    /// OpenCL platform, by index or (part of its) name. Default: all platforms.
    #[arg(long, value_name = "INDEX|NAME")]
    pub opencl_platform: Option<String>,

    /// OpenCL devices of that platform, by index (comma-separated). Default: all.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub opencl_devices: Option<Vec<usize>>,

    /// Work items per OpenCL launch. Default: autotuned to ~200 ms per launch.
    #[arg(long, value_name = "N")]
    pub opencl_workload: Option<usize>,
}

/// The tools netminer runs instead of mining.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build or load the LXRHash table and print its path, size, sha256 and huge-page share.
    Table(TableArgs),
    /// Print the LXRHash of each hex input (arguments, or one per stdin line).
    Hash(HashArgs),
    /// Measure the hash rate and print a checksum that must match on every box and backend.
    Bench(BenchArgs),
    /// Load and validate a miner config, print the effective settings (the secret as ***), and
    /// exit 1 listing every problem found. Loads no table and connects to nothing.
    CheckConfig(CheckConfigArgs),
    /// Print this box's public key (ed25519:…), making the key first if there is none: the line
    /// the coordinator's operator adds with `netcoordinator miners add IDENTITY KEY`.
    Key(KeyArgs),
}

/// Arguments of `netminer table`: only which table to build or load.
#[derive(Debug, Args)]
pub struct TableArgs {
    #[command(flatten)]
    pub table: TableFlags,
}

/// Arguments of `netminer hash`: which table, and the inputs to hash.
#[derive(Debug, Args)]
pub struct HashArgs {
    #[command(flatten)]
    pub table: TableFlags,

    /// Inputs as hex (empty string = empty input). Without any, one input per stdin line.
    #[arg(value_name = "HEX")]
    pub inputs: Vec<String>,
}

/// Arguments of `netminer bench`: which table and backend, how many threads, for how long.
#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub table: TableFlags,

    #[command(flatten)]
    pub backend: BackendFlags,

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

/// `netminer check-config`.
#[derive(Debug, Args)]
pub struct CheckConfigArgs {
    /// The config file to check (see config/netminer.toml).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
}

/// `netminer key`.
#[derive(Debug, Args)]
pub struct KeyArgs {
    /// The miner's config, for its data_dir (and identity, for the hint).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// The data dir holding box.key (default: the config's, else ~/.netmine).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}
