//! Failback waits for the block to end: a miner that failed over to a backup coordinator in the
//! middle of a block stays there while it mines the backup's job, and returns to the preferred
//! coordinator only after the backup's `stop` (its records submitted there). Moving in the middle
//! would throw the block's work away: the preferred coordinator has no job for the block, or
//! another one. Back on the preferred coordinator, a job for the block it just submitted is not
//! mined again; the next block's is.

use coordinator::server::{serve, CurrentJob, Hub, ServerConfig};
use hashcore::{CpuBackend, MiningBackend, Table};
use pegnet::{Network, OprTemplate};
use prices::Oracle;
use protocol::{Message, Secret};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

const FA: &str = "FA2jK2HcLnRdS94dEcU27rF3meoJfpUcZPSinpb7AwQvPRY6RL1Q";
const SECRET: &str = "farm-secret-0123456789";

async fn listener(addr: &str, table: &Arc<Table>) -> (Arc<Hub>, String, watch::Sender<bool>) {
    let cfg = ServerConfig {
        secret: Some(Secret::new(SECRET)),
        ..ServerConfig::default()
    };
    let hub = Hub::new(cfg, table.clone());
    let l = tokio::net::TcpListener::bind(addr).await.unwrap();
    let a = l.local_addr().unwrap().to_string();
    let (tx, rx) = watch::channel(false);
    tokio::spawn(serve(hub.clone(), l, rx));
    (hub, a, tx)
}

async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_miner_fails_back_only_after_the_backups_block_ends() {
    let t = Arc::new(Table::generate(10, &mut |_, _| {}).unwrap());
    let (a, a_addr, a_stop) = listener("127.0.0.1:0", &t).await;
    let (b, b_addr, _b_stop) = listener("127.0.0.1:0", &t).await;
    // The backup has the block's job (a standby builds every block's job at minute 1).
    let template = OprTemplate {
        network: Network::DevNet,
        height: 9,
        winners: vec![String::new(); 25],
        prices: Oracle::devnet().unwrap().record_prices(5).await.unwrap(),
    };
    b.start_job(CurrentJob {
        job_id: 7,
        template: template.clone(),
        min_difficulty: 0,
        records_wanted: 3,
    });
    let backend: Arc<dyn MiningBackend> = Arc::new(CpuBackend::start(t.clone(), 1, 0).unwrap());
    let (_tx, rx) = watch::channel(false);
    let cfg = netminer::client::MinerConfig {
        link: netmine_link::LinkConfig {
            coordinators: netmine_link::CoordinatorAddr::parse_all(&[a_addr.clone(), b_addr])
                .unwrap(),
            secret: Secret::new(SECRET),
            identity: "rover".into(),
            coinbase: FA.into(),
            failback_every: Duration::from_millis(100),
            ..Default::default()
        },
        top: 3,
        stats_every: Duration::from_millis(200),
        ..Default::default()
    };
    tokio::spawn(netminer::client::run(cfg, backend, rx));
    until("the miner on A", || a.miners() == ["rover"]).await;

    // A goes away mid-block: the miner moves to B and mines B's job.
    a_stop.send(true).unwrap();
    until("the miner on B", || b.miners() == ["rover"]).await;

    // A is back (first as a bare listener, to see the failback probe): the probe answers while
    // B's job runs, and the miner stays on B: the same session is heard from seconds later.
    let view = |hub: &Arc<Hub>| {
        hub.telemetry()
            .miners()
            .into_iter()
            .find(|m| m.identity == "rover" && m.connected)
    };
    let on_b = view(&b).expect("rover on B");
    let raw = tokio::net::TcpListener::bind(&a_addr).await.unwrap();
    let (probe, _) = tokio::time::timeout(Duration::from_secs(10), raw.accept())
        .await
        .expect("no failback probe")
        .unwrap();
    drop(probe);
    let probed = coordinator::telemetry::unix_now();
    until("rover heard on B two seconds after the probe", || {
        view(&b).is_some_and(|m| m.last_seen >= probed + 2)
    })
    .await;
    let still = view(&b).expect("rover left B while mining its job");
    assert_eq!(still.connected_at, on_b.connected_at, "a new session on B");
    drop(raw);
    let (a2, _, _a2_stop) = listener(&a_addr, &t).await;
    assert!(a2.miners().is_empty());
    // A serves a job for the same block (a primary restarted before minute 1 follows it too).
    a2.start_job(CurrentJob {
        job_id: 3,
        template: template.clone(),
        min_difficulty: 0,
        records_wanted: 3,
    });

    // B's block ends: the miner submits there, then returns to A.
    let mut seen = b.subscribe();
    b.broadcast(Message::Stop { job_id: 7 });
    let _ = tokio::time::timeout(Duration::from_secs(5), seen.recv()).await;
    until("the records submitted to B", || {
        b.telemetry()
            .miners()
            .iter()
            .any(|m| m.identity == "rover" && m.records_accepted > 0)
    })
    .await;
    until("the miner back on A", || a2.miners() == ["rover"]).await;
    until("the miner gone from B", || b.miners().is_empty()).await;

    // A's job is for the block the miner already submitted to B: it mines nothing for it and
    // submits nothing at A's stop (each coordinator paying for it is what the standby fence
    // exists to prevent). Proof that nothing came: the miner's stats, sent after the stop,
    // arrive two seconds later with no records before them.
    let stopped = coordinator::telemetry::unix_now();
    a2.broadcast(Message::Stop { job_id: 3 });
    let rover_on_a = || view(&a2).expect("rover on A");
    until("rover heard on A two seconds after the stop", || {
        rover_on_a().last_seen >= stopped + 2
    })
    .await;
    assert_eq!(
        rover_on_a().records_submitted,
        0,
        "records for block 9 twice"
    );

    // The next block is mined and submitted as always.
    a2.start_job(CurrentJob {
        job_id: 4,
        template: OprTemplate {
            height: 10,
            ..template
        },
        min_difficulty: 0,
        records_wanted: 3,
    });
    // The job reaches the miner before the stop: its stats, sent after it, say so.
    let sent = coordinator::telemetry::unix_now();
    until("rover heard on A after the next job", || {
        rover_on_a().last_seen >= sent + 2
    })
    .await;
    a2.broadcast(Message::Stop { job_id: 4 });
    until("block 10's records submitted to A", || {
        rover_on_a().records_accepted > 0
    })
    .await;
}
