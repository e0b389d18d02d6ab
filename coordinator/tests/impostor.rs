//! An impostor cannot make a miner quit: a refusal before the coordinator proved the secret only
//! moves the miner on to its next coordinator (and that address is left alone for 10 minutes); a
//! coordinator that goes silent after its challenge is given up; the miner exits only when every
//! coordinator of its list refused it. Over real sockets, with impostors written with
//! tokio-tungstenite.

mod common;

use common::{FA, PATIENCE, SECRET};
use coordinator::server::Hub;
use futures_util::StreamExt;
use hashcore::{CpuBackend, MiningBackend, Table};
use netmine_link::{CoordinatorAddr, LinkConfig, REFUSED_RETRY_AFTER};
use netminer::client::MinerConfig;
use protocol::{encode_plain, ConnectionRefusal, CoordinatorHandshake, Message, Secret};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// What an impostor does once a miner connected.
#[derive(Clone, Copy)]
enum Act {
    /// Sends a challenge, reads the miner's auth, refuses it with this code.
    RefuseAfterAuth(ConnectionRefusal),
    /// Refuses at once, before any challenge.
    RefuseAtOnce(ConnectionRefusal),
    /// Sends a challenge, then says nothing more (keeps the socket open).
    Silent,
}

fn reason(code: ConnectionRefusal) -> String {
    match code {
        ConnectionRefusal::BadSecret => "wrong shared secret: check --secret on the miner".into(),
        _ => "a miner with this identity is already connected".into(),
    }
}

/// An impostor coordinator; returns its address and how many TCP connections it accepted.
async fn impostor(act: Act) -> (String, Arc<AtomicUsize>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = l.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return; // a failback probe: TCP only
                };
                // No version header was answered: the miner speaks version 1 to it.
                let (_, challenge) =
                    CoordinatorHandshake::start_version(&Secret::new("impostor-knows-nothing"), 1);
                let refuse = |code| {
                    encode_plain(&Message::Rejected {
                        code,
                        reason: reason(code),
                    })
                };
                match act {
                    Act::RefuseAtOnce(code) => {
                        let _ = protocol::ws::send_text(&mut ws, refuse(code)).await;
                    }
                    Act::RefuseAfterAuth(code) => {
                        let _ = protocol::ws::send_text(&mut ws, challenge).await;
                        let _ = protocol::ws::recv_text(&mut ws, "miner").await;
                        let _ = protocol::ws::send_text(&mut ws, refuse(code)).await;
                    }
                    Act::Silent => {
                        let _ = protocol::ws::send_text(&mut ws, challenge).await;
                        while ws.next().await.is_some() {}
                    }
                }
                tokio::time::sleep(Duration::from_secs(60)).await;
            });
        }
    });
    (addr, seen)
}

fn table() -> Arc<Table> {
    common::table(10)
}

/// The real coordinator's listener.
async fn real(table: &Arc<Table>) -> (Arc<Hub>, String, watch::Sender<bool>) {
    let l = common::listen(
        Hub::new(common::server_cfg(SECRET), table.clone()),
        "127.0.0.1:0",
    )
    .await;
    (l.hub, l.addr.to_string(), l.stop)
}

fn miner(coordinators: Vec<String>) -> MinerConfig {
    MinerConfig {
        link: LinkConfig {
            coordinators: CoordinatorAddr::parse_all(&coordinators).unwrap(),
            secret: Secret::new(SECRET),
            identity: "rig1".into(),
            coinbase: FA.into(),
            failback_every: Duration::from_millis(100),
            ..LinkConfig::default()
        },
        stats_every: Duration::from_secs(5),
        ..MinerConfig::default()
    }
}

fn backend(t: &Arc<Table>) -> Arc<dyn MiningBackend> {
    Arc::new(CpuBackend::start(t.clone(), 1, 0).unwrap())
}

async fn until(what: &str, f: impl FnMut() -> bool) {
    common::until(what, PATIENCE, f).await
}

