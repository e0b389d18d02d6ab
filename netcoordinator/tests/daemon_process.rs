//! The coordinator as its own process (`netcoordinator --network devnet --factomd …`) with miners
//! connecting over TCP: entries land; the coordinator is killed and restarted on the same data dir
//! and mining goes on, with every entry paid exactly once (the EC balance matches what landed).

mod common;

use common::{coordinator, spawn_miners, until_some, Process, ANY};
use factom::{EcSecret, FactomdClient, RpcConfig};
use pegnet::Network;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

const SECRET: &str = "s3cret-0123456789abcdef";

/// The daemon listening for miners on `caddr`, with a window that fits 3 s blocks.
fn daemon(sim: &str, caddr: &str, key: &EcSecret, dir: &Path) -> Process {
    Process::start(
        "netcoordinator",
        coordinator(sim, dir, caddr, "off")
            .args(["--secret", SECRET, "--submit-window", "0.15"])
            .args(["--records-per-miner", "3", "--max-entries", "10"])
            .env("NETMINE_EC_SECRET", key.to_secret_string()),
    )
}

/// Entries on the devnet chain in saved blocks from `from` on, and the highest saved block.
async fn landed(c: &FactomdClient, from: u32) -> (usize, u32) {
    let top = c.heights().await.unwrap().directoryblockheight as u32;
    let mut n = 0;
    for h in from..=top {
        n += c
            .entries_at(&Network::DevNet.opr_chain(), h)
            .await
            .unwrap()
            .iter()
            .filter(|(_, e)| e.ext_ids.len() == 3)
            .count();
    }
    (n, top)
}

/// Waits until the saved blocks from `from` on hold at least `n` records.
async fn records_from(client: &FactomdClient, from: u32, n: usize, what: &str) {
    until_some(what, Duration::from_secs(40), || async {
        (landed(client, from).await.0 >= n).then_some(())
    })
    .await
}

/// Real 3 s blocks: the daemon runs as its own process with its own timing (1 s polls, the
/// submit window), which a stepped clock would not exercise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn separate_coordinator_process_survives_a_kill() {
    let dir = common::scratch("daemon-proc", "kill");
    let key = EcSecret::generate();
    let funded = 10_000;
    let sim = common::funded_sim(Duration::from_secs(3), 2000, &key, funded).await;
    let client = FactomdClient::new(RpcConfig::new(&sim.url())).unwrap();
    let coord = daemon(&sim.url(), ANY, &key, &dir);
    let caddr: SocketAddr = coord.miners().await;
    let miners = spawn_miners(caddr, SECRET, 2, 3);

    // Wait for a block with both miners' records.
    records_from(&client, 2000, 6, "both miners' records on chain").await;

    // Kill it, start it again on the same data dir and address (the miners reconnect by
    // themselves to the address they know).
    drop(coord);
    let (before, top) = landed(&client, 2000).await;
    let coord = daemon(&sim.url(), &caddr.to_string(), &key, &dir);
    assert_eq!(coord.miners().await, caddr);
    records_from(&client, top + 1, 6, "mining to resume after the restart").await;
    miners.stop().await;
    drop(coord);
    // Wait until the block being built at the kill is saved, then: every EC spent is an entry on
    // chain, none paid twice.
    let building = client.current_minute().await.unwrap().directoryblockheight + 1;
    until_some(
        &format!("block {building} to be saved"),
        Duration::from_secs(15),
        || async {
            (client.heights().await.unwrap().directoryblockheight >= building).then_some(())
        },
    )
    .await;
    let (total, _) = landed(&client, 2000).await;
    assert!(total > before);
    let balance = client.ec_balance(&key.public()).await.unwrap();
    assert_eq!(funded - balance, total as i64, "EC spent = entries landed");
    sim.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
