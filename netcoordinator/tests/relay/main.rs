//! Relays: two miners behind a relay and one on the primary are all paid by the primary, which
//! lists the relayed miners with the relay they came through; the relay gets its table from the
//! primary and needs no factomd, prices or EC key; nothing is paid twice.

#[path = "../common/mod.rs"]
mod common;
mod upstream;

use common::{funded_sim, spawn_named_miners, until, until_some, Process, ANY, PATIENCE};
use factom::EcSecret;
use serde_json::Value;
use std::collections::HashSet;
use std::process::Command;
use std::time::{Duration, Instant};
use upstream::{devnet_job, get_json, mining, primary, relay_options, relayed_job, SendText};

const SECRET: &str = "primary-secret-0123456789";
const RELAY_SECRET: &str = "relays-only-secret-0123456789";
const SITE_SECRET: &str = "site-b-secret-0123456789";
const HTTP_TOKEN: &str = "operator-token-0123456789";
const SITE_HTTP_TOKEN: &str = "site-b-operator-token-0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn miners_behind_a_relay_and_on_the_primary_are_all_paid_by_the_primary() {
    let d = common::scratch("relay", "farm");
    let key = EcSecret::generate();
    let sim = funded_sim(Duration::from_secs(6), 8000, &key, 10_000).await;
    let primary_proc = Process::start(
        "primary",
        common::coordinator(&sim.url(), &d.join("primary"), ANY, ANY)
            .args(["--relays", "siteB", "--max-entries", "30"])
            .args(["--records-per-miner", "5"])
            .env("NETMINE_SECRET", SECRET)
            .env("NETMINE_RELAY_SECRET", RELAY_SECRET)
            .env("NETMINE_EC_SECRET", key.to_secret_string())
            .env("NETMINE_HTTP_TOKEN", HTTP_TOKEN),
    );
    let (primary, http) = (primary_proc.miners().await, primary_proc.http().await);
    // The relay: no factomd, no EC key; its table comes from the primary.
    let relay = Process::start(
        "relay",
        Command::new(env!("CARGO_BIN_EXE_netcoordinator"))
            .args(["relay", "--upstream", &primary.to_string()])
            .args(["--name", "siteB", "--caddr", ANY, "--bits", "12"])
            .args(["--http", ANY, "--data-dir"])
            .arg(d.join("relay-data"))
            .arg("--table-dir")
            .arg(d.join("relay-tables"))
            .env("NETMINE_UPSTREAM_SECRET", RELAY_SECRET)
            .env("NETMINE_SECRET", SITE_SECRET)
            .env("NETMINE_HTTP_TOKEN", SITE_HTTP_TOKEN)
            .env_remove("NETMINE_EC_SECRET")
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1"),
    );
    let (site, site_http) = (relay.relay_miners().await, relay.http().await);
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let behind = spawn_named_miners(site, SITE_SECRET, &names(&["siteB1", "siteB2"]), 5);
    let home = spawn_named_miners(primary, SECRET, &names(&["home1"]), 5);

    // Every miner paid, by the primary; the relayed ones listed with their relay.
    let url = format!("http://{http}/api/miners");
    let deadline = Instant::now() + Duration::from_secs(90);
    let miners = until_some("every miner paid", Duration::from_secs(91), || async {
        let v = get_json(&url, HTTP_TOKEN).await;
        let paid = |v: &Value, id: &str| {
            v["miners"].as_array().is_some_and(|m| {
                m.iter()
                    .any(|m| m["identity"] == id && m["entries_paid"].as_u64() > Some(0))
            })
        };
        if let Some(v) = v {
            if ["siteB1", "siteB2", "home1"].iter().all(|id| paid(&v, id)) {
                return Some(v);
            }
        }
        assert!(
            Instant::now() < deadline,
            "not every miner was paid in time:\nprimary:\n{}\nrelay:\n{}",
            primary_proc.log(),
            relay.log()
        );
        None
    })
    .await;
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
    until_some(
        "the relayed miners' rates",
        Duration::from_secs(30),
        || async {
            let v = get_json(&url, HTTP_TOKEN).await?;
            let relayed_rates = v["miners"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| m["via"] == "siteB")
                .filter(|m| m["rate_10s"].as_f64() > Some(0.0) && m["backend"] == "cpu")
                .count();
            (relayed_rates == 2).then_some(())
        },
    )
    .await;
    // The relay serves its own dashboard, API and metrics for its miners (with its own token):
    // marked a relay, linked to the primary, listing its two miners, with nothing of a payer.
    let site_get = |path: &'static str| async move {
        let r = reqwest::Client::new()
            .get(format!("http://{site_http}{path}"))
            .bearer_auth(SITE_HTTP_TOKEN)
            .send()
            .await
            .ok()?;
        r.status().is_success().then_some(())?;
        r.text().await.ok()
    };
    let json = |t: Option<String>| serde_json::from_str::<Value>(&t?).ok();
    let status = until_some("the relay's status", PATIENCE, || async {
        json(site_get("/api/status").await).filter(|s| s["relay"]["linked"] == true)
    })
    .await;
    assert_eq!(status["role"], "relay", "{status:#}");
    assert_eq!(status["relay"]["name"], "siteB", "{status:#}");
    assert_eq!(
        status["relay"]["upstream"],
        primary.to_string(),
        "{status:#}"
    );
    assert!(status["ec_balance"].is_null(), "{status:#}");
    let listed = json(site_get("/api/miners").await).unwrap();
    let mut ids: Vec<&str> = listed["miners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["identity"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, ["siteB1", "siteB2"], "{listed:#}");
    let blocks = json(site_get("/api/blocks").await).unwrap();
    assert_eq!(blocks["blocks"], serde_json::json!([]), "the primary pays");
    let metrics = site_get("/metrics").await.unwrap();
    assert!(metrics.contains("netmine_relay_upstream_up 1"), "{metrics}");
    assert!(metrics.contains("netmine_miners_connected 2"), "{metrics}");
    assert!(!metrics.contains("netmine_ec_balance"), "{metrics}");
    assert!(site_get("/").await.unwrap().contains("relay of"));
    // Without its token the relay's API answers nothing.
    let bare = reqwest::get(format!("http://{site_http}/api/status")).await;
    assert_eq!(bare.unwrap().status(), reqwest::StatusCode::UNAUTHORIZED);

    // Remote control reaches a miner behind the relay, from either side: `netcoordinator miners
    // pause` asks the relay's own API (its token), which passes it to its miner; `resume` asks
    // the primary's, which passes it down the relay's link, and the answer comes back the same
    // way. The miner stays connected, listed as paused, and its rate falls to 0; `resume` brings
    // the rate back.
    let ctl = |action: &'static str| {
        let (api, token) = match action {
            "pause" => (site_http.to_string(), SITE_HTTP_TOKEN),
            _ => (http.to_string(), HTTP_TOKEN),
        };
        tokio::task::spawn_blocking(move || {
            let out = Command::new(env!("CARGO_BIN_EXE_netcoordinator"))
                .args(["miners", action, "siteB1", "--http", &api])
                .env("NETMINE_HTTP_TOKEN", token)
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success(),
                "miners {action} siteB1 failed:\n{text}"
            );
            assert!(text.contains("siteB1: done"), "{text}");
            assert!(!text.contains(token), "{text}");
        })
    };
    let site_b1 = |want_paused: bool| {
        let url = url.clone();
        async move {
            let v = get_json(&url, HTTP_TOKEN).await?;
            let m = v["miners"]
                .as_array()?
                .iter()
                .find(|m| m["identity"] == "siteB1")?
                .clone();
            let rate = m["rate_10s"].as_f64()?;
            let stopped = m["paused"] == true && rate == 0.0;
            let hashing = m["paused"] == false && rate > 0.0;
            (m["connected"] == true && if want_paused { stopped } else { hashing }).then_some(())
        }
    };
    ctl("pause").await.unwrap();
    until_some(
        "siteB1 paused behind the relay, rate 0",
        Duration::from_secs(30),
        || site_b1(true),
    )
    .await;
    ctl("resume").await.unwrap();
    until_some(
        "siteB1 hashing again behind the relay",
        Duration::from_secs(30),
        || site_b1(false),
    )
    .await;
    // Nothing paid twice: every entry hash once across the history, and the chain holds exactly
    // what the primary says it paid.
    let blocks = get_json(&format!("http://{http}/api/blocks?limit=100"), HTTP_TOKEN)
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
    // The primary goes away: the relay's own status and metrics say its link is cut.
    drop(primary_proc);
    let status = until_some("the relay to see its link cut", PATIENCE, || async {
        json(site_get("/api/status").await).filter(|s| s["relay"]["linked"] == false)
    })
    .await;
    assert!(status["relay"]["upstream"].is_null(), "{status:#}");
    assert!(status["relay"]["last_error"].is_string(), "{status:#}");
    let metrics = site_get("/metrics").await.unwrap();
    assert!(metrics.contains("netmine_relay_upstream_up 0"), "{metrics}");
    let relay_log = relay.log();
    assert!(
        relay_log.contains("table copied") || relay_log.contains("linked to the upstream"),
        "{relay_log}"
    );
    assert!(!relay_log.contains(SECRET) && !relay_log.contains(SITE_SECRET));
    assert!(!relay_log.contains(RELAY_SECRET) && !relay_log.contains(SITE_HTTP_TOKEN));
    drop((behind, home));
    sim.shutdown().await;
    let _ = std::fs::remove_dir_all(&d);
}

