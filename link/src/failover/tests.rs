//! The dialer's rules: the backoff and its jitter as pure functions, the refusal memory with an
//! injected clock, and whole passes against small fake coordinators over real sockets.

use super::*;
use protocol::{encode_plain, ConnectionRefusal, CoordinatorHandshake, Message, Secret};
use std::sync::atomic::{AtomicUsize, Ordering};

const FA: &str = "FA2jK2HcLnRdS94dEcU27rF3meoJfpUcZPSinpb7AwQvPRY6RL1Q";
const SECRET: &str = "farm-secret-0123456789";

#[test]
fn the_backoff_doubles_from_250_ms_up_to_30_s_and_a_link_resets_it() {
    let mut b = Backoff::default();
    let waits: Vec<u64> = (0..10)
        .map(|_| b.next_wait_with(1.0).as_millis() as u64)
        .collect();
    assert_eq!(
        waits,
        [250, 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]
    );
    b.reset();
    assert_eq!(b.next_wait_with(1.0), BACKOFF_FIRST);
    assert_eq!(b.next_wait_with(1.0), 2 * BACKOFF_FIRST);
}

#[test]
fn each_wait_is_the_base_times_a_factor_kept_within_half_and_one_and_a_half() {
    let at = |factor: f64| Backoff::default().next_wait_with(factor);
    assert_eq!(at(0.5), Duration::from_millis(125));
    assert_eq!(at(1.5), Duration::from_millis(375));
    assert_eq!(at(0.0), Duration::from_millis(125), "clamped up");
    assert_eq!(at(9.0), Duration::from_millis(375), "clamped down");
    let mut capped = Backoff::default();
    for _ in 0..20 {
        capped.next_wait_with(1.0);
    }
    assert_eq!(capped.next_wait_with(1.5), Duration::from_secs(45));
}

#[test]
fn the_random_jitter_stays_within_its_bounds_and_varies() {
    let factors: Vec<f64> = (0..10_000).map(|_| jitter()).collect();
    assert!(factors.iter().all(|f| (0.5..1.5).contains(f)));
    assert!(factors.iter().any(|f| *f < 0.75) && factors.iter().any(|f| *f > 1.25));
    let mut b = Backoff::default();
    for k in 0..12u32 {
        let base = (BACKOFF_FIRST * 2u32.pow(k)).min(BACKOFF_MAX);
        let w = b.next_wait();
        assert!(w >= base / 2 && w < base.mul_f64(1.5), "{w:?} for {base:?}");
    }
}

#[test]
fn a_refusal_is_remembered_for_the_retry_time_and_all_refused_needs_every_address() {
    let t0 = Instant::now();
    let after = Duration::from_secs(600);
    let mut r = Refusals::new(2, after);
    assert!(r.all_recent(t0).is_none());
    r.mark(0, "a: wrong secret".into(), t0);
    assert!(r.recent(0, t0) && !r.recent(1, t0));
    assert_eq!(r.until(0, t0), Some(t0 + after));
    assert!(r.all_recent(t0).is_none(), "one of two refused");
    // Still remembered just before the retry time, forgotten at it.
    assert!(r.recent(0, t0 + after - Duration::from_millis(1)));
    assert!(!r.recent(0, t0 + after));
    // Both within the time: every reason, in list order.
    let t1 = t0 + Duration::from_secs(10);
    r.mark(1, "b: duplicate identity".into(), t1);
    assert_eq!(
        r.all_recent(t1),
        Some(AllRefused {
            reasons: vec!["a: wrong secret".into(), "b: duplicate identity".into()]
        })
    );
    assert_eq!(
        r.all_recent(t1).unwrap().to_string(),
        "a: wrong secret\nb: duplicate identity"
    );
    // The first one's time is over: not every address refused lately any more.
    assert!(r.all_recent(t0 + after).is_none());
    // A session that worked forgets the refusal.
    r.clear(1);
    assert!(!r.recent(1, t1) && r.all_recent(t1).is_none());
}

