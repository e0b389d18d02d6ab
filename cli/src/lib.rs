//! # netmine-cli
//!
//! The pieces every netmine binary (`netcoordinator`, `netminer`, `factomd-sim`, `prices-fixture`)
//! shares on the command line, so each is written once:
//!
//! * [`init_logging`]: logs to stderr at `info`, `debug` (`-v`) or `trace` (`-vv`), with
//!   `RUST_LOG` taking precedence when set;
//! * [`TableFlags`]: `--bits` and `--table-dir`, choosing the LXRHash table, and
//!   [`TableFlags::open`], which loads (or builds) it;
//! * [`warn_if_secret_flag`]: the warning that `--secret` shows the farm secret to other users;
//! * [`reference`]: the command-line reference in `docs/cli/`, generated from each binary's
//!   `--help` and checked by its crate's `cli_reference` test.

pub mod reference;

use anyhow::{Context, Result};
use hashcore::{Table, TableReport};
use std::path::PathBuf;
use std::sync::Arc;

/// Sets up logging to stderr for a binary. `verbose` is how many `-v` flags were given: 0 logs
/// `info` and above, 1 `debug`, 2 or more `trace`. A `RUST_LOG` filter in the environment
/// (e.g. `RUST_LOG=coordinator=trace`) overrides the flag.
pub fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colours only on a terminal (a log file or journald gets plain text), and never with
    // NO_COLOR set (https://no-color.org).
    use std::io::IsTerminal;
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    // `try_init`: a second call (two binaries' set-up in one test process) keeps the first.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// Which LXRHash table to use: flatten it into a command's arguments with
/// `#[command(flatten)]`.
#[derive(Debug, clap::Args, Clone, Default)]
pub struct TableFlags {
    /// Table size in bits, 8..=30. Default: LXRBITSIZE if set, else 30 (the only size the
    /// network accepts; smaller tables are for tests and the devnet).
    #[arg(long, value_name = "N")]
    pub bits: Option<u32>,

    /// Directory of the table cache. Default: ~/.lxrhash (shared with PegNet's Go tools).
    #[arg(long, value_name = "DIR")]
    pub table_dir: Option<PathBuf>,
}

impl TableFlags {
    /// Loads the table these flags choose from its cache, building and caching it first when
    /// there is no valid copy (see `hashcore::cache::open`).
    pub fn open(&self) -> Result<(Arc<Table>, TableReport)> {
        hashcore::cache::open(self.bits, self.table_dir.clone())
            .context("getting the LXRHash table")
    }
}

/// Logs a warning when the farm secret was given as `--secret` on the command line: every local
/// user can read it from the process list. `NETMINE_SECRET` or the config file keep it private.
/// Returns whether it warned.
pub fn warn_if_secret_flag() -> bool {
    let given = std::env::args_os().any(|a| {
        let a = a.to_string_lossy();
        a == "--secret" || a.starts_with("--secret=")
    });
    if given {
        tracing::warn!("--secret shows the farm secret to every local user (process list): prefer NETMINE_SECRET or `secret` in the config file");
    }
    given
}

/// The end of a `check-config` command: `config ok` on stdout when `problems` is empty, else
/// each problem on stderr and an error naming the file and how many there are (exit code 1).
pub fn report_problems(config: &std::path::Path, problems: &[String]) -> Result<()> {
    if problems.is_empty() {
        println!("# {}: config ok", config.display());
        return Ok(());
    }
    for p in problems {
        eprintln!("problem: {p}");
    }
    anyhow::bail!("{}: {} problem(s) found", config.display(), problems.len())
}
