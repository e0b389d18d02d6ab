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
//! * [`report_config`]: what every `check-config` prints (the effective settings, then `config
//!   ok` or each problem);
//! * [`shutdown_signal`] (Ctrl-C or SIGTERM) and [`raise_fd_limit`]: what a daemon process does
//!   that its library must not;
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
        let bits = hashcore::params::resolve_bits(self.bits)?;
        hashcore::cache::open_with_progress(Some(bits), self.table_dir.clone(), progress_bar(bits))
            .context("getting the LXRHash table")
    }
}

/// A progress bar with an ETA for generating a `bits`-bit table, when stderr is a terminal (a
/// service's log gets the cache's line every 10 % instead).
pub fn progress_bar(bits: u32) -> Option<hashcore::Progress> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(0);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "building LXRHash table ({msg}) [{elapsed_precise}] [{wide_bar}] {percent}% ETA {eta}",
    ) {
        bar.set_style(style);
    }
    bar.set_message(format!("{bits} bits"));
    Some(Arc::new(move |done, total| {
        bar.set_length(total);
        bar.set_position(done);
        if done >= total {
            bar.finish_and_clear();
        }
    }))
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

/// What a `check-config` command prints, for every binary alike: the effective settings
/// (`settings`, TOML with every secret already shown as `***`) on stdout, then `config ok` when
/// `problems` is empty, else each problem on stderr and an error naming where the settings came
/// from (`source`: the config file, or a phrase such as "the miner's settings" when there is
/// none) and how many problems there are (exit code 1).
pub fn report_config(settings: &str, source: &str, problems: &[String]) -> Result<()> {
    print!("{settings}");
    if problems.is_empty() {
        println!("# {source}: config ok");
        return Ok(());
    }
    for p in problems {
        eprintln!("problem: {p}");
    }
    anyhow::bail!("{source}: {} problem(s) found", problems.len())
}

/// Completes when the process is asked to stop: Ctrl-C (SIGINT) or, on Unix, SIGTERM (what
/// `systemctl stop` and `kill` send). The daemons pass it to their run loops as the shutdown
/// future.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM ({e}): only Ctrl-C stops this process");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// Raises this process's soft limit on open files (`RLIMIT_NOFILE`) to its hard limit, so a
/// listener can hold as many sockets as the system allows; returns the (old, new) soft limits.
#[cfg(unix)]
pub fn raise_fd_limit() -> std::io::Result<(u64, u64)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let old = lim.rlim_cur;
    if lim.rlim_cur < lim.rlim_max {
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    #[allow(clippy::unnecessary_cast)] // rlim_t is not u64 on every unix
    Ok((old as u64, lim.rlim_cur as u64))
}

/// [`raise_fd_limit`], saying in the log what it did (a daemon's first lines).
pub fn raise_fd_limit_logged() {
    #[cfg(unix)]
    match raise_fd_limit() {
        Ok((old, new)) if new > old => tracing::info!("open-file limit raised from {old} to {new}"),
        Ok((_, new)) => tracing::info!("open-file limit {new}"),
        Err(e) => tracing::warn!("could not raise the open-file limit: {e}"),
    }
}
