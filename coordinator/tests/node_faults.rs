//! A misbehaving node cannot make the coordinator start a second job or pay a second round for a
//! block: its minute going back (rewind) or its height jumping are ignored, and the store remembers
//! which heights were planned and paid. A node reporting height 0 (or -1) is survived.

use coordinator::daemon::{spawn, telemetry_for, Parts, Running};
use coordinator::engine::EngineConfig;
use coordinator::server::ServerConfig;
use coordinator::store::Store;
use factom::{EcSecret, FactomdClient, MonitorConfig, RpcConfig};
use factomd_sim::{SimConfig, SimServer};
use hashcore::{CpuBackend, MiningBackend, Table};
use pegnet::Network;
use protocol::{Message, Secret};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const FA: &str = "FA2jK2HcLnRdS94dEcU27rF3meoJfpUcZPSinpb7AwQvPRY6RL1Q";

struct Setup {
    sim: SimServer,
    client: Arc<FactomdClient>,
    running: Running,
    jobs: Arc<Mutex<BTreeMap<u32, usize>>>,
    skips: Arc<Mutex<Vec<(u32, String)>>>,
    _stop: tokio::sync::watch::Sender<bool>,
}

async fn setup(tag: &str, block: Duration, start_height: u32, miners: usize) -> Setup {
    let key = EcSecret::generate();
    let sim = SimServer::start(
        SimConfig {
            block_time: block,
            start_height,
            funded: vec![(key.public(), 10_000)],
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let minute = block / 10;
    let mut rpc = RpcConfig::new(&sim.url());
    rpc.retry_for = minute;
    let client = Arc::new(FactomdClient::new(rpc).unwrap());
    let table = Arc::new(Table::generate(10, &mut |_, _| {}).unwrap());
    let path = std::env::temp_dir().join(format!("node-faults-{tag}-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let server = ServerConfig {
        secret: Some(Secret::new("farm-secret-0123456789")),
        records_per_miner: 3,
        ..ServerConfig::default()
    };
    let telemetry = telemetry_for(&server, Network::DevNet, &key);
    let running = spawn(Parts {
        listener: tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        client: client.clone(),
        table: table.clone(),
        store: Store::open(&path).unwrap(),
        key,
        prices: Arc::new(prices::Oracle::devnet().unwrap()),
        server,
        engine: EngineConfig {
            network: Network::DevNet,
            max_entries: 3,
            max_entries_per_coinbase: None,
            records_wanted: 3,
            cutoff: 200,
            submit_window: minute / 6,
            previous_winners: None,
            history_days: 0,
            standby: None,
        },
        monitor: MonitorConfig {
            poll: minute / 6,
            down_after: minute * 2,
            max_backoff: minute,
        },
        telemetry,
    })
    .await
    .unwrap();
    let jobs = Arc::new(Mutex::new(BTreeMap::new()));
    let skips = Arc::new(Mutex::new(Vec::new()));
    let mut seen = running.hub.subscribe();
    let (j, s) = (jobs.clone(), skips.clone());
    tokio::spawn(async move {
        while let Ok(m) = seen.recv().await {
            match m {
                Message::Job { opr, .. } => *j.lock().unwrap().entry(opr.height).or_default() += 1,
                Message::Skip { height, reason } => s.lock().unwrap().push((height, reason)),
                _ => {}
            }
        }
    });
    let (stop, rx) = tokio::sync::watch::channel(false);
    for k in 0..miners {
        let backend: Arc<dyn MiningBackend> =
            Arc::new(CpuBackend::start(table.clone(), 1, 0).unwrap());
        let cfg = netminer::client::MinerConfig {
            link: netmine_link::LinkConfig {
                coordinators: vec![running.addr.to_string().parse().unwrap()],
                secret: Secret::new("farm-secret-0123456789"),
                identity: format!("rig{k}"),
                coinbase: FA.into(),
                failback_every: Duration::from_secs(30),
                ..Default::default()
            },
            top: 3,
            stats_every: Duration::from_secs(1),
            ..Default::default()
        };
        tokio::spawn(netminer::client::run(cfg, backend, rx.clone()));
    }
    Setup {
        sim,
        client,
        running,
        jobs,
        skips,
        _stop: stop,
    }
}

async fn minute_now(c: &FactomdClient) -> (u32, i64) {
    let cm = c.current_minute_once().await.unwrap();
    (cm.directoryblockheight as u32 + 1, cm.minute)
}

async fn wait_for_minute(c: &FactomdClient, minute: i64, within: Duration) -> u32 {
    let deadline = Instant::now() + within;
    loop {
        let (h, m) = minute_now(c).await;
        if m == minute {
            return h;
        }
        assert!(Instant::now() < deadline, "minute {minute} never came");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn entries(c: &FactomdClient, height: u32, within: Duration) -> usize {
    let deadline = Instant::now() + within;
    while (c.heights().await.unwrap().directoryblockheight as u32) < height {
        assert!(Instant::now() < deadline, "block {height} never saved");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    c.entries_at(&Network::DevNet.opr_chain(), height)
        .await
        .unwrap()
        .iter()
        .filter(|(_, e)| e.ext_ids.len() == 3)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_minute_rewind_starts_no_second_job_and_pays_no_second_round() {
    let mut s = setup("rewind", Duration::from_secs(6), 7000, 2).await;
    // A block with a job and a payment.
    let paid = tokio::time::timeout(Duration::from_secs(25), s.running.summaries.recv())
        .await
        .expect("a block was paid")
        .unwrap();
    let h = paid.block.height;
    assert!(paid.block.entries_paid > 0, "{paid:?}");
    // Still in minute 9 of h: the node's minute goes back to 1, then forward to 9 again.
    s.sim.sim().set_minute_rewind(Some(1));
    tokio::time::sleep(Duration::from_millis(250)).await;
    s.sim.sim().set_minute_rewind(None);
    assert_eq!(minute_now(&s.client).await.0, h, "still block {h}");
    // And once more at minute 1 of the next block, after the job went out.
    let next = wait_for_minute(&s.client, 3, Duration::from_secs(10)).await;
    assert_eq!(next, h + 1);
    s.sim.sim().set_minute_rewind(Some(1));
    tokio::time::sleep(Duration::from_millis(300)).await;
    s.sim.sim().set_minute_rewind(None);
    assert!(entries(&s.client, h, Duration::from_secs(10)).await <= 3);
    assert!(entries(&s.client, h + 1, Duration::from_secs(15)).await <= 3);
    let jobs = s.jobs.lock().unwrap().clone();
    assert_eq!(jobs.get(&h), Some(&1), "{jobs:?}");
    assert_eq!(jobs.get(&(h + 1)), Some(&1), "{jobs:?}");
    assert!(!s.running.engine.is_finished());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_height_jump_starts_no_second_job_for_a_height() {
    let s = setup("jump", Duration::from_secs(4), 8000, 1).await;
    // At minute 1 the node claims to be a block ahead, then comes back.
    let h = wait_for_minute(&s.client, 1, Duration::from_secs(10)).await;
    s.sim.sim().set_height_offset(1);
    tokio::time::sleep(Duration::from_millis(250)).await;
    s.sim.sim().set_height_offset(0);
    // Wait past the real minute 1 of h + 1 and h + 2.
    let deadline = Instant::now() + Duration::from_secs(15);
    while minute_now(&s.client).await.0 < h + 2 || minute_now(&s.client).await.1 < 3 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let jobs = s.jobs.lock().unwrap().clone();
    assert!(jobs.values().all(|n| *n == 1), "{jobs:?}");
    assert!(entries(&s.client, h + 1, Duration::from_secs(10)).await <= 3);
    assert!(!s.running.engine.is_finished());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_at_height_0_or_minus_1_is_survived() {
    // The simulator's first block being built is 1 (saved height 0); shifting by -1 makes the node
    // report a saved height of -1, so the block being built is 0.
    let s = setup("zero", Duration::from_secs(2), 1, 0).await;
    s.sim.sim().set_height_offset(-1);
    // The monitor first ignores the height going back, then follows a node that stays behind
    // for a whole block: a few blocks at most, with room for a busy machine.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some((_, why)) = s.skips.lock().unwrap().iter().find(|(h, _)| *h == 0) {
            assert!(why.contains("block 0"), "{why}");
            break;
        }
        assert!(Instant::now() < deadline, "no skip for block 0");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    s.sim.sim().set_height_offset(0);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !s.jobs.lock().unwrap().keys().any(|h| *h >= 1) {
        assert!(Instant::now() < deadline, "no job after the node recovered");
        assert!(!s.running.engine.is_finished(), "the engine died");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!s.running.engine.is_finished());
}