/// What a fake coordinator does with each connection.
#[derive(Clone, Copy)]
enum Fake {
    /// Authenticates with [`SECRET`] and keeps the link open.
    Serve,
    /// Refuses with this code before any challenge.
    Refuse(ConnectionRefusal),
}

/// A fake coordinator on `l`; counts the TCP connections (failback probes included).
fn fake(l: tokio::net::TcpListener, act: Fake) -> Arc<AtomicUsize> {
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = l.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return; // a failback probe: TCP only
                };
                match act {
                    Fake::Refuse(code) => {
                        let no = encode_plain(&Message::Rejected {
                            code,
                            reason: format!("refused ({code:?})"),
                        });
                        let _ = protocol::ws::send_text(&mut ws, no).await;
                    }
                    Fake::Serve => {
                        // No version header was answered: a version-1 coordinator.
                        let (hs, challenge) =
                            CoordinatorHandshake::start_version(&Secret::new(SECRET), 1);
                        let _ = protocol::ws::send_text(&mut ws, challenge).await;
                        let Ok(auth) = protocol::ws::recv_text(&mut ws, "miner").await else {
                            return;
                        };
                        let Ok((_, _, welcome)) = hs.finish(&auth) else {
                            return;
                        };
                        let _ = protocol::ws::send_text(&mut ws, welcome).await;
                    }
                }
                while protocol::ws::recv_text(&mut ws, "miner").await.is_ok() {}
            });
        }
    });
    seen
}

async fn listener() -> (tokio::net::TcpListener, String) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let a = l.local_addr().unwrap().to_string();
    (l, a)
}

fn link(addrs: &[&str]) -> LinkConfig {
    LinkConfig {
        coordinators: CoordinatorAddr::parse_all(addrs).unwrap(),
        secret: Secret::new(SECRET),
        identity: "rig1".into(),
        coinbase: FA.into(),
        failback_every: Duration::from_millis(50),
        handshake_timeout: Duration::from_secs(5),
        ..LinkConfig::default()
    }
}

#[tokio::test]
async fn a_bad_config_is_refused_before_dialling() {
    let e = Dialer::new(LinkConfig {
        identity: "rig 1".into(),
        ..link(&["127.0.0.1:1"])
    })
    .err()
    .unwrap();
    assert!(matches!(
        e,
        DialerError::Config(ConfigError::IdentityChars(_))
    ));
}

#[tokio::test]
async fn the_backup_serves_while_the_preferred_is_down_and_failback_returns_to_it() {
    // The preferred address: a port nothing listens on yet.
    let (down, preferred) = listener().await;
    drop(down);
    let (l, backup) = listener().await;
    fake(l, Fake::Serve);
    let (_stop, mut shutdown) = watch::channel(false);
    let mut d = Dialer::new(link(&[&preferred, &backup])).unwrap();
    let mut on_backup = d.next_session(&mut shutdown).await.unwrap().unwrap();
    assert_eq!(on_backup.addr.as_str(), backup);
    // The preferred coordinator comes back: the probe notices it.
    let l = tokio::net::TcpListener::bind(&preferred).await.unwrap();
    fake(l, Fake::Serve);
    tokio::time::timeout(Duration::from_secs(5), on_backup.failback.preferred_back())
        .await
        .expect("failback never fired");
    drop(on_backup);
    d.ended(Ended::Failback);
    let started = Instant::now();
    let mut back = d.next_session(&mut shutdown).await.unwrap().unwrap();
    assert_eq!(back.addr.as_str(), preferred);
    assert!(started.elapsed() < Duration::from_millis(200), "no backoff");
    // On the preferred address, failback never fires.
    let never = tokio::time::timeout(Duration::from_millis(200), back.failback.preferred_back());
    assert!(never.await.is_err());
}

