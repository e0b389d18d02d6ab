//! `--relays R`: the relays between the coordinator child (the primary) and the clients, as a site
//! runs them: R `netcoordinator relay` processes, each linked to the primary under its own name
//! with the primary's relay secret, serving its share of the clients with the farm secret. The
//! clients are spread over them (client k on relay k mod R); what the clients see is timed from
//! the primary's send, so each latency crosses a relay; every record goes client → relay
//! (verified there) → primary (verified again), and the answer comes back the same way.

use crate::drive::{usage, Usage};
use crate::{LoadArgs, RELAY_SECRET, SECRET};
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStderr};

/// How long a relay may take to link and listen.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// Relay `k`'s name at the primary.
pub fn name(k: usize) -> String {
    format!("relay{k}")
}

/// The relay binary: `--relay-bin`, else `netcoordinator` beside this program (both built by one
/// `cargo build --release -p netmine-benches -p netcoordinator`).
fn binary(a: &LoadArgs) -> Result<PathBuf> {
    if let Some(p) = &a.relay_bin {
        return Ok(p.clone());
    }
    let me = std::env::current_exe()?;
    let p = me.with_file_name("netcoordinator");
    if !p.exists() {
        bail!(
            "no relay binary at {}: build it (cargo build --release -p netcoordinator) or give --relay-bin",
            p.display()
        );
    }
    Ok(p)
}

/// Reads relay `k`'s log until it says where it listens (`relay running miners=ADDR …`).
async fn listening(lines: &mut Lines<BufReader<ChildStderr>>, k: usize) -> Result<String> {
    while let Some(line) = lines.next_line().await? {
        if line.contains("relay running") {
            if let Some(addr) = line
                .split_whitespace()
                .find_map(|w| w.strip_prefix("miners="))
            {
                return Ok(addr.to_string());
            }
        }
        eprintln!("{}: {line}", name(k));
    }
    bail!("{} exited before it listened", name(k))
}

/// One running relay.
struct Relay {
    child: Child,
    pid: u32,
    /// Where its miners connect.
    addr: String,
}

/// The running relays (killed when dropped), with their scratch directory.
pub struct Relays {
    relays: Vec<Relay>,
    dir: PathBuf,
}

impl Relays {
    /// Starts `a.relays` relays linked to the primary at `primary`, sized for `miners` clients in
    /// all, and waits until each listens.
    pub async fn start(a: &LoadArgs, primary: &str, miners: usize) -> Result<Relays> {
        let bin = binary(a)?;
        let dir = std::env::temp_dir().join(format!("netmine-load-relays-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let mut out = Relays {
            relays: Vec::new(),
            dir,
        };
        let room = (miners / a.relays.max(1) + 64).to_string();
        for k in 0..a.relays {
            let data = out.dir.join(name(k));
            std::fs::create_dir_all(&data)?;
            let mut cmd = tokio::process::Command::new(&bin);
            cmd.arg("relay")
                .args(["--upstream", primary, "--name", &name(k)])
                .args(["--caddr", "127.0.0.1:0", "--bits", &a.bits.to_string()])
                .args(["--records-per-miner", &a.records.to_string()])
                // Each relay serves its dashboard as a site's would, on a port of its own.
                .args(["--http", "127.0.0.1:0"])
                // Every client connects from 127.0.0.1: the per-address limits fit them all.
                .args(["--max-connections", &room, "--max-pending", &room])
                .args(["--max-pending-per-address", &room])
                .args([
                    "--handshake-timeout-secs",
                    "120",
                    "--ban-after",
                    "4294967295",
                ])
                .arg("--data-dir")
                .arg(&data)
                .env("NETMINE_UPSTREAM_SECRET", RELAY_SECRET)
                .env("NETMINE_SECRET", SECRET)
                .env("RUST_LOG", "warn,netcoordinator::relay=info")
                .env("NO_COLOR", "1")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .kill_on_drop(true);
            if let Some(t) = &a.table_dir {
                cmd.arg("--table-dir").arg(t);
            }
            let mut child = cmd
                .spawn()
                .with_context(|| format!("starting {}", bin.display()))?;
            let pid = child.id().context("the relay's pid")?;
            let mut lines = BufReader::new(child.stderr.take().context("its stderr")?).lines();
            let addr = tokio::time::timeout(START_TIMEOUT, listening(&mut lines, k))
                .await
                .with_context(|| format!("{} did not start within {START_TIMEOUT:?}", name(k)))??;
            // Its later logs (warnings only) are passed on, so the pipe never fills.
            tokio::spawn(async move {
                while let Ok(Some(line)) = lines.next_line().await {
                    eprintln!("{}: {line}", name(k));
                }
            });
            out.relays.push(Relay { child, pid, addr });
        }
        Ok(out)
    }

    /// Where client `k` connects.
    pub fn addrs(&self) -> Vec<String> {
        self.relays.iter().map(|r| r.addr.clone()).collect()
    }

    /// Each relay's memory and CPU time now.
    pub fn usage(&self) -> Result<Vec<Usage>> {
        self.relays.iter().map(|r| usage(r.pid)).collect()
    }

    /// Stops them (SIGTERM, as a site's service manager would) and removes their directory.
    pub async fn stop(mut self) {
        for r in &self.relays {
            // SAFETY: kill only sends a signal to our own child.
            unsafe {
                libc::kill(r.pid as libc::pid_t, libc::SIGTERM);
            }
        }
        for r in &mut self.relays {
            let _ = tokio::time::timeout(Duration::from_secs(10), r.child.wait()).await;
        }
    }
}

impl Drop for Relays {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
