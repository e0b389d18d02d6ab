//! The payout policy end to end: with `max_entries_per_coinbase`, a block's entries are spread over
//! the payout addresses. Three real miners (two rigs paying the same coinbase, one paying another)
//! mine a job from the engine against the simulated factomd; the store then holds at most the cap
//! per coinbase, and the other address's record takes the place the first one could have filled.

mod common;

use common::{miner, miner_cfg, until, PATIENCE};
use coordinator::engine::{EngineBuilder, EngineConfig};
use coordinator::server::{Hub, ServerConfig};
use coordinator::store::Store;
use factom::{EcSecret, MonitorEvent};
use pegnet::Network;
use protocol::{Message, Secret};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// The farm's payout address, shared by two rigs.
const FARM: &str = common::FA;
/// A guest miner's own address.
const GUEST: &str = "FA1zT4aFpEvcnPqPCigB3fvGu4Q4mTXY22iiuV69DqE1pNhdF2MC";

/// Runs one block with three miners and `per_coinbase`; returns the stored entries' miners.
async fn one_block(per_coinbase: Option<usize>) -> Vec<String> {
    let table = common::table(10);
    let key = EcSecret::generate();
    let sim = common::manual_sim(300_000, &[(&key, 100)]).await;
    let client = Arc::new(common::client(&sim, Duration::from_millis(200)));
    let height = client.current_minute().await.unwrap().directoryblockheight as u32 + 1;

    let coordinator = common::listen(
        Hub::new(
            ServerConfig {
                secret: Some(Secret::new(common::SECRET)),
                records_per_miner: 3,
                ..ServerConfig::default()
            },
            table.clone(),
        ),
        "127.0.0.1:0",
    )
    .await;
    let (hub, addr) = (coordinator.hub.clone(), coordinator.addr.to_string());

    let path = common::store_path("payout-policy", &format!("{per_coinbase:?}"));
    let (engine, mut summary_rx) = EngineBuilder {
        cfg: EngineConfig {
            network: Network::DevNet,
            max_entries: 3,
            max_entries_per_coinbase: per_coinbase,
            records_wanted: 3,
            cutoff: 0,
            // The miners hold their records before the stop: their submissions arrive at once.
            submit_window: Duration::from_secs(1),
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

    let miners: Vec<_> = [("rig1", FARM), ("rig2", FARM), ("guest", GUEST)]
        .iter()
        .map(|(identity, coinbase)| miner(&table, miner_cfg(&[&addr], identity, coinbase)))
        .collect();
    until("three miners", PATIENCE, || hub.miners().len() == 3).await;

    let mut seen = hub.subscribe();
    monitor
        .send(MonitorEvent::Minute { height, minute: 1 })
        .unwrap();
    let job = loop {
        match tokio::time::timeout(Duration::from_secs(10), seen.recv()).await {
            Ok(Ok(Message::Job { job_id, .. })) => break job_id,
            Ok(Ok(Message::Skip { reason, .. })) => panic!("skipped: {reason}"),
            Ok(_) => continue,
            Err(_) => panic!("no job"),
        }
    };
    until("each miner's 3 records", PATIENCE, || {
        miners.iter().all(|m| m.holds(job, 3))
    })
    .await;
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
