//! What the process-level tests of the coordinator share: a free port, a scratch directory, a
//! funded simulated factomd, and in-process miners.
#![allow(dead_code)] // each test file uses its own part

use factom::EcSecret;
use factomd_sim::{SimConfig, SimServer};
use hashcore::{CpuBackend, MiningBackend, Table};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The coinbase every test miner is paid to.
pub const FA: &str = "FA2jK2HcLnRdS94dEcU27rF3meoJfpUcZPSinpb7AwQvPRY6RL1Q";

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An empty scratch directory for one test (`prefix-tag-pid`).
pub fn scratch(prefix: &str, tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("{prefix}-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A simulated factomd with blocks of `block` from `start`, `key` funded with `credits`.
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

/// `n` netminers (`rig0`, `rig1`, …, one CPU thread each on a 12-bit table) mining for the
/// coordinator on `port` until `stop` turns true, each submitting its `top` best records.
pub fn spawn_miners(
    port: u16,
    secret: &str,
    n: usize,
    top: usize,
    stop: &tokio::sync::watch::Receiver<bool>,
) {
    let names: Vec<String> = (0..n).map(|k| format!("rig{k}")).collect();
    spawn_named_miners(port, secret, &names, top, stop)
}

/// Netminers with these identities (see [`spawn_miners`]).
pub fn spawn_named_miners(
    port: u16,
    secret: &str,
    names: &[String],
    top: usize,
    stop: &tokio::sync::watch::Receiver<bool>,
) {
    let table = Arc::new(Table::generate(12, &mut |_, _| {}).unwrap());
    for name in names {
        let backend: Arc<dyn MiningBackend> =
            Arc::new(CpuBackend::start(table.clone(), 1, 0).unwrap());
        let cfg = netminer::client::MinerConfig {
            link: netmine_link::LinkConfig {
                coordinators: vec![format!("127.0.0.1:{port}").parse().unwrap()],
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
        tokio::spawn(netminer::client::run(cfg, backend, stop.clone()));
    }
}

/// A child process killed (and reaped) when dropped, so a failing test leaves none behind.
pub struct Kill(pub std::process::Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
