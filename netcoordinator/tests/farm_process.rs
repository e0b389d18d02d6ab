//! The coordinator as its own process with default settings, as the README runs it: the submit
//! window fits the network (every block is paid with 6 s and 30 s blocks), a window that cannot
//! fit is refused at start, and a coordinator whose engine fails exits non-zero.

mod common;

use common::{coordinator, funded_sim, spawn_miners, until_some, Miners, Process, ANY};
use factom::{EcSecret, FactomdClient, RpcConfig};
use factomd_sim::{SimConfig, SimServer};
use pegnet::Network;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

const SECRET: &str = "farmsecret-0123456789";

fn dir(tag: &str) -> PathBuf {
    common::scratch("farm-proc", tag)
}

/// `netcoordinator` on the devnet with the README's flags (no `--submit-window`) plus `extra`.
fn readme_coordinator(sim: &str, key: &EcSecret, dir: &std::path::Path, extra: &[&str]) -> Command {
    let mut c = coordinator(sim, dir, ANY, "off");
    c.args(["--secret", SECRET])
        .args(extra)
        .env("NETMINE_EC_SECRET", key.to_secret_string());
    c
}

struct Farm {
    client: FactomdClient,
    key: EcSecret,
    start: u32,
    _miners: Miners,
    _coord: Process,
    _sim: SimServer,
    dir: PathBuf,
}

impl Drop for Farm {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn farm(tag: &str, block: Duration, start: u32) -> Farm {
    let dir = dir(tag);
    let key = EcSecret::generate();
    let sim = funded_sim(block, start, &key, 10_000).await;
    let client = FactomdClient::new(RpcConfig::new(&sim.url())).unwrap();
    let coord = Process::start(
        "netcoordinator",
        &mut readme_coordinator(&sim.url(), &key, &dir, &[]),
    );
    let miners = spawn_miners(coord.miners().await, SECRET, 2, 3);
    Farm {
        client,
        key,
        start,
        _miners: miners,
        _coord: coord,
        _sim: sim,
        dir,
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
    until_some("paid blocks", within + Duration::from_secs(1), || async {
        let seen = per_block(f).await;
        let paid: Vec<_> = seen.iter().skip_while(|(_, n)| *n == 0).collect();
        if let Some(unpaid) = paid.iter().find(|(_, n)| *n == 0) {
            panic!("block {} was paid nothing: {seen:?}", unpaid.0);
        }
        assert!(
            paid.len() >= blocks || Instant::now() < deadline,
            "fewer than {blocks} paid blocks: {seen:?}"
        );
        (paid.len() >= blocks).then_some(())
    })
    .await;
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
    let mut refused = Process::start(
        "netcoordinator",
        &mut readme_coordinator(&sim.url(), &key, &d, &["--submit-window", "5"]),
    );
    let status = refused.child.exit(common::PATIENCE).await;
    let err = refused.log();
    assert!(!status.success(), "{err}");
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
    let mut coord = Process::start(
        "netcoordinator",
        &mut readme_coordinator(&sim.url(), &key, &d, &[]),
    );
    // Once the coordinator has planned a block (its job is logged after the plan is stored),
    // its store breaks under it.
    coord
        .child
        .line("job sent to", Duration::from_secs(30))
        .await;
    let db = d.join("data").join("coordinator.db");
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("DROP TABLE blocks")
        .unwrap();
    let status = coord.child.exit(Duration::from_secs(20)).await;
    let err = coord.log();
    assert!(!status.success(), "{err}");
    assert!(err.contains("the block engine failed"), "{err}");
    assert!(err.contains("coordinator store"), "{err}");
    let _ = std::fs::remove_dir_all(&d);
    sim.shutdown().await;
}
