//! The parent: starts the coordinator child, connects the clients, drives the rounds (job,
//! minute, stop and submissions, collection) and reads the child's memory and CPU time from
//! `/proc`.

use crate::clients::{self, Event, Seen};
use crate::relays::Relays;
use crate::report::{percentiles, Figures, RelayFigures, Round};
use crate::LoadArgs;
use anyhow::{bail, Context, Result};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};
use tokio::sync::mpsc;

/// How long a phase may take before the clients still missing are counted as missing.
const PHASE_TIMEOUT: Duration = Duration::from_secs(60);

/// The coordinator child and its command line.
struct Coordinator {
    child: Child,
    pid: u32,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Coordinator {
    async fn start(a: &LoadArgs, miners: usize) -> Result<(Coordinator, String, usize)> {
        let mut cmd = tokio::process::Command::new(std::env::current_exe()?);
        cmd.args(["serve", "--bits", &a.bits.to_string()])
            .args(["--records", &a.records.to_string()])
            .args(["--relays", &a.relays.to_string()])
            .args(["--miners", &miners.to_string()])
            .args(["--verify-threads", &a.verify_threads.to_string()]);
        if let Some(dir) = &a.table_dir {
            cmd.arg("--table-dir").arg(dir);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting the coordinator child")?;
        let pid = child.id().context("the child's pid")?;
        let stdin = child.stdin.take().context("the child's stdin")?;
        let lines = BufReader::new(child.stdout.take().context("the child's stdout")?).lines();
        let mut c = Coordinator {
            child,
            pid,
            stdin,
            lines,
        };
        let ready = c.line().await?;
        let [_, addr, bytes] = ready.split_whitespace().collect::<Vec<_>>()[..] else {
            bail!("the child said {ready:?}, not `ready ADDR BYTES`");
        };
        let (addr, bytes) = (addr.to_string(), bytes.parse()?);
        Ok((c, addr, bytes))
    }

    async fn line(&mut self) -> Result<String> {
        self.lines
            .next_line()
            .await?
            .context("the coordinator child exited")
    }

    /// Sends one command and reads its one-line answer.
    async fn ask(&mut self, cmd: &str) -> Result<String> {
        self.stdin.write_all(format!("{cmd}\n").as_bytes()).await?;
        self.stdin.flush().await?;
        self.line().await
    }

    /// A command answered `WORD NS`: the time in it.
    async fn time(&mut self, cmd: &str) -> Result<Option<u64>> {
        let answer = self.ask(cmd).await?;
        Ok(answer
            .split_whitespace()
            .nth(1)
            .and_then(|ns| ns.parse().ok()))
    }

    async fn quit(mut self) -> Result<()> {
        self.stdin.write_all(b"quit\n").await?;
        self.stdin.flush().await?;
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
        Ok(())
    }
}

/// The child's memory and CPU time now.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    /// Resident set (`VmRSS`), KiB.
    pub rss_kib: u64,
    /// Peak resident set (`VmHWM`), KiB.
    pub hwm_kib: u64,
    /// User + system CPU time, seconds.
    pub cpu_secs: f64,
}

/// The memory and CPU time of process `pid` now, from `/proc`.
pub fn usage(pid: u32) -> Result<Usage> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = after
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // SAFETY: sysconf only reads a system constant.
    let tick = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let ticks = f.get(10).copied().unwrap_or(0) + f.get(11).copied().unwrap_or(0);
    Ok(Usage {
        rss_kib: kib("VmRSS:"),
        hwm_kib: kib("VmHWM:"),
        cpu_secs: ticks as f64 / tick,
    })
}

/// Collects events until `want` of the kinds `wanted` arrived (a failed client takes `per_client`
/// off), or [`PHASE_TIMEOUT`]. Returns them and the number of clients that failed meanwhile.
async fn gather(
    rx: &mut mpsc::UnboundedReceiver<Event>,
    mut want: usize,
    per_client: usize,
    wanted: impl Fn(Seen) -> bool,
) -> (Vec<Event>, usize) {
    let deadline = tokio::time::Instant::now() + PHASE_TIMEOUT;
    let (mut got, mut failed) = (Vec::new(), 0);
    while got.len() < want {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(e)) if e.seen == Seen::Failed => {
                failed += 1;
                want = want.saturating_sub(per_client);
            }
            Ok(Some(e)) if wanted(e.seen) => got.push(e),
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    (got, failed)
}

/// Latencies in ms of `events` from `sent` (ns).
fn latencies(events: &[Event], sent: u64) -> Vec<f64> {
    events
        .iter()
        .map(|e| (e.ns as i128 - sent as i128) as f64 / 1e6)
        .collect()
}

