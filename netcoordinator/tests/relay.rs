//! Relays: two miners behind a relay and one on the primary are all paid by the primary, which
//! lists the relayed miners with the relay they came through; the relay gets its table from the
//! primary and needs no factomd, prices or EC key; nothing is paid twice.

mod common;

use common::{free_port, funded_sim, spawn_named_miners};
use factom::EcSecret;
use serde_json::Value;
use std::collections::HashSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SECRET: &str = "primary-secret-0123456789";
const RELAY_SECRET: &str = "relays-only-secret-0123456789";
const SITE_SECRET: &str = "site-b-secret-0123456789";

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn log(dir: &Path, name: &str) -> std::fs::File {
    std::fs::File::create(dir.join(name)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn miners_behind_a_relay_and_on_the_primary_are_all_paid_by_the_primary() {
    let d = common::scratch("relay", "farm");
    let key = EcSecret::generate();
    let sim = funded_sim(Duration::from_secs(6), 8000, &key, 10_000).await;
    let (primary, http, site) = (free_port(), free_port(), free_port());
    let _primary = Kill(
        Command::new(env!("CARGO_BIN_EXE_netcoordinator"))
            .args([
                "--network",
                "devnet",
                "--factomd",
                &sim.url(),
                "--bits",
                "12",
            ])
            .args(["--caddr", &format!("127.0.0.1:{primary}")])
            .args(["--http", &format!("127.0.0.1:{http}")])
            .args([
                "--relays",
                "siteB",
                "--max-entries",
                "30",
                "--records-per-miner",
                "5",
            ])
            .arg("--table-dir")
            .arg(d.join("primary-tables"))
            .arg("--data-dir")
            .arg(d.join("primary-data"))
            .env("NETMINE_SECRET", SECRET)
            .env("NETMINE_RELAY_SECRET", RELAY_SECRET)
            .env("NETMINE_EC_SECRET", key.to_secret_string())
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(log(&d, "primary.log"))
            .spawn()
            .unwrap(),
    );
    // The relay: no factomd, no EC key; its table comes from the primary.
    let _relay = Kill(
        Command::new(env!("CARGO_BIN_EXE_netcoordinator"))
            .args(["relay", "--upstream", &format!("127.0.0.1:{primary}")])
            .args(["--name", "siteB", "--caddr", &format!("127.0.0.1:{site}")])
            .args(["--bits", "12"])
            .arg("--table-dir")
            .arg(d.join("relay-tables"))
            .env("NETMINE_UPSTREAM_SECRET", RELAY_SECRET)
            .env("NETMINE_SECRET", SITE_SECRET)
            .env_remove("NETMINE_EC_SECRET")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(log(&d, "relay.log"))
            .spawn()
            .unwrap(),
    );
    let (stop, rx) = tokio::sync::watch::channel(false);
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    spawn_named_miners(site, SITE_SECRET, &names(&["siteB1", "siteB2"]), 5, &rx);
    spawn_named_miners(primary, SECRET, &names(&["home1"]), 5, &rx);

    // Every miner paid, by the primary; the relayed ones listed with their relay.
    let url = format!("http://127.0.0.1:{http}/api/miners");
    let deadline = Instant::now() + Duration::from_secs(90);
    let miners = loop {
        let v: Option<Value> = match reqwest::get(&url).await {
            Ok(r) => r.json().await.ok(),
            Err(_) => None,
        };
        let paid = |v: &Value, id: &str| {
            v["miners"].as_array().is_some_and(|m| {
                m.iter()
                    .any(|m| m["identity"] == id && m["entries_paid"].as_u64() > Some(0))
            })
        };
        if let Some(v) = v {
            if ["siteB1", "siteB2", "home1"].iter().all(|id| paid(&v, id)) {
                break v;
            }
        }
        if Instant::now() > deadline {
            let logs = ["primary.log", "relay.log"]
                .map(|f| std::fs::read_to_string(d.join(f)).unwrap_or_default());
            panic!(
                "not every miner was paid in time:\nprimary:\n{}\nrelay:\n{}",
                logs[0], logs[1]
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    for m in miners["miners"].as_array().unwrap() {
        let via = if m["identity"].as_str().unwrap().starts_with("siteB") {
            Value::from("siteB")
        } else {
            Value::Null
        };
        if m["identity"] != "siteB" {
            assert_eq!(m["via"], via, "{m:#}");
        }
    }
    // The relay forwards its miners' rates every 10 s.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let v: Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
        let relayed_rates = v["miners"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["via"] == "siteB")
            .filter(|m| m["rate_10s"].as_f64() > Some(0.0) && m["backend"] == "cpu")
            .count();
        if relayed_rates == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "no relayed rates: {v:#}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Nothing paid twice: every entry hash once across the history, and the chain holds exactly
    // what the primary says it paid.
    let blocks: Value = reqwest::get(format!("http://127.0.0.1:{http}/api/blocks?limit=100"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut seen = HashSet::new();
    for b in blocks["blocks"].as_array().unwrap() {
        for h in b["entry_hashes"].as_array().unwrap() {
            assert!(
                seen.insert(h.as_str().unwrap().to_string()),
                "{h} paid twice"
            );
        }
    }
    let relay_log = std::fs::read_to_string(d.join("relay.log")).unwrap();
    assert!(
        relay_log.contains("table copied") || relay_log.contains("linked to the upstream"),
        "{relay_log}"
    );
    assert!(!relay_log.contains(SECRET) && !relay_log.contains(SITE_SECRET));
    assert!(!relay_log.contains(RELAY_SECRET));
    let _ = stop.send(true);
    sim.shutdown().await;
    let _ = std::fs::remove_dir_all(&d);
}

/// A relay cut from its primary keeps its miners mining; the records they hand in meanwhile wait
/// and reach the primary when the link is back; a name not in the primary's `relays` list cannot
/// relay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_handed_in_while_the_link_is_down_reach_the_primary_when_it_is_back() {
    use coordinator::server::{serve, CurrentJob, Hub, ServerConfig};
    use hashcore::{CpuBackend, MiningBackend, Table};
    use netcoordinator::relay::{start, RelayOptions};
    use pegnet::{Network, OprTemplate};
    use protocol::{Message, Secret};
    use std::sync::Arc;
    use tokio::sync::watch;

    let d = common::scratch("relay", "cut");
    let table = Arc::new(Table::generate(10, &mut |_, _| {}).unwrap());
    let hub = Hub::new(
        ServerConfig {
            secret: Some(Secret::new(SECRET)),
            relays: vec!["siteB".into()],
            records_per_miner: 5,
            ..ServerConfig::default()
        },
        table.clone(),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let primary = l.local_addr().unwrap();
    let (cut, rx) = watch::channel(false);
    tokio::spawn(serve(hub.clone(), l, rx));
    let job = CurrentJob {
        job_id: 41,
        template: OprTemplate {
            network: Network::DevNet,
            height: 300,
            winners: vec![String::new(); 25],
            prices: (1..=62).map(|k| k * 1000).collect(),
        },
        min_difficulty: 0,
        records_wanted: 3,
    };
    hub.start_job(job.clone());

    let relay = start(RelayOptions {
        upstream: vec![primary.to_string()],
        upstream_secret: Secret::new(SECRET),
        upstream_tls: Default::default(),
        name: "siteB".into(),
        listen: "127.0.0.1:0".parse().unwrap(),
        server: ServerConfig {
            secret: Some(Secret::new(SITE_SECRET)),
            records_per_miner: 100,
            ..ServerConfig::default()
        },
        bits: Some(10),
        table_dir: Some(d.join("relay-tables")),
    })
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while relay.hub.current_job().map(|(_, id)| id) != Some(41) {
        assert!(Instant::now() < deadline, "the relay never got the job");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (stop, stop_rx) = watch::channel(false);
    let backend: Arc<dyn MiningBackend> = Arc::new(CpuBackend::start(table.clone(), 1, 0).unwrap());
    tokio::spawn(netminer::client::run(
        netminer::client::MinerConfig {
            coordinators: vec![relay.addr.to_string()],
            secret: Secret::new(SITE_SECRET),
            identity: "siteB1".into(),
            coinbase: common::FA.into(),
            ..Default::default()
        },
        backend.clone(),
        stop_rx,
    ));
    while backend.hash_counts().iter().sum::<u64>() < 1000 {
        assert!(
            Instant::now() < deadline,
            "the miner behind the relay never mined"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The primary goes away; the relay's miner is told to submit meanwhile.
    let _ = cut.send(true);
    tokio::time::sleep(Duration::from_millis(500)).await;
    relay.hub.broadcast(Message::Stop { job_id: 41 });
    while relay.hub.miners_with_work() == 0 {
        assert!(
            Instant::now() < deadline,
            "the relay never took the records"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        hub.miners_with_work(),
        0,
        "nothing can have reached the primary yet"
    );
    // Back on the same address: the waiting records arrive, verified again by the primary.
    let l = tokio::net::TcpListener::bind(primary).await.unwrap();
    let (_back, rx) = watch::channel(false);
    tokio::spawn(serve(hub.clone(), l, rx));
    let deadline = Instant::now() + Duration::from_secs(20);
    while hub.footprint().accepted < 3 {
        assert!(
            Instant::now() < deadline,
            "the waiting records never reached the primary"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (work, counts) = hub.take_work(41);
    assert_eq!(work.len(), 1);
    assert_eq!(work[0].record.identity, "siteB1");
    assert_eq!(work[0].accepted.len(), 3, "{counts:?}");
    let _ = stop.send(true);
    drop(relay);
    let _ = std::fs::remove_dir_all(&d);
}

/// Only the names in the primary's `relays` list may relay: a miner that sends relay messages
/// is told so and nothing it claims for others is counted.
#[tokio::test]
async fn a_miner_not_listed_as_a_relay_cannot_relay() {
    use coordinator::server::{serve, Hub, ServerConfig};
    use hashcore::Table;
    use protocol::{Message, Secret};
    use std::sync::Arc;

    let hub = Hub::new(
        ServerConfig {
            secret: Some(Secret::new(SECRET)),
            relays: vec!["siteB".into()],
            ..ServerConfig::default()
        },
        Arc::new(Table::generate(10, &mut |_, _| {}).unwrap()),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let (_stop, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(serve(hub.clone(), l, rx));
    let cfg = netminer::client::MinerConfig {
        coordinators: vec![addr.clone()],
        secret: Secret::new(SECRET),
        identity: "box1".into(),
        coinbase: common::FA.into(),
        ..Default::default()
    };
    let (mut ws, mut session) = netminer::client::open_session(&cfg, &addr).await.unwrap();
    let claim = Message::RelayStats {
        identity: "victim".into(),
        coinbase: common::FA.into(),
        address: "1.2.3.4:5".into(),
        stats: Default::default(),
    };
    netminer::client::send(&mut ws, &mut session, &claim)
        .await
        .unwrap();
    let answer = loop {
        let text = protocol::ws::recv_text(&mut ws, "coordinator")
            .await
            .unwrap();
        match session.open(&text).unwrap() {
            Message::Error { message } => break message,
            _ => continue,
        }
    };
    assert!(answer.contains("box1 is not a relay"), "{answer}");
    assert!(!hub
        .telemetry()
        .miners()
        .iter()
        .any(|m| m.identity == "victim"));

    // With a relay secret, the farm secret does not let a box pass under a relay's name.
    let guarded = Hub::new(
        ServerConfig {
            secret: Some(Secret::new(SECRET)),
            relays: vec!["siteB".into()],
            relay_secret: Some(Secret::new(RELAY_SECRET)),
            ..ServerConfig::default()
        },
        Arc::new(Table::generate(10, &mut |_, _| {}).unwrap()),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let (_stop2, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(serve(guarded, l, rx));
    let as_relay = |secret: &str| netminer::client::MinerConfig {
        coordinators: vec![addr.clone()],
        secret: Secret::new(secret),
        identity: "siteB".into(),
        coinbase: common::FA.into(),
        ..Default::default()
    };
    let refused = netminer::client::open_session(&as_relay(SECRET), &addr).await;
    assert!(
        refused.is_err(),
        "a box with the farm secret passed as the relay"
    );
    assert!(
        netminer::client::open_session(&as_relay(RELAY_SECRET), &addr)
            .await
            .is_ok()
    );
    // Miners still use the farm secret.
    assert!(netminer::client::open_session(&cfg, &addr).await.is_ok());
}

/// A relay can be the upstream of another relay: a miner two relays away is verified at each
/// hop and its records reach the primary with its identity.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_behind_a_relay_reaches_the_primary() {
    use coordinator::server::{serve, CurrentJob, Hub, ServerConfig};
    use hashcore::{CpuBackend, MiningBackend, Table};
    use netcoordinator::relay::{start, RelayOptions};
    use pegnet::{Network, OprTemplate};
    use protocol::{Message, Secret};
    use std::sync::Arc;

    let d = common::scratch("relay", "chain");
    let table = Arc::new(Table::generate(10, &mut |_, _| {}).unwrap());
    let hub = Hub::new(
        ServerConfig {
            secret: Some(Secret::new(SECRET)),
            relays: vec!["siteB".into()],
            records_per_miner: 5,
            ..ServerConfig::default()
        },
        table.clone(),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let primary = l.local_addr().unwrap();
    let (_stop_primary, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(serve(hub.clone(), l, rx));
    hub.start_job(CurrentJob {
        job_id: 7,
        template: OprTemplate {
            network: Network::DevNet,
            height: 500,
            winners: vec![String::new(); 25],
            prices: (1..=62).map(|k| k * 1000).collect(),
        },
        min_difficulty: 0,
        records_wanted: 2,
    });
    let relay =
        |name: &str, upstream: String, secret: &str, own: &str, relays: Vec<String>| RelayOptions {
            upstream: vec![upstream],
            upstream_secret: Secret::new(secret),
            upstream_tls: Default::default(),
            name: name.into(),
            listen: "127.0.0.1:0".parse().unwrap(),
            server: ServerConfig {
                secret: Some(Secret::new(own)),
                records_per_miner: 100,
                relays,
                ..ServerConfig::default()
            },
            bits: Some(10),
            table_dir: Some(d.join(format!("{name}-tables"))),
        };
    let b = start(relay(
        "siteB",
        primary.to_string(),
        SECRET,
        SITE_SECRET,
        vec!["siteC".into()],
    ))
    .await
    .unwrap();
    let c_secret = "site-c-secret-0123456789";
    let c = start(relay(
        "siteC",
        b.addr.to_string(),
        SITE_SECRET,
        c_secret,
        vec![],
    ))
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while c.hub.current_job().map(|(_, id)| id) != Some(7) {
        assert!(
            Instant::now() < deadline,
            "the job never reached the second relay"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let backend: Arc<dyn MiningBackend> = Arc::new(CpuBackend::start(table.clone(), 1, 0).unwrap());
    tokio::spawn(netminer::client::run(
        netminer::client::MinerConfig {
            coordinators: vec![c.addr.to_string()],
            secret: Secret::new(c_secret),
            identity: "far1".into(),
            coinbase: common::FA.into(),
            ..Default::default()
        },
        backend.clone(),
        stop_rx,
    ));
    while backend.hash_counts().iter().sum::<u64>() < 1000 {
        assert!(Instant::now() < deadline, "the far miner never mined");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    hub.broadcast(Message::Stop { job_id: 7 });
    while hub.miners_with_work() == 0 {
        assert!(
            Instant::now() < deadline,
            "the far miner's records never reached the primary"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The records are verified again at each hop: wait for both to be accepted at the primary.
    let deadline = Instant::now() + Duration::from_secs(10);
    while hub.footprint().accepted < 2 {
        assert!(
            Instant::now() < deadline,
            "the far miner's records were not accepted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (work, counts) = hub.take_work(7);
    assert_eq!(work[0].record.identity, "far1");
    assert_eq!(work[0].accepted.len(), 2, "{counts:?}");
    let listed = hub.telemetry().miners();
    let far = listed
        .iter()
        .find(|m| m.identity == "far1")
        .expect("far1 listed");
    assert_eq!(far.via.as_deref(), Some("siteB"));
    let _ = stop.send(true);
    drop((b, c));
    let _ = std::fs::remove_dir_all(&d);
}

/// A submission the relay sent but the upstream never answered (the link died with it in
/// flight) is sent again on the next link.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submission_the_upstream_never_answered_is_sent_again() {
    use coordinator::server::ServerConfig;
    use futures_util::StreamExt;
    use hashcore::{CpuBackend, MiningBackend};
    use netcoordinator::relay::{start, RelayOptions};
    use protocol::{CoordinatorHandshake, Difficulty, Message, OprFields, Secret};
    use std::sync::Arc;
    use tokio_tungstenite::tungstenite::Message as Ws;

    let d = common::scratch("relay", "unacked");
    let tables = d.join("tables");
    let (table, _) = hashcore::cache::load_or_build(&hashcore::TableOptions {
        bits: 10,
        dir: Some(tables.clone()),
        progress: false,
    })
    .unwrap();
    // A bare upstream: authenticates the relay, sends a job, and reports each relayed
    // submission; it answers none of them and drops the link after the first.
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = l.local_addr().unwrap();
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel::<Message>();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = l.accept().await.unwrap();
            let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
            let secret = Secret::new(RELAY_SECRET);
            let (hs, challenge) = CoordinatorHandshake::start(&secret);
            ws.send_text(challenge).await;
            let Some(Ok(Ws::Text(auth))) = ws.next().await else {
                continue;
            };
            let (mut session, _, welcome) = hs.finish(auth.as_str()).unwrap();
            ws.send_text(welcome).await;
            let job = Message::Job {
                job_id: 5,
                opr: OprFields {
                    network: "devnet".into(),
                    height: 900,
                    version: 5,
                    winners: vec![String::new(); 25],
                    prices: (1..=62).map(|k| k * 1000).collect(),
                },
                min_difficulty: Difficulty(0),
                records_wanted: 3,
            };
            ws.send_text(session.seal(&job).unwrap()).await;
            while let Some(Ok(Ws::Text(t))) = ws.next().await {
                let m = session.open(t.as_str()).unwrap();
                if matches!(m, Message::RelaySubmission { .. }) {
                    let _ = seen_tx.send(m);
                    break; // the link dies with the submission unanswered
                }
            }
        }
    });
    let relay = start(RelayOptions {
        upstream: vec![upstream.to_string()],
        upstream_secret: Secret::new(RELAY_SECRET),
        upstream_tls: Default::default(),
        name: "siteB".into(),
        listen: "127.0.0.1:0".parse().unwrap(),
        server: ServerConfig {
            secret: Some(Secret::new(SITE_SECRET)),
            records_per_miner: 100,
            ..ServerConfig::default()
        },
        bits: Some(10),
        table_dir: Some(tables),
    })
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while relay.hub.current_job() != Some((900, 5)) {
        assert!(Instant::now() < deadline, "the relay never got the job");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let backend: Arc<dyn MiningBackend> = Arc::new(CpuBackend::start(table, 1, 0).unwrap());
    let (stop, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(netminer::client::run(
        netminer::client::MinerConfig {
            coordinators: vec![relay.addr.to_string()],
            secret: Secret::new(SITE_SECRET),
            identity: "siteB1".into(),
            coinbase: common::FA.into(),
            ..Default::default()
        },
        backend.clone(),
        rx,
    ));
    while backend.hash_counts().iter().sum::<u64>() < 1000 {
        assert!(Instant::now() < deadline, "the miner never mined");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    relay.hub.broadcast(Message::Stop { job_id: 5 });
    let first = tokio::time::timeout(Duration::from_secs(20), seen.recv())
        .await
        .unwrap()
        .unwrap();
    let again = tokio::time::timeout(Duration::from_secs(20), seen.recv())
        .await
        .expect("the unanswered submission was not sent again")
        .unwrap();
    assert_eq!(first, again);
    let _ = stop.send(true);
    drop(relay);
    let _ = std::fs::remove_dir_all(&d);
}

/// Sending a text frame, for the bare upstream above.
trait SendText {
    async fn send_text(&mut self, t: String);
}

impl<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin> SendText
    for tokio_tungstenite::WebSocketStream<S>
{
    async fn send_text(&mut self, t: String) {
        use futures_util::SinkExt;
        let _ = self
            .send(tokio_tungstenite::tungstenite::Message::Text(t.into()))
            .await;
    }
}

/// A relay the upstream will not take ends with a reason saying what to fix: the wrong upstream
/// secret, a name the upstream does not list, a table size other than the upstream's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_the_upstream_refuses_says_why_and_stops() {
    use coordinator::server::{serve, Hub, ServerConfig};
    use hashcore::Table;
    use netcoordinator::relay::{start, RelayOptions};
    use protocol::Secret;
    use std::sync::Arc;

    let d = common::scratch("relay", "refused");
    let hub = Hub::new(
        ServerConfig {
            secret: Some(Secret::new(SECRET)),
            relays: vec!["siteB".into()],
            relay_secret: Some(Secret::new(RELAY_SECRET)),
            ..ServerConfig::default()
        },
        Arc::new(Table::generate(10, &mut |_, _| {}).unwrap()),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let primary = l.local_addr().unwrap().to_string();
    let (_stop, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(serve(hub, l, rx));
    let opts = |name: &str, secret: &str, bits: u32| RelayOptions {
        upstream: vec![primary.clone()],
        upstream_secret: Secret::new(secret),
        upstream_tls: Default::default(),
        name: name.into(),
        listen: "127.0.0.1:0".parse().unwrap(),
        server: ServerConfig {
            secret: Some(Secret::new(SITE_SECRET)),
            ..ServerConfig::default()
        },
        bits: Some(bits),
        table_dir: Some(d.join(format!("{name}-{bits}"))),
    };
    let ended = |mut relay: netcoordinator::relay::Relay| async move {
        tokio::time::timeout(Duration::from_secs(30), &mut relay.link)
            .await
            .expect("the relay kept trying")
            .unwrap()
            .expect("a reason")
    };
    // The farm secret where the relay secret is needed.
    let why = ended(start(opts("siteB", SECRET, 10)).await.unwrap()).await;
    assert!(why.contains("relay_secret"), "{why}");
    // A name the upstream does not list (the farm secret is right for it).
    let why = ended(start(opts("siteC", SECRET, 10)).await.unwrap()).await;
    assert!(why.contains("not a relay"), "{why}");
    // Another table size than the upstream's: refused at start.
    let e = match start(opts("siteB", RELAY_SECRET, 12)).await {
        Err(e) => e.to_string(),
        Ok(_) => panic!("a 12-bit relay under a 10-bit upstream started"),
    };
    assert!(e.contains("--bits 10"), "{e}");
    let _ = std::fs::remove_dir_all(&d);
}
