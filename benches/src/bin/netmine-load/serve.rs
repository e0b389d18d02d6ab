//! The coordinator under test, run as a child process (`netmine-load serve`) so that its memory and
//! CPU time can be read from `/proc` apart from the clients'. It loads the table, serves miners on
//! a loopback port with the coordinator's own listener and hub, and takes one command a line on
//! stdin, answering one line on stdout:
//!
//! | command           | answer                                                                 |
//! |-------------------|------------------------------------------------------------------------|
//! | (at start)        | `ready ADDR TABLE_BYTES`                                               |
//! | `miners`          | `miners N`: authenticated miners connected                             |
//! | `job ID`          | `sent NS`: the job was broadcast at NS (ns since the epoch)            |
//! | `minute M`        | `sent NS`                                                              |
//! | `stop ID`         | `sent NS`                                                              |
//! | `verified N`      | `verified NS`: when N records of the job were verified (or `timeout`) |
//! | `collect ID`      | `collected MINERS RECEIVED VERIFIED REJECTED`: minute 9's take         |
//! | `quit`            | (exits)                                                                |

use crate::{now_ns, template, HEIGHT, RELAY_SECRET, SECRET};
use anyhow::{bail, Context, Result};
use coordinator::server::{serve, CurrentJob, Hub, ServerConfig};
use protocol::{Message, Secret};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// How the child coordinator is set up.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Table size in bits.
    #[arg(long)]
    pub bits: u32,
    /// Table cache directory (default ~/.lxrhash).
    #[arg(long)]
    pub table_dir: Option<PathBuf>,
    /// Records each miner may submit.
    #[arg(long)]
    pub records: usize,
    /// Miners that will connect (the connection and handshake limits are raised to fit them).
    #[arg(long)]
    pub miners: usize,
    /// Threads verifying submissions (0: one per CPU, the coordinator's default).
    #[arg(long, default_value_t = 0)]
    pub verify_threads: usize,
    /// Relays allowed to link (named `relay0`, `relay1`, …; they authenticate with the relay
    /// secret).
    #[arg(long, default_value_t = 0)]
    pub relays: usize,
}

/// The child's whole life: load, serve, obey stdin until `quit` or its end.
pub fn run(a: ServeArgs) -> Result<()> {
    let _ = netmine_cli::raise_fd_limit();
    let (table, _) = hashcore::cache::open(Some(a.bits), a.table_dir.clone())
        .context("getting the LXRHash table")?;
    let table_bytes = table.len();
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        // The farm's limits raised to fit the benchmark: every client connects from 127.0.0.1,
        // and thousands of handshakes in flight on two cores can take more than 5 s.
        let room = a.miners + a.relays + 64;
        let hub = Hub::new(
            ServerConfig {
                secret: Some(Secret::new(SECRET)),
                max_connections: room,
                max_pending: room,
                max_pending_per_address: room,
                auth_timeout: Duration::from_secs(120),
                ban_after: u32::MAX,
                records_per_miner: a.records,
                verify_threads: a.verify_threads,
                relays: (0..a.relays).map(crate::relays::name).collect(),
                relay_secret: Some(Secret::new(RELAY_SECRET)),
                ..ServerConfig::default()
            },
            table,
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (_stop, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(serve(hub.clone(), listener, stop_rx));
        let mut out = tokio::io::stdout();
        say(&mut out, format!("ready {addr} {table_bytes}")).await?;
        let mut lines = BufReader::new(tokio::io::stdin()).lines();
        while let Some(line) = lines.next_line().await? {
            let mut words = line.split_whitespace();
            let cmd = words.next().unwrap_or("");
            let arg: u64 = words.next().map_or(Ok(0), str::parse)?;
            let answer = match cmd {
                "miners" => format!("miners {}", hub.miners().len()),
                "job" => {
                    let job = CurrentJob {
                        job_id: arg,
                        template: template(),
                        min_difficulty: 0,
                        records_wanted: a.records as u32,
                    };
                    let ns = now_ns();
                    hub.start_job(job);
                    format!("sent {ns}")
                }
                "minute" => {
                    let ns = now_ns();
                    hub.broadcast(Message::Minute {
                        height: HEIGHT,
                        minute: arg as u8,
                    });
                    format!("sent {ns}")
                }
                "stop" => {
                    let ns = now_ns();
                    hub.broadcast(Message::Stop { job_id: arg });
                    format!("sent {ns}")
                }
                "verified" => verified(&hub, arg as usize).await,
                "collect" => {
                    let (work, counts) = hub.take_work(arg);
                    format!(
                        "collected {} {} {} {}",
                        work.len(),
                        counts.received,
                        counts.verified,
                        counts.rejected.values().sum::<usize>()
                    )
                }
                "quit" => return Ok(()),
                other => bail!("unknown command {other:?}"),
            };
            say(&mut out, answer).await?;
        }
        Ok(())
    })
}

/// Writes one answer line.
async fn say(out: &mut tokio::io::Stdout, line: String) -> std::io::Result<()> {
    out.write_all(format!("{line}\n").as_bytes()).await?;
    out.flush().await
}

/// Waits (polling the hub every millisecond, at most a minute) until `n` records of the current
/// job are verified, and answers when.
async fn verified(hub: &Hub, n: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if hub.footprint().accepted >= n {
            return format!("verified {}", now_ns());
        }
        if Instant::now() > deadline {
            return "timeout".into();
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}
