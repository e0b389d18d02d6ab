//! The payout policy end to end: with `max_entries_per_coinbase`, a block's entries are spread over
//! the payout addresses. Three real miners (two rigs paying the same coinbase, one paying another)
//! mine a job from the engine against the simulated factomd; the store then holds at most the cap
//! per coinbase, and the other address's record takes the place the first one could have filled.

use coordinator::engine::{EngineBuilder, EngineConfig};
use coordinator::server::{serve, Hub, ServerConfig};
use coordinator::store::Store;
use factom::{EcSecret, FactomdClient, MonitorEvent, RpcConfig};
use factomd_sim::{SimConfig, SimServer};
use hashcore::{CpuBackend, MiningBackend, Table};
use pegnet::Network;
use protocol::{Message, Secret};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, watch};

const SECRET: &str = "farm-secret-0123456789";
/// The farm's payout address, shared by two rigs.
const FARM: &str = "FA2jK2HcLnRdS94dEcU27rF3meoJfpUcZPSinpb7AwQvPRY6RL1Q";
/// A guest miner's own address.
const GUEST: &str = "FA1zT4aFpEvcnPqPCigB3fvGu4Q4mTXY22iiuV69DqE1pNhdF2MC";

async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs one block with three miners and `per_coinbase`; returns the stored entries' miners.
async fn one_block(per_coinbase: Option<usize>) -> Vec<String> {
    let table = Arc::new(Table::generate(10, &mut |_, _| {}).unwrap());
    let key = EcSecret::generate();
    let sim = SimServer::start(
        SimConfig {
            funded: vec![(key.public(), 100)],
            ..SimConfig::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let mut rpc = RpcConfig::new(&sim.url());
    rpc.retry_for = Duration::from_millis(200);
    let client = Arc::new(FactomdClient::new(rpc).unwrap());
    let height = client.current_minute().await.unwrap().directoryblockheight as u32 + 1;

    let hub = Hub::new(
        ServerConfig {
            secret: Some(Secret::new(SECRET)),
            records_per_miner: 3,
            ..ServerConfig::default()
        },
        table.clone(),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let (_stop, stop_rx) = watch::channel(false);
    tokio::spawn(serve(hub.clone(), l, stop_rx));

    let path = std::env::temp_dir().join(format!(
        "payout-policy-{}-{per_coinbase:?}.db",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&path);
    let (engine, mut summary_rx) = EngineBuilder {
        cfg: EngineConfig {
            network: Network::DevNet,
            max_entries: 3,
            max_entries_per_coinbase: per_coinbase,
            records_wanted: 3,
            cutoff: 0,
            submit_window: Duration::from_millis(1500),
            previous_winners: None,
            history_days: 0,
            standby: None,
        },
        hub: hub.clone(),
        client,
        table: table.clone(),
        store: Store::open(&path).unwrap(),
        key,
        prices: Arc::new(prices::Oracle::devnet().unwrap()),
    }
    .build();
    let (monitor, monitor_rx) = broadcast::channel(16);
    tokio::spawn(engine.run(monitor_rx));

    let mut miners = Vec::new();
    for (identity, coinbase) in [("rig1", FARM), ("rig2", FARM), ("guest", GUEST)] {
        let backend: Arc<dyn MiningBackend> =
            Arc::new(CpuBackend::start(table.clone(), 1, 0).unwrap());
        let (tx, rx) = watch::channel(false);
        let cfg = netminer::client::MinerConfig {
            link: netmine_link::LinkConfig {
                coordinators: vec![addr.parse().unwrap()],
                secret: Secret::new(SECRET),
                identity: identity.into(),
                coinbase: coinbase.into(),
                ..Default::default()
            },
            top: 3,
            stats_every: Duration::from_secs(5),
            ..Default::default()
        };
        tokio::spawn(netminer::client::run(cfg, backend, rx));
        miners.push(tx);
    }
    until("three miners", || hub.miners().len() == 3).await;

    let mut seen = hub.subscribe();
    monitor
        .send(MonitorEvent::Minute { height, minute: 1 })
        .unwrap();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), seen.recv()).await {
            Ok(Ok(Message::Job { .. })) => break,
            Ok(Ok(Message::Skip { reason, .. })) => panic!("skipped: {reason}"),
            Ok(_) => continue,
            Err(_) => panic!("no job"),
        }
    }
    // Enough time for each miner to keep 3 records of a 10-bit table.
    tokio::time::sleep(Duration::from_millis(500)).await;
    monitor
        .send(MonitorEvent::Minute { height, minute: 9 })
        .unwrap();
    let summary = tokio::time::timeout(Duration::from_secs(30), summary_rx.recv())
        .await
        .expect("a block summary")
        .unwrap();
    assert_eq!(summary.block.records_verified, 9, "{summary:?}");
    let stored = Store::open(&path).unwrap().entries(height).unwrap();
    sim.shutdown().await;
    let _ = std::fs::remove_file(&path);
    stored.into_iter().map(|e| e.miner).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_coinbase_gets_at_most_its_cap_and_the_other_fills_in() {
    let paid = one_block(Some(1)).await;
    let farm = paid.iter().filter(|m| *m == "rig1" || *m == "rig2").count();
    let guest = paid.iter().filter(|m| *m == "guest").count();
    assert_eq!((farm, guest), (1, 1), "{paid:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_cap_every_place_is_filled_by_difficulty() {
    let paid = one_block(None).await;
    assert_eq!(paid.len(), 3, "{paid:?}");
}