/// A relay cut from its primary keeps its miners mining; the records they hand in meanwhile wait
/// and reach the primary when the link is back; a name not in the primary's `relays` list cannot
/// relay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_handed_in_while_the_link_is_down_reach_the_primary_when_it_is_back() {
    use coordinator::server::serve;
    use netcoordinator::relay::start;
    use protocol::Message;
    use tokio::sync::watch;

    let d = common::scratch("relay", "cut");
    let p = primary(&["siteB"], None).await;
    let (hub, primary, cut) = (p.hub.clone(), p.addr, p.stop);
    hub.start_job(devnet_job(41, 300, 3));
    let relay = start(relay_options(
        "siteB",
        primary.to_string(),
        SECRET,
        SITE_SECRET,
        vec![],
        10,
        d.join("relay-tables"),
    ))
    .await
    .unwrap();
    relayed_job(&relay, 300, 41).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let (stop, stop_rx) = watch::channel(false);
    mining(
        relay.addr,
        SITE_SECRET,
        "siteB1",
        p.table.clone(),
        stop_rx,
        deadline,
    )
    .await;

    // The primary goes away (its side of the relay's link closes with it); the relay's miner
    // is told to submit meanwhile.
    let _ = cut.send(true);
    until("the primary to let go of the relay", PATIENCE, || {
        !hub.is_connected("siteB")
    })
    .await;
    relay.hub.broadcast(Message::Stop { job_id: 41 });
    until("the relay to take the records", PATIENCE, || {
        relay.hub.miners_with_work() > 0
    })
    .await;
    assert_eq!(
        hub.miners_with_work(),
        0,
        "nothing can have reached the primary yet"
    );
    // Back on the same address (once the old listener let it go): the waiting records arrive,
    // verified again by the primary.
    let l = until_some("the primary's address to be free", PATIENCE, || async {
        tokio::net::TcpListener::bind(primary).await.ok()
    })
    .await;
    let (_back, rx) = watch::channel(false);
    tokio::spawn(serve(hub.clone(), l, rx));
    until("the waiting records to reach the primary", PATIENCE, || {
        hub.footprint().accepted >= 3
    })
    .await;
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
    use protocol::{Message, Secret};

    let p = primary(&["siteB"], None).await;
    let (hub, addr) = (p.hub.clone(), p.addr.to_string());
    let cfg = netmine_link::LinkConfig {
        coordinators: vec![addr.parse().unwrap()],
        secret: Secret::new(SECRET),
        identity: "box1".into(),
        coinbase: common::FA.into(),
        ..Default::default()
    };
    let netmine_link::Opened {
        mut ws,
        mut session,
        ..
    } = netmine_link::open_session(&cfg, &cfg.coordinators[0])
        .await
        .unwrap();
    let claim = Message::RelayStats {
        identity: "victim".into(),
        coinbase: common::FA.into(),
        address: "1.2.3.4:5".into(),
        stats: Default::default(),
    };
    netmine_link::send(&mut ws, &mut session, &claim)
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
    let guarded = primary(&["siteB"], Some(RELAY_SECRET)).await;
    let addr = guarded.addr.to_string();
    let addr: netmine_link::CoordinatorAddr = addr.parse().unwrap();
    let as_relay = |secret: &str| netmine_link::LinkConfig {
        coordinators: vec![addr.clone()],
        secret: Secret::new(secret),
        identity: "siteB".into(),
        coinbase: common::FA.into(),
        ..Default::default()
    };
    let refused = netmine_link::open_session(&as_relay(SECRET), &addr).await;
    assert!(
        refused.is_err(),
        "a box with the farm secret passed as the relay"
    );
    assert!(netmine_link::open_session(&as_relay(RELAY_SECRET), &addr)
        .await
        .is_ok());
    // Miners still use the farm secret.
    assert!(netmine_link::open_session(&cfg, &addr).await.is_ok());
}