/// One benchmark at `miners` clients: connect them, run the rounds, return the figures.
pub async fn run(a: &LoadArgs, miners: usize, table: &hashcore::Table) -> Result<Figures> {
    let submissions = clients::records(table, miners, a.records)?;
    let (mut coord, addr, table_bytes) = Coordinator::start(a, miners).await?;
    let idle = usage(coord.pid)?;
    let relays = match a.relays {
        0 => None,
        _ => Some(start_relays(a, &mut coord, &addr, miners).await?),
    };
    let addrs = relays
        .as_ref()
        .map_or_else(|| vec![addr.clone()], Relays::addrs);
    let relay_usage = |r: &Option<Relays>| r.as_ref().map_or(Ok(Vec::new()), Relays::usage);
    let relays_idle = relay_usage(&relays)?;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let started = Instant::now();
    let tasks = clients::start(&addrs, submissions, a.connect_concurrency, tx);
    let (connected, mut failed) = gather(&mut rx, miners, 1, |s| s == Seen::Connected).await;
    let connect_secs = started.elapsed().as_secs_f64();
    let after_connect = usage(coord.pid)?;
    let relays_connected = relay_usage(&relays)?;
    let mut relays_cpu = vec![0.0; a.relays];
    let registered: usize = coord
        .ask("miners")
        .await?
        .trim_start_matches("miners ")
        .parse()?;
    eprintln!(
        "{miners} miners: {} connected in {connect_secs:.2} s ({registered} registered)",
        connected.len()
    );
    let mut alive = connected.len().saturating_sub(failed);
    let expected = alive * a.records;
    let mut rounds = Vec::new();
    for job in 1..=a.rounds as u64 {
        let alive0 = alive;
        let before = usage(coord.pid)?;
        let relays_before = relay_usage(&relays)?;
        let sent = coord.time(&format!("job {job}")).await?.context("job")?;
        let (jobs, f1) = gather(&mut rx, alive, 1, |s| s == Seen::Job).await;
        let minute_sent = coord.time("minute 5").await?.context("minute")?;
        let (minutes, f2) =
            gather(&mut rx, alive.saturating_sub(f1), 1, |s| s == Seen::Minute).await;
        let stop_sent = coord.time(&format!("stop {job}")).await?.context("stop")?;
        let verified = coord.time(&format!("verified {expected}")).await?;
        let (after_stop, f3) = gather(&mut rx, 2 * alive.saturating_sub(f1 + f2), 2, |s| {
            matches!(s, Seen::Stop | Seen::Result(_))
        })
        .await;
        let collected = coord.ask(&format!("collect {job}")).await?;
        let counts: Vec<usize> = collected
            .split_whitespace()
            .skip(1)
            .filter_map(|x| x.parse().ok())
            .collect();
        let now = usage(coord.pid)?;
        for (k, (b, n)) in relays_before.iter().zip(relay_usage(&relays)?).enumerate() {
            relays_cpu[k] += n.cpu_secs - b.cpu_secs;
        }
        let stops: Vec<Event> = after_stop
            .iter()
            .filter(|e| e.seen == Seen::Stop)
            .copied()
            .collect();
        let results: Vec<&Event> = after_stop
            .iter()
            .filter(|e| matches!(e.seen, Seen::Result(_)))
            .collect();
        let at_miners = results.iter().map(|e| e.ns).max();
        failed += f1 + f2 + f3;
        alive = alive.saturating_sub(f1 + f2 + f3);
        rounds.push(Round {
            job: percentiles(latencies(&jobs, sent)),
            minute: percentiles(latencies(&minutes, minute_sent)),
            stop: percentiles(latencies(&stops, stop_sent)),
            verified_ms: verified.map(|v| (v as i128 - stop_sent as i128) as f64 / 1e6),
            results_ms: at_miners.map(|r| (r as i128 - stop_sent as i128) as f64 / 1e6),
            // Each client should have seen the job, the minute and the stop, and had an answer.
            missing: (alive0 * 4).saturating_sub(jobs.len() + minutes.len() + after_stop.len()),
            records_verified: counts.get(2).copied().unwrap_or(0),
            answered: results.len(),
            accepted_at_miners: results
                .iter()
                .map(|e| match e.seen {
                    Seen::Result(n) => n as usize,
                    _ => 0,
                })
                .sum(),
            records_expected: expected,
            cpu_secs: now.cpu_secs - before.cpu_secs,
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let end = usage(coord.pid)?;
    let relays_end = relay_usage(&relays)?;
    let per_relay = |k: usize| miners / a.relays.max(1) + usize::from(k < miners % a.relays.max(1));
    let relay_figures = (0..a.relays)
        .map(|k| RelayFigures {
            miners: per_relay(k),
            idle: relays_idle[k],
            connected: relays_connected[k],
            end: relays_end[k],
            cpu_rounds_secs: relays_cpu[k],
        })
        .collect();
    // The clients go first, so that the coordinator's exit is not reported as their failure.
    for t in tasks {
        t.abort();
    }
    if let Some(r) = relays {
        r.stop().await;
    }
    coord.quit().await?;
    Ok(Figures {
        relays: relay_figures,
        miners,
        connected: connected.len(),
        failed,
        table_bytes,
        connect_secs,
        connect_cpu_secs: after_connect.cpu_secs - idle.cpu_secs,
        idle,
        connected_usage: after_connect,
        end,
        rounds,
    })
}

/// Starts the relays and waits until every one is linked to the primary.
async fn start_relays(
    a: &LoadArgs,
    coord: &mut Coordinator,
    primary: &str,
    miners: usize,
) -> Result<Relays> {
    let relays = Relays::start(a, primary, miners).await?;
    let deadline = Instant::now() + PHASE_TIMEOUT;
    loop {
        let linked: usize = coord
            .ask("miners")
            .await?
            .trim_start_matches("miners ")
            .parse()?;
        if linked >= a.relays {
            return Ok(relays);
        }
        if Instant::now() > deadline {
            bail!("{linked} of {} relays linked to the primary", a.relays);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