#[tokio::test]
async fn a_lost_session_moves_on_at_once_and_shutdown_ends_the_wait() {
    let (la, a) = listener().await;
    let (lb, b) = listener().await;
    fake(la, Fake::Serve);
    fake(lb, Fake::Serve);
    let (stop, mut shutdown) = watch::channel(false);
    let mut d = Dialer::new(link(&[&a, &b])).unwrap();
    let first = d.next_session(&mut shutdown).await.unwrap().unwrap();
    assert_eq!(first.addr.as_str(), a);
    d.ended(Ended::Lost("closed".into()));
    let second = d.next_session(&mut shutdown).await.unwrap().unwrap();
    assert_eq!(second.addr.as_str(), b, "the next address of the pass");
    d.ended(Ended::Lost("closed".into()));
    // The pass is over: the dialer waits (backoff) before starting again; shutdown ends it.
    let next = d.next_session(&mut shutdown);
    let stopper = async {
        tokio::time::sleep(Duration::from_millis(10)).await;
        stop.send(true).unwrap();
    };
    let (got, ()) = tokio::join!(next, stopper);
    assert!(got.unwrap().is_none());
}

#[tokio::test]
async fn one_refusal_of_many_moves_on_and_every_address_refusing_is_fatal() {
    let (la, a) = listener().await;
    let (lb, b) = listener().await;
    let seen_a = fake(la, Fake::Refuse(ConnectionRefusal::BadSecret));
    fake(lb, Fake::Serve);
    let (_stop, mut shutdown) = watch::channel(false);
    let mut d = Dialer::new(link(&[&a, &b])).unwrap();
    let on_b = d.next_session(&mut shutdown).await.unwrap().unwrap();
    assert_eq!(on_b.addr.as_str(), b);
    // The refused preferred address is neither probed nor dialled while it is left alone.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(seen_a.load(Ordering::SeqCst), 1);
    drop(on_b);
    // The backup refuses too, from within its session: now every address refused.
    d.ended(Ended::Refused("b: not a relay".into()));
    let all = d.next_session(&mut shutdown).await.err().unwrap();
    assert_eq!(all.reasons.len(), 2);
    assert!(
        all.reasons[0].contains(&format!("coordinator {a} refused rig1")),
        "{all}"
    );
    assert_eq!(all.reasons[1], "b: not a relay");
}

#[tokio::test]
async fn a_refused_address_is_dialled_again_after_the_retry_time() {
    let (la, a) = listener().await;
    let (lb, b) = listener().await;
    let seen_a = fake(la, Fake::Refuse(ConnectionRefusal::DuplicateIdentity));
    fake(lb, Fake::Serve);
    let (_stop, mut shutdown) = watch::channel(false);
    let mut d = Dialer::new(LinkConfig {
        refused_retry_after: Duration::from_millis(300),
        ..link(&[&a, &b])
    })
    .unwrap();
    let mut on_b = d.next_session(&mut shutdown).await.unwrap().unwrap();
    assert_eq!(on_b.addr.as_str(), b);
    // After the retry time the preferred address is probed again (and answers).
    tokio::time::timeout(Duration::from_secs(5), on_b.failback.preferred_back())
        .await
        .expect("no failback after the retry time");
    assert!(seen_a.load(Ordering::SeqCst) >= 2);
    drop(on_b);
    d.ended(Ended::Failback);
    // It refuses again: the dialer carries on with the backup.
    let again = d.next_session(&mut shutdown).await.unwrap().unwrap();
    assert_eq!(again.addr.as_str(), b);
}

#[tokio::test]
async fn a_single_address_that_refuses_is_fatal_at_once() {
    let (l, a) = listener().await;
    fake(l, Fake::Refuse(ConnectionRefusal::BadSecret));
    let (_stop, mut shutdown) = watch::channel(false);
    let mut d = Dialer::new(link(&[&a])).unwrap();
    let all = tokio::time::timeout(Duration::from_secs(5), d.next_session(&mut shutdown))
        .await
        .unwrap()
        .err()
        .unwrap();
    assert_eq!(all.reasons.len(), 1);
    assert!(all.to_string().contains("BadSecret"), "{all}");
}