#[test]
fn a_coordinator_that_refused_is_left_alone_for_at_least_ten_minutes_by_default() {
    assert!(REFUSED_RETRY_AFTER >= Duration::from_secs(600));
    assert_eq!(
        MinerConfig::default().link.refused_retry_after,
        REFUSED_RETRY_AFTER
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_impostor_refusing_the_secret_moves_the_miner_to_the_next_coordinator() {
    let t = table();
    for act in [
        Act::RefuseAfterAuth(ConnectionRefusal::BadSecret),
        Act::RefuseAtOnce(ConnectionRefusal::DuplicateIdentity),
    ] {
        let (fake, seen) = impostor(act).await;
        let (hub, good, _stop) = real(&t).await;
        let (_tx, rx) = watch::channel(false);
        // Left alone for 1 s here (10 minutes by default, see above).
        let mut cfg = miner(vec![fake, good]);
        let retry_after = Duration::from_secs(1);
        cfg.link.refused_retry_after = retry_after;
        let run = tokio::spawn(netminer::client::run(cfg, backend(&t), rx));
        until("the impostor's refusal", || {
            seen.load(Ordering::SeqCst) == 1
        })
        .await;
        let refused = Instant::now();
        until("the miner on the real coordinator", || {
            hub.miners() == ["rig1"]
        })
        .await;
        // Failback is checked every 100 ms, yet the impostor that refused is not tried again
        // (not even probed) before its retry time: the next connection it sees comes after it.
        until("the impostor tried again", || {
            seen.load(Ordering::SeqCst) >= 2
        })
        .await;
        assert!(
            refused.elapsed() >= retry_after - Duration::from_millis(50),
            "probed {:?} after the refusal",
            refused.elapsed()
        );
        until("the miner back on the real coordinator", || {
            hub.miners() == ["rig1"]
        })
        .await;
        assert!(!run.is_finished(), "the miner must keep mining");
        run.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coordinator_silent_after_its_challenge_is_given_up_after_the_deadline() {
    let t = table();
    let (silent, seen) = impostor(Act::Silent).await;
    let (hub, good, _stop) = real(&t).await;
    let (_tx, rx) = watch::channel(false);
    let mut cfg = miner(vec![silent, good]);
    cfg.link.handshake_timeout = Duration::from_millis(500);
    cfg.link.failback_every = Duration::from_secs(60);
    let started = Instant::now();
    let run = tokio::spawn(netminer::client::run(cfg, backend(&t), rx));
    until("the miner on the real coordinator", || {
        hub.miners() == ["rig1"]
    })
    .await;
    assert!(started.elapsed() >= Duration::from_millis(500));
    assert_eq!(seen.load(Ordering::SeqCst), 1);
    run.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_miner_exits_only_when_every_coordinator_refused_it() {
    let t = table();
    let (a, _) = impostor(Act::RefuseAfterAuth(ConnectionRefusal::BadSecret)).await;
    let (b, _) = impostor(Act::RefuseAtOnce(ConnectionRefusal::DuplicateIdentity)).await;
    let (_tx, rx) = watch::channel(false);
    let err = tokio::time::timeout(
        Duration::from_secs(10),
        netminer::client::run(miner(vec![a.clone(), b.clone()]), backend(&t), rx),
    )
    .await
    .expect("the miner must give up once every coordinator refused it")
    .unwrap_err()
    .to_string();
    assert!(err.contains(&format!("coordinator {a} refused")), "{err}");
    assert!(err.contains("wrong shared secret"), "{err}");
    assert!(err.contains(&format!("coordinator {b} refused")), "{err}");
    assert!(err.contains("already connected"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_coordinator_is_tried_again_after_the_retry_time() {
    let t = table();
    let (fake, seen) = impostor(Act::RefuseAfterAuth(ConnectionRefusal::BadSecret)).await;
    let (b, b_addr, _b_stop) = real(&t).await;
    let (_tx, rx) = watch::channel(false);
    let mut cfg = miner(vec![fake, b_addr]);
    cfg.link.refused_retry_after = Duration::from_secs(1);
    let started = Instant::now();
    let run = tokio::spawn(netminer::client::run(cfg, backend(&t), rx));
    until("the miner on the backup", || b.miners() == ["rig1"]).await;
    assert_eq!(seen.load(Ordering::SeqCst), 1);
    // Once the retry time is over the preferred address is probed (and tried) again; it
    // refuses again and the miner carries on with the backup.
    until("the refused address tried again", || {
        seen.load(Ordering::SeqCst) >= 2
    })
    .await;
    assert!(started.elapsed() >= Duration::from_secs(1));
    until("the miner back on the backup", || b.miners() == ["rig1"]).await;
    assert!(!run.is_finished(), "the miner must keep mining");
    run.abort();
}
