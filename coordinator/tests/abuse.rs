//! One compromised box (it knows the farm secret) cannot exhaust the coordinator: for a whole
//! (short) block it floods 64 KiB submissions of ~1,300 bogus records, `error` messages and huge
//! `stats`, reconnecting whenever it is dropped, while an honest netminer mines. The honest
//! miner's records are accepted and selected for payment, the attacker gets at most its records
//! per block hashed, every answer fits a frame, and the hub's state and the process's memory stay
//! flat.

mod common;

use coordinator::server::{serve, CurrentJob, Hub, ServerConfig, MAX_WORKERS};
use coordinator::verify::select_best;
use futures_util::{SinkExt, StreamExt};
use hashcore::Table;
use pegnet::{Network, OprTemplate};
use protocol::{Message, Secret, Stats};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpSocket;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message as Ws;

use common::{miner, miner_cfg, FA, PATIENCE, SECRET};

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

#[derive(Default)]
struct Seen {
    frames: AtomicUsize,
    results: AtomicUsize,
    biggest_result: AtomicUsize,
    connections: AtomicUsize,
    errors: AtomicUsize,
}

/// The attacker: logs in from 127.0.0.5 as "evil" and floods until `stop`, reconnecting.
async fn attacker(to: SocketAddr, job_id: u64, stop: Arc<AtomicBool>, seen: Arc<Seen>) {
    let bogus = r#"{"nonce":"","difficulty":"ffffffffffffffff"}"#;
    let records: Vec<protocol::SubmittedRecord> =
        serde_json::from_str(&format!("[{}]", vec![bogus; 1300].join(","))).unwrap();
    while !stop.load(Ordering::Relaxed) {
        let s = TcpSocket::new_v4().unwrap();
        s.bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 5)), 0))
            .unwrap();
        let Ok(tcp) = s.connect(to).await else {
            continue;
        };
        let Ok((mut ws, _)) = tokio_tungstenite::client_async(format!("ws://{to}/"), tcp).await
        else {
            continue;
        };
        let Ok(mut session) =
            protocol::ws::client_handshake(&mut ws, &Secret::new(SECRET), "evil", FA).await
        else {
            // Banned (or refused): wait and try again, as an attacker would.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        seen.connections.fetch_add(1, Ordering::Relaxed);
        let mut k = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let msg = match k % 3 {
                0 => Message::Submission {
                    job_id,
                    records: records.clone(),
                },
                1 => Message::Error {
                    message: format!("{k} {}", "\u{1b}[31mspam".repeat(3000)),
                },
                _ => Message::Stats(Stats {
                    rate_10s: 1e300,
                    per_worker: vec![1e9; 3000],
                    ..Stats::default()
                }),
            };
            k += 1;
            let Ok(frame) = session.seal(&msg) else {
                break;
            };
            assert!(frame.len() <= protocol::MAX_FRAME, "{}", frame.len());
            if ws.send(Ws::Text(frame.into())).await.is_err() {
                break;
            }
            seen.frames.fetch_add(1, Ordering::Relaxed);
            // Read whatever came back meanwhile.
            while let Ok(Some(Ok(m))) =
                tokio::time::timeout(Duration::from_millis(2), ws.next()).await
            {
                if let Ws::Text(t) = m {
                    if t.as_str().contains("submission_result") {
                        seen.results.fetch_add(1, Ordering::Relaxed);
                        seen.biggest_result.fetch_max(t.len(), Ordering::Relaxed);
                    } else if t.as_str().contains("\"error\"") {
                        seen.errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_miner_gets_its_limit_and_the_honest_miner_is_paid() {
    let table: Arc<Table> = common::table(10);
    let hub = Hub::new(
        ServerConfig {
            secret: Some(Secret::new(SECRET)),
            records_per_miner: 3,
            verify_threads: 1,
            ..ServerConfig::default()
        },
        table.clone(),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let to = l.local_addr().unwrap();
    let (_tx, rx) = watch::channel(false);
    tokio::spawn(serve(hub.clone(), l, rx));
    let template = OprTemplate {
        network: Network::DevNet,
        height: 500,
        winners: vec![String::new(); 25],
        prices: (1..=62).map(|k| k * 1000).collect(),
    };
    hub.start_job(CurrentJob {
        job_id: 1,
        template,
        min_difficulty: 0,
        records_wanted: 3,
    });
    // The honest netminer.
    let honest = miner(&table, miner_cfg(&[&to.to_string()], "honest", FA));
    common::until("the honest miner", PATIENCE, || {
        hub.miners().contains(&"honest".to_string())
    })
    .await;
    let rss_before = rss_kib();
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Seen::default());
    let attack = tokio::spawn(attacker(to, 1, stop.clone(), seen.clone()));
    // The block: at least 3 s of flooding, until the attacker has flooded and been answered and
    // the honest miner holds its records; the stop; the honest miner's submission accepted
    // while the flood goes on.
    let mut peak_rss = rss_before;
    let mut peak = coordinator::server::Footprint::default();
    let block = Instant::now();
    let mut stopped = false;
    let accepted = |id: &str| {
        hub.telemetry()
            .miners()
            .iter()
            .find(|m| m.identity == id)
            .map_or(0, |m| m.records_accepted)
    };
    loop {
        let flooded =
            seen.frames.load(Ordering::Relaxed) >= 15 && seen.results.load(Ordering::Relaxed) >= 3;
        if !stopped && block.elapsed() >= Duration::from_secs(3) && flooded && honest.holds(1, 3) {
            hub.broadcast(Message::Stop { job_id: 1 });
            stopped = true;
        }
        if stopped && accepted("honest") >= 3 {
            break;
        }
        assert!(
            block.elapsed() < Duration::from_secs(30),
            "the block never ended: {} frames, {} results, the honest miner's records: {} held, {} accepted",
            seen.frames.load(Ordering::Relaxed),
            seen.results.load(Ordering::Relaxed),
            honest.backend.best(1).len(),
            accepted("honest")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        peak_rss = peak_rss.max(rss_kib());
        let f = hub.footprint();
        peak.work_entries = peak.work_entries.max(f.work_entries);
        peak.accepted = peak.accepted.max(f.accepted);
        peak.nonces = peak.nonces.max(f.nonces);
        peak.per_worker = peak.per_worker.max(f.per_worker);
        peak.refusal_keys = peak.refusal_keys.max(f.refusal_keys);
        peak.stats = peak.stats.max(f.stats);
    }
    stop.store(true, Ordering::Relaxed);
    attack.abort();
    let (work, counts) = hub.take_work(1);
    let frames = seen.frames.load(Ordering::Relaxed);
    eprintln!(
        "attacker: {} frames over {} connections, {} results (largest {} bytes), {} errors; counts {:?}",
        frames,
        seen.connections.load(Ordering::Relaxed),
        seen.results.load(Ordering::Relaxed),
        seen.biggest_result.load(Ordering::Relaxed),
        seen.errors.load(Ordering::Relaxed),
        counts
    );
    eprintln!(
        "RSS before {} KiB, peak {} KiB (+{} KiB); hub peak {peak:?}",
        rss_before,
        peak_rss,
        peak_rss.saturating_sub(rss_before)
    );
    assert!(frames >= 15, "the attacker hardly flooded: {frames} frames");
    assert!(seen.results.load(Ordering::Relaxed) >= 3);
    assert!(seen.biggest_result.load(Ordering::Relaxed) < 4096);
    // Paid: the best records of everyone's accepted work, as the engine selects them.
    let all = work
        .iter()
        .flat_map(|w| w.accepted.iter().map(move |a| (&w.record, a)));
    let paid = select_best(all, 10, None);
    let by = |id: &str| paid.iter().filter(|(r, _)| r.identity == id).count();
    eprintln!("paid: honest {}, evil {}", by("honest"), by("evil"));
    assert_eq!(by("honest"), 3, "the honest miner is paid");
    assert!(by("evil") <= 3);
    let evil = work.iter().find(|w| w.record.identity == "evil");
    assert!(evil.is_none_or(|w| w.accepted.len() <= 3));
    // Every record counted; at most 3 of the attacker's reached LXRHash (all refused).
    assert!(
        counts
            .rejected
            .get("wrong_difficulty")
            .copied()
            .unwrap_or(0)
            <= 3,
        "{counts:?}"
    );
    assert!(counts.rejected.len() <= 8, "{counts:?}");
    assert!(peak.work_entries <= 2 && peak.accepted <= 6 && peak.nonces <= 6);
    assert!(peak.per_worker <= 2 * MAX_WORKERS);
    assert!(
        peak_rss.saturating_sub(rss_before) < 64 * 1024,
        "memory grew by {} KiB",
        peak_rss - rss_before
    );
}
