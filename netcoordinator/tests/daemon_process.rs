//! The coordinator as its own process (`netcoordinator --network devnet --factomd …`) with miners
//! connecting over TCP: entries land; the coordinator is killed and restarted on the same data dir
//! and mining goes on, with every entry paid exactly once (the EC balance matches what landed).

use factom::{EcSecret, FactomdClient, RpcConfig};
use factomd_sim::{SimConfig, SimServer};
use hashcore::{CpuBackend, MiningBackend, Table};
use pegnet::Network;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const FA: &str = "FA2jK2HcLnRdS94dEcU27rF3meoJfpUcZPSinpb7AwQvPRY6RL1Q";

fn coordinator(sim: &str, port: u16, key: &EcSecret, dir: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_netcoordinator"))
        .args([
            "--network",
            "devnet",
            "--factomd",
            sim,
            "--caddr",
            &format!("127.0.0.1:{port}"),
            "--secret",
            "s3cret-0123456789abcdef",
        ])
        .args([
            "--bits",
            "12",
            "--submit-window",
            "0.15",
            "--records-per-miner",
            "3",
            "--max-entries",
            "10",
            "--http",
            "off",
        ])
        .arg("--table-dir")
        .arg(dir.join("tables"))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .env("NETMINE_EC_SECRET", key.to_secret_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn wait_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "coordinator never listened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn separate_coordinator_process_survives_a_kill() {
    let dir = std::env::temp_dir().join(format!("daemon-proc-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let key = EcSecret::generate();
    let funded = 10_000;
    let sim = SimServer::start(
        SimConfig {
            block_time: Duration::from_secs(3),
            start_height: 2000,
            funded: vec![(key.public(), funded)],
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let client = FactomdClient::new(RpcConfig::new(&sim.url())).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut coord = coordinator(&sim.url(), port, &key, &dir);
    wait_port(port).await;

    let table = Arc::new(Table::generate(12, &mut |_, _| {}).unwrap());
    let (stop, rx) = tokio::sync::watch::channel(false);
    let mut miners = Vec::new();
    for k in 0..2 {
        let backend: Arc<dyn MiningBackend> =
            Arc::new(CpuBackend::start(table.clone(), 1, 0).unwrap());
        let cfg = netminer::client::MinerConfig {
            link: netmine_link::LinkConfig {
                coordinators: vec![format!("127.0.0.1:{port}").parse().unwrap()],
                secret: protocol::Secret::new("s3cret-0123456789abcdef"),
                identity: format!("proc{k}"),
                coinbase: FA.into(),
                failback_every: Duration::from_secs(30),
                ..Default::default()
            },
            top: 3,
            stats_every: Duration::from_millis(500),
            ..Default::default()
        };
        miners.push(tokio::spawn(netminer::client::run(
            cfg,
            backend,
            rx.clone(),
        )));
    }

    // Wait for a block with both miners' records.
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let (n, _) = landed(&client, 2000).await;
        if n >= 6 {
            break;
        }
        assert!(Instant::now() < deadline, "no entries landed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Kill it, start it again on the same data dir; the miners reconnect by themselves.
    coord.kill().unwrap();
    let _ = coord.wait();
    let (before, top) = landed(&client, 2000).await;
    let mut coord = coordinator(&sim.url(), port, &key, &dir);
    wait_port(port).await;
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let (n, _) = landed(&client, top + 1).await;
        if n >= 6 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "mining did not resume after the restart"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = stop.send(true);
    for m in miners {
        m.await.unwrap().unwrap();
    }
    coord.kill().unwrap();
    let _ = coord.wait();
    // Wait until the block being built at the kill is saved, then: every EC spent is an entry on
    // chain, none paid twice.
    let building = client.current_minute().await.unwrap().directoryblockheight + 1;
    let deadline = Instant::now() + Duration::from_secs(15);
    while client.heights().await.unwrap().directoryblockheight < building {
        assert!(
            Instant::now() < deadline,
            "block {building} was never saved"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (total, _) = landed(&client, 2000).await;
    assert!(total > before);
    let balance = client.ec_balance(&key.public()).await.unwrap();
    assert_eq!(funded - balance, total as i64, "EC spent = entries landed");
    sim.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
