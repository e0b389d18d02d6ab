//! The minute-9 fence between a primary and a standby that both hold records for one block (the
//! farm split between them: a link cut between some boxes and the primary). The primary pays;
//! the standby, which looks later, sees the farm's EC balance go down and pays nothing. When the
//! primary holds no records, nothing is spent and the standby pays.

use coordinator::engine::{BlockSummary, EngineBuilder, EngineConfig, StandbyTiming};
use coordinator::server::{serve, Hub, ServerConfig};
use coordinator::store::Store;
use factom::{EcSecret, FactomdClient, MonitorEvent, RpcConfig};
use factomd_sim::{SimConfig, SimServer};
use hashcore::{CpuBackend, MiningBackend, Table};
use pegnet::Network;
use prices::Oracle;
use protocol::Secret;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc, watch};

const FA: &str = "FA2jK2HcLnRdS94dEcU27rF3meoJfpUcZPSinpb7AwQvPRY6RL1Q";
const SECRET: &str = "farm-secret-0123456789";

struct Coordinator {
    hub: Arc<Hub>,
    addr: String,
    minutes: broadcast::Sender<MonitorEvent>,
    summaries: mpsc::UnboundedReceiver<BlockSummary>,
    _stop: watch::Sender<bool>,
}

async fn coordinator(
    sim: &SimServer,
    table: &Arc<Table>,
    key: &EcSecret,
    name: &str,
    standby: Option<StandbyTiming>,
) -> Coordinator {
    let cfg = ServerConfig {
        secret: Some(Secret::new(SECRET)),
        ..ServerConfig::default()
    };
    let hub = Hub::new(cfg, table.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let (stop, rx) = watch::channel(false);
    tokio::spawn(serve(hub.clone(), l, rx));
    let mut rpc = RpcConfig::new(&sim.url());
    rpc.retry_for = Duration::from_millis(500);
    let store = Store::open(&std::env::temp_dir().join(format!(
        "fence-{}-{name}-{}.db",
        std::process::id(),
        key.public()
    )))
    .unwrap();
    let (engine, summaries) = EngineBuilder {
        cfg: EngineConfig {
            network: Network::DevNet,
            max_entries: 10,
            max_entries_per_coinbase: None,
            records_wanted: 3,
            cutoff: 200,
            submit_window: Duration::from_millis(300),
            previous_winners: None,
            history_days: 0,
            standby,
        },
        hub: hub.clone(),
        client: Arc::new(FactomdClient::new(rpc).unwrap()),
        table: table.clone(),
        store,
        key: key.clone(),
        prices: Arc::new(Oracle::devnet().unwrap()),
    }
    .build();
    let (minutes, events) = broadcast::channel(16);
    tokio::spawn(engine.run(events));
    Coordinator {
        hub,
        addr,
        minutes,
        summaries,
        _stop: stop,
    }
}

/// A miner `identity` on `addr` only; stops when the returned sender is dropped.
fn miner(table: &Arc<Table>, addr: &str, identity: &str) -> watch::Sender<bool> {
    let backend: Arc<dyn MiningBackend> = Arc::new(CpuBackend::start(table.clone(), 1, 0).unwrap());
    let cfg = netminer::client::MinerConfig {
        link: netmine_link::LinkConfig {
            coordinators: netmine_link::CoordinatorAddr::parse_all(&[addr.to_string()]).unwrap(),
            secret: Secret::new(SECRET),
            identity: identity.into(),
            coinbase: FA.into(),
            ..Default::default()
        },
        top: 3,
        stats_every: Duration::from_secs(5),
        ..Default::default()
    };
    let (tx, rx) = watch::channel(false);
    tokio::spawn(netminer::client::run(cfg, backend, rx));
    tx
}

async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs block `height` on both coordinators: minute 1, mining until each miner holds its three
/// records, minute 9; returns the entries each paid.
async fn block(p: &mut Coordinator, s: &mut Coordinator, height: u32) -> (usize, usize) {
    for c in [&*p, &*s] {
        c.minutes
            .send(MonitorEvent::Minute { height, minute: 1 })
            .unwrap();
    }
    for hub in [&p.hub, &s.hub] {
        let deadline = Instant::now() + Duration::from_secs(20);
        while hub.current_job().map(|(h, _)| h) != Some(height) {
            let st = hub.telemetry().status();
            assert!(
                st.skipped.is_none() && Instant::now() < deadline,
                "no job for block {height}: {st:#?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // Mining a 10-bit table with no difficulty floor (no earlier records): each miner holds
    // its three records within microseconds; give the job time to reach them.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for c in [&*p, &*s] {
        c.minutes
            .send(MonitorEvent::Minute { height, minute: 9 })
            .unwrap();
    }
    let within = Duration::from_secs(20);
    let a = tokio::time::timeout(within, p.summaries.recv())
        .await
        .unwrap()
        .unwrap();
    let b = tokio::time::timeout(within, s.summaries.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((a.block.height, b.block.height), (height, height));
    (a.block.entries_paid, b.block.entries_paid)
}

/// A simulated factomd (blocks of 10 minutes: the test sends the minutes itself), the farm's
/// key holding 1,000 EC, a primary and a standby.
async fn farm() -> (
    SimServer,
    FactomdClient,
    EcSecret,
    Arc<Table>,
    Coordinator,
    Coordinator,
) {
    let key = EcSecret::generate();
    let sim = SimServer::start(
        SimConfig {
            funded: vec![(key.public(), 1_000)],
            ..SimConfig::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let node = FactomdClient::new(RpcConfig::new(&sim.url())).unwrap();
    let table = Arc::new(Table::generate(10, &mut |_, _| {}).unwrap());
    let p = coordinator(&sim, &table, &key, "primary", None).await;
    let s = coordinator(
        &sim,
        &table,
        &key,
        "standby",
        Some(StandbyTiming {
            delay: Duration::from_millis(400),
            poll: Duration::ZERO,
        }),
    )
    .await;
    (sim, node, key, table, p, s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_records_on_both_only_the_primary_pays() {
    let (_sim, node, key, table, mut p, mut s) = farm().await;
    let _alpha = miner(&table, &p.addr, "alpha");
    let _beta = miner(&table, &s.addr, "beta");
    until("alpha on the primary", || p.hub.miners() == ["alpha"]).await;
    until("beta on the standby", || s.hub.miners() == ["beta"]).await;

    let before = node.ec_balance(&key.public()).await.unwrap();
    let h = node.current_minute().await.unwrap().directoryblockheight as u32 + 1;
    let (paid_p, paid_s) = block(&mut p, &mut s, h).await;
    assert_eq!((paid_p, paid_s), (3, 0), "primary and standby paid");
    let status = s.hub.telemetry().status();
    let fence = status.fence.expect("the standby's fence");
    assert_eq!(
        (fence.outcome.as_str(), fence.ec_spent_elsewhere),
        ("paid_elsewhere", 3)
    );
    let after = node.ec_balance(&key.public()).await.unwrap();
    assert_eq!(before - after, 3, "one coordinator's entries were paid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_records_on_the_primary_the_standby_pays() {
    let (_sim, node, key, table, mut p, mut s) = farm().await;
    let _beta = miner(&table, &s.addr, "beta");
    until("beta on the standby", || s.hub.miners() == ["beta"]).await;

    let before = node.ec_balance(&key.public()).await.unwrap();
    let h = node.current_minute().await.unwrap().directoryblockheight as u32 + 1;
    let (paid_p, paid_s) = block(&mut p, &mut s, h).await;
    assert_eq!((paid_p, paid_s), (0, 3), "primary and standby paid");
    assert_eq!(s.hub.telemetry().status().fence.unwrap().outcome, "clear");
    assert_eq!(node.ec_balance(&key.public()).await.unwrap(), before - 3);
}

/// The standby counts its wait from when minute 9 began on its node (`payer::minute_began`):
/// the node's `currenttime` less `currentminutestarttime`, so the moment holds still however late
/// it is asked, and a minute or block the node is not in gives nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_says_when_the_minute_began_and_nothing_for_another_minute() {
    let sim = SimServer::start(
        SimConfig {
            block_time: Duration::from_secs(6),
            ..SimConfig::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let node = FactomdClient::new(RpcConfig::new(&sim.url())).unwrap();
    // Right after a minute changes (polled every 10 ms of its 600 ms).
    let first = node.current_minute().await.unwrap();
    let cm = loop {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let cm = node.current_minute().await.unwrap();
        if cm.minute != first.minute {
            break cm;
        }
    };
    let noticed = Instant::now();
    let height = cm.directoryblockheight as u32 + 1;
    let began = coordinator::payer::minute_began(&node, height, cm.minute)
        .await
        .expect("the node is in that minute");
    assert!(
        began <= noticed && noticed - began < Duration::from_millis(150),
        "the minute began {:?} before it was noticed",
        noticed.saturating_duration_since(began)
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    if let Some(again) = coordinator::payer::minute_began(&node, height, cm.minute).await {
        let moved = again.max(began) - again.min(began);
        assert!(moved < Duration::from_millis(50), "moved by {moved:?}");
    }
    let other = (cm.minute + 5) % 10;
    assert_eq!(
        coordinator::payer::minute_began(&node, height, other).await,
        None
    );
    assert_eq!(
        coordinator::payer::minute_began(&node, height + 1, cm.minute).await,
        None
    );
}
