//! The coordinator as its own process with default settings, as the README runs it: the submit
//! window fits the network (every block is paid with 6 s and 30 s blocks), a window that cannot
//! fit is refused at start, and a coordinator whose engine fails exits non-zero.

mod common;

use common::{free_port, funded_sim, spawn_miners};
use factom::{EcSecret, FactomdClient, RpcConfig};
use factomd_sim::{SimConfig, SimServer};
use pegnet::Network;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn dir(tag: &str) -> PathBuf {
    common::scratch("farm-proc", tag)
}

/// `netcoordinator` on the devnet with the README's flags (no `--submit-window`) plus `extra`.
fn coordinator(sim: &str, port: u16, key: &EcSecret, dir: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_netcoordinator"));
    c.args([
        "--network",
        "devnet",
        "--factomd",
        sim,
        "--caddr",
        &format!("127.0.0.1:{port}"),
        "--secret",
        "farmsecret-0123456789",
        "--bits",
        "12",
    ])
    .args(extra)
    .args(if extra.contains(&"--http") {
        &[][..]
    } else {
        &["--http", "off"][..]
    })
    .arg("--table-dir")
    .arg(dir.join("tables"))
    .arg("--data-dir")
    .arg(dir.join("data"))
    .env("NETMINE_EC_SECRET", key.to_secret_string())
    .env("RUST_LOG", "info")
    .stdout(Stdio::null());
    c
}

struct Farm {
    _sim: SimServer,
    client: FactomdClient,
    key: EcSecret,
    coord: Child,
    stop: tokio::sync::watch::Sender<bool>,
    dir: PathBuf,
    start: u32,
}

impl Drop for Farm {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        let _ = self.coord.kill();
        let _ = self.coord.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn farm(tag: &str, block: Duration, start: u32) -> Farm {
    let dir = dir(tag);
    let key = EcSecret::generate();
    let sim = funded_sim(block, start, &key, 10_000).await;
    let client = FactomdClient::new(RpcConfig::new(&sim.url())).unwrap();
    let port = free_port();
    let coord = coordinator(&sim.url(), port, &key, &dir, &[])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "coordinator never listened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (stop, rx) = tokio::sync::watch::channel(false);
    spawn_miners(port, "farmsecret-0123456789", 2, 3, &rx);
    Farm {
        _sim: sim,
        client,
        key,
        coord,
        stop,
        dir,
        start,
    }
}

/// Records landed in each saved block from the farm's start on.
async fn per_block(f: &Farm) -> Vec<(u32, usize)> {
    let top = f.client.heights().await.unwrap().directoryblockheight as u32;
    let mut out = Vec::new();
    for h in f.start..=top {
        let n = f
            .client
            .entries_at(&Network::DevNet.opr_chain(), h)
            .await
            .unwrap()
            .iter()
            .filter(|(_, e)| e.ext_ids.len() == 3)
            .count();
        out.push((h, n));
    }
    out
}

/// Waits until `blocks` consecutive saved blocks each have records, starting with the first block
/// that has any: the farm pays every block.
async fn pays_every_block(f: &Farm, blocks: usize, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let seen = per_block(f).await;
        let paid: Vec<_> = seen.iter().skip_while(|(_, n)| *n == 0).collect();
        if let Some(unpaid) = paid.iter().find(|(_, n)| *n == 0) {
            panic!("block {} was paid nothing: {seen:?}", unpaid.0);
        }
        if paid.len() >= blocks {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "fewer than {blocks} paid blocks: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let spent = 10_000 - f.client.ec_balance(&f.key.public()).await.unwrap();
    let landed: usize = per_block(f).await.iter().map(|(_, n)| n).sum();
    assert!(
        spent as usize >= landed,
        "EC spent {spent}, landed {landed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_farm_with_6_second_blocks_pays_every_block() {
    let f = farm("six", Duration::from_secs(6), 3000).await;
    pays_every_block(&f, 3, Duration::from_secs(40)).await;
    drop(f);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_farm_with_30_second_blocks_pays_with_default_settings() {
    let f = farm("thirty", Duration::from_secs(30), 4000).await;
    pays_every_block(&f, 1, Duration::from_secs(75)).await;
    drop(f);
}

#[tokio::test]
async fn a_submit_window_that_leaves_no_time_to_pay_is_refused_at_start() {
    let d = dir("refused");
    let key = EcSecret::generate();
    let sim = SimServer::start(
        SimConfig {
            block_time: Duration::from_secs(6),
            ..SimConfig::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let out = tokio::task::spawn_blocking({
        let mut c = coordinator(&sim.url(), free_port(), &key, &d, &["--submit-window", "5"]);
        move || c.stderr(Stdio::piped()).output().unwrap()
    })
    .await
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("the largest window that fits is 0.300 s"),
        "{err}"
    );
    assert!(!err.contains(&key.to_secret_string()[2..]), "{err}");
    let _ = std::fs::remove_dir_all(&d);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_failure_exits_non_zero_with_the_error() {
    let d = dir("enginefail");
    let key = EcSecret::generate();
    let sim = funded_sim(Duration::from_secs(2), 5000, &key, 1000).await;
    let mut child = coordinator(&sim.url(), free_port(), &key, &d, &[])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once the coordinator has planned a block, its store breaks under it.
    let db = d.join("data").join("coordinator.db");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let planned = rusqlite::Connection::open(&db)
            .and_then(|c| c.query_row("SELECT count(*) FROM blocks", [], |r| r.get::<_, i64>(0)))
            .unwrap_or(0);
        if planned > 0 {
            let c = rusqlite::Connection::open(&db).unwrap();
            c.execute_batch("DROP TABLE blocks").unwrap();
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the coordinator never planned a block"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let out = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                let mut err = String::new();
                use std::io::Read;
                child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut err)
                    .unwrap();
                return Some((status, err));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    })
    .await
    .unwrap();
    let (status, err) = out.expect("the coordinator kept running with a broken store");
    assert!(!status.success(), "{err}");
    assert!(err.contains("the block engine failed"), "{err}");
    assert!(err.contains("coordinator store"), "{err}");
    let _ = std::fs::remove_dir_all(&d);
    sim.shutdown().await;
}