/// A relay can be the upstream of another relay: a miner two relays away is verified at each
/// hop and its records reach the primary with its identity.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_behind_a_relay_reaches_the_primary() {
    use netcoordinator::relay::start;
    use protocol::Message;

    let d = common::scratch("relay", "chain");
    let p = primary(&["siteB"], None).await;
    let hub = p.hub.clone();
    hub.start_job(devnet_job(7, 500, 2));
    let b = start(relay_options(
        "siteB",
        p.addr.to_string(),
        SECRET,
        SITE_SECRET,
        vec!["siteC".into()],
        10,
        d.join("siteB-tables"),
    ))
    .await
    .unwrap();
    let c_secret = "site-c-secret-0123456789";
    let c = start(relay_options(
        "siteC",
        b.addr.to_string(),
        SITE_SECRET,
        c_secret,
        vec![],
        10,
        d.join("siteC-tables"),
    ))
    .await
    .unwrap();
    relayed_job(&c, 500, 7).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    mining(c.addr, c_secret, "far1", p.table.clone(), stop_rx, deadline).await;
    hub.broadcast(Message::Stop { job_id: 7 });
    // The records are verified again at each hop: wait for both to be accepted at the primary.
    until(
        "the far miner's records accepted at the primary",
        PATIENCE,
        || hub.footprint().accepted >= 2,
    )
    .await;
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
    use futures_util::StreamExt;
    use netcoordinator::relay::start;
    use protocol::{CoordinatorHandshake, Difficulty, Message, OprFields, Secret};
    use tokio_tungstenite::tungstenite::Message as Ws;

    let d = common::scratch("relay", "unacked");
    let tables = d.join("tables");
    let (table, _) = hashcore::cache::load_or_build(&hashcore::TableOptions {
        bits: 10,
        dir: Some(tables.clone()),
        progress: None,
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
            // It answers no version header: a version-1 upstream.
            let (hs, challenge) = CoordinatorHandshake::start_version(&secret, 1);
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
                if let Message::TableRequest { .. } = m {
                    // The relay's table check at start: this upstream mines with 10 bits and
                    // serves no table (an unanswered question would hold the relay's start).
                    let no = Message::TableUnavailable {
                        reason: "no table served here".into(),
                        retry_after_secs: None,
                        bits: Some(10),
                    };
                    ws.send_text(session.seal(&no).unwrap()).await;
                }
                if matches!(m, Message::RelaySubmission { .. }) {
                    let _ = seen_tx.send(m);
                    break; // the link dies with the submission unanswered
                }
            }
        }
    });
    let relay = start(relay_options(
        "siteB",
        upstream.to_string(),
        RELAY_SECRET,
        SITE_SECRET,
        vec![],
        10,
        tables,
    ))
    .await
    .unwrap();
    relayed_job(&relay, 900, 5).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let (stop, rx) = tokio::sync::watch::channel(false);
    mining(relay.addr, SITE_SECRET, "siteB1", table, rx, deadline).await;
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

/// A relay the upstream will not take ends with a reason saying what to fix: the wrong upstream
/// secret, a name the upstream does not list, a table size other than the upstream's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_the_upstream_refuses_says_why_and_stops() {
    use netcoordinator::relay::start;

    let d = common::scratch("relay", "refused");
    let p = primary(&["siteB"], Some(RELAY_SECRET)).await;
    let opts = |name: &str, secret: &str, bits: u32| {
        relay_options(
            name,
            p.addr.to_string(),
            secret,
            SITE_SECRET,
            vec![],
            bits,
            d.join(format!("{name}-{bits}")),
        )
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
