//! What the coordinator binary's tests share: scratch directories, a funded simulated factomd,
//! in-process netminers, and the daemon (`netcoordinator`) and the relay (`netcoordinator relay`)
//! as child processes on ports of their choosing: the test reads the addresses they bound from
//! their log, and their output is kept for the assertions and for failure messages.
#![allow(dead_code)] // each test file uses its own part

use factom::EcSecret;
use factomd_sim::{SimConfig, SimServer};
use hashcore::{CpuBackend, MiningBackend, Table};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

#[allow(unused_imports)] // each test file uses its own part
pub use netmine_testkit::{until, until_some, Spawned};

/// The coinbase every test miner is paid to.
pub const FA: &str = "FA2jK2HcLnRdS94dEcU27rF3meoJfpUcZPSinpb7AwQvPRY6RL1Q";
/// How long a test waits for a process to start or for something quick to happen.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// An empty scratch directory for one test (`prefix-tag-pid`).
pub fn scratch(prefix: &str, tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("{prefix}-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A simulated factomd on the real clock with blocks of `block` from `start`, `key` funded with
/// `credits`.
pub async fn funded_sim(block: Duration, start: u32, key: &EcSecret, credits: i64) -> SimServer {
    SimServer::start(
        SimConfig {
            block_time: block,
            start_height: start,
            funded: vec![(key.public(), credits)],
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap()
}

/// In-process netminers (one CPU thread each) mining until dropped.
pub struct Miners {
    /// Each miner's backend, in the order of the names.
    pub backends: Vec<Arc<dyn MiningBackend>>,
    tasks: Vec<tokio::task::JoinHandle<Result<(), netminer::client::MinerError>>>,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Miners {
    /// Whether every miner holds `n` records for job `job_id`.
    pub fn hold(&self, job_id: u64, n: usize) -> bool {
        self.backends.iter().all(|b| b.best(job_id).len() >= n)
    }

    /// Stops them all and waits for each to end cleanly.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        for t in self.tasks.drain(..) {
            t.await.unwrap().unwrap();
        }
    }
}

impl Drop for Miners {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// `n` netminers (`rig0`, `rig1`, …, on a 12-bit table) mining for the coordinator at `addr`,
/// each submitting its `top` best records.
pub fn spawn_miners(addr: SocketAddr, secret: &str, n: usize, top: usize) -> Miners {
    let names: Vec<String> = (0..n).map(|k| format!("rig{k}")).collect();
    spawn_named_miners(addr, secret, &names, top)
}

/// Netminers with these identities (see [`spawn_miners`]).
pub fn spawn_named_miners(addr: SocketAddr, secret: &str, names: &[String], top: usize) -> Miners {
    let table = Arc::new(Table::generate(12, &mut |_, _| {}).unwrap());
    let (stop, rx) = tokio::sync::watch::channel(false);
    let (mut backends, mut tasks) = (Vec::new(), Vec::new());
    for name in names {
        let backend: Arc<dyn MiningBackend> =
            Arc::new(CpuBackend::start(table.clone(), 1, 0).unwrap());
        let cfg = netminer::client::MinerConfig {
            link: netmine_link::LinkConfig {
                coordinators: vec![addr.to_string().parse().unwrap()],
                secret: protocol::Secret::new(secret),
                identity: name.clone(),
                coinbase: FA.into(),
                failback_every: Duration::from_secs(30),
                ..Default::default()
            },
            top,
            stats_every: Duration::from_millis(500),
            ..Default::default()
        };
        tasks.push(tokio::spawn(netminer::client::run(
            cfg,
            backend.clone(),
            rx.clone(),
        )));
        backends.push(backend);
    }
    Miners {
        backends,
        tasks,
        stop,
    }
}

/// A command for a `netminer` process (`bin`) at the lowest CPU priority. On a farm every miner
/// is a box of its own; here it shares two cores with the coordinators and the test, and what it
/// hashes beyond its top records makes no difference to a test, while a coordinator or a test
/// starved by it would. (`nice` runs the miner in its own place: the child's pid is the miner's.)
pub fn miner_command(bin: &Path) -> Command {
    let mut c = Command::new("nice");
    c.args(["-n", "19"]).arg(bin);
    c
}

/// Sibling binaries of `netcoordinator`, as `(package, binary)`, and their paths in the same
/// order (built as `cargo test --workspace` builds them: see [`netmine_testkit::workspace_bins`]).
pub fn sibling_bins(bins: &[(&str, &str)]) -> Vec<PathBuf> {
    let names: Vec<&str> = bins.iter().map(|(_, bin)| *bin).collect();
    netmine_testkit::workspace_bins(
        Path::new(env!("CARGO_BIN_EXE_netcoordinator")),
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/..")),
        &names,
    )
}

/// Any free port on loopback: the process says which it bound.
pub const ANY: &str = "127.0.0.1:0";

/// `netcoordinator` (the daemon) for the devnet on `factomd`, its tables and data in `dir`,
/// listening for miners on `caddr` and serving its HTTP API on `http` ([`ANY`]: a port of its
/// choosing; `off`), with a 12-bit table; `info` logs without colours, no token from the
/// environment. Add flags with [`Command::args`].
pub fn coordinator(factomd: &str, dir: &Path, caddr: &str, http: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_netcoordinator"));
    c.args(["--network", "devnet", "--factomd", factomd])
        .args(["--caddr", caddr, "--http", http, "--bits", "12"])
        .arg("--table-dir")
        .arg(dir.join("tables"))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .env_remove("NETMINE_HTTP_TOKEN")
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1");
    c
}

/// A `netcoordinator` process (the daemon or a relay), killed when dropped.
pub struct Process {
    /// The child with its output.
    pub child: Spawned,
}

impl Process {
    /// Starts `cmd`.
    pub fn start(name: &str, cmd: &mut Command) -> Process {
        Process {
            child: Spawned::start(name, cmd),
        }
    }

    /// The miners' address the daemon logs once it runs (`netcoordinator running miners=…`,
    /// after factomd answered).
    pub async fn miners(&self) -> SocketAddr {
        self.child
            .addr("netcoordinator running", "miners=", PATIENCE)
            .await
    }

    /// The address of the daemon's HTTP API, as it logs it (`dashboard and API on … http=…`;
    /// an every-interface address comes back as loopback).
    pub async fn http(&self) -> SocketAddr {
        let mut a = self
            .child
            .addr("dashboard and API on", "http=", PATIENCE)
            .await;
        if a.ip().is_unspecified() {
            a.set_ip([127, 0, 0, 1].into());
        }
        a
    }

    /// The miners' address a relay logs once it runs (`relay running miners=…`).
    pub async fn relay_miners(&self) -> SocketAddr {
        self.child.addr("relay running", "miners=", PATIENCE).await
    }

    /// Everything it logged so far.
    pub fn log(&self) -> String {
        self.child.output()
    }
}

/// Polls `url` until `ok` holds for its JSON and returns it; fails with the last answer once
/// `within` has passed.
pub async fn json_until(
    url: &str,
    within: Duration,
    ok: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = std::time::Instant::now() + within;
    loop {
        let last = match reqwest::get(url).await {
            Ok(r) => match r.json::<serde_json::Value>().await {
                Ok(v) if ok(&v) => return v,
                Ok(v) => format!("{v:#}"),
                Err(e) => e.to_string(),
            },
            Err(e) => e.to_string(),
        };
        assert!(
            std::time::Instant::now() < deadline,
            "{url} never got there in {within:?}; its last answer: {last}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
