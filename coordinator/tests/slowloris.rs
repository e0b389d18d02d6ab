//! The HTTP surface's budgets from outside: 1,000 sockets from 62 loopback addresses send request
//! headers one byte at a time and never finish them. With the default limits (10 s to send the
//! headers, 128 connections, 16 per address), every one of them is closed within the header
//! deadline (most at once: over their address's share, or to make room), and `/api/status`
//! answers a new client from another address in under 2 s throughout.

use coordinator::http::{router, serve, HttpLimits};
use coordinator::store::Store;
use coordinator::telemetry::Telemetry;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use tokio::sync::watch;

const SOCKETS: usize = 1000;
const ADDRESSES: u8 = 62;

/// One slow sender from `127.0.0.{ip}`: the request line, then header bytes one at a time every
/// 50 ms, never the blank line. Returns how long after connecting the server closed it (`None`:
/// it could not connect).
async fn slow_sender(to: SocketAddr, ip: u8, give_up: Duration) -> Option<Duration> {
    let s = TcpSocket::new_v4().ok()?;
    s.bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, ip)), 0))
        .ok()?;
    let stream = s.connect(to).await.ok()?;
    let t0 = Instant::now();
    let (mut rd, mut wr) = stream.into_split();
    let header = b"GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    let mut k = 0usize;
    let mut buf = [0u8; 256];
    loop {
        tokio::select! {
            // The server closed it (0 bytes, an error) or answered it (a 408 or 431, then closed).
            r = rd.read(&mut buf) => match r {
                Ok(0) | Err(_) => return Some(t0.elapsed()),
                Ok(_) => continue,
            },
            _ = tick.tick() => {
                let byte = header.get(k).copied().unwrap_or(b'a');
                k += 1;
                if wr.write_all(&[byte]).await.is_err() {
                    return Some(t0.elapsed());
                }
            }
        }
        if t0.elapsed() > give_up {
            return Some(t0.elapsed());
        }
    }
}

/// `GET /api/status` on a fresh connection from 127.0.0.1: the status line and the time taken.
async fn status(to: SocketAddr) -> (String, Duration) {
    let t0 = Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(2), async {
        let mut c = tokio::net::TcpStream::connect(to).await.ok()?;
        c.write_all(b"GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut out = Vec::new();
        c.read_to_end(&mut out).await.ok()?;
        Some(String::from_utf8_lossy(&out).lines().next()?.to_string())
    })
    .await;
    let line = match answer {
        Ok(Some(l)) => l,
        Ok(None) => "(closed)".into(),
        Err(_) => "(no answer within 2 s)".into(),
    };
    (line, t0.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_slow_senders_are_closed_and_the_operator_is_still_served() {
    let dir = std::env::temp_dir().join(format!("netmine-slowloris-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::open(&dir.join("c.db")).unwrap();
    let limits = HttpLimits::default();
    assert_eq!(limits.header_timeout, Duration::from_secs(10));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let to = listener.local_addr().unwrap();
    let (_stop, stop_rx) = watch::channel(false);
    let app = router(Arc::new(Telemetry::new(16)), store, None);
    tokio::spawn(serve(listener, app, limits, stop_rx));

    // The baseline: the same requests before the attack.
    let mut baseline = Vec::new();
    for _ in 0..10 {
        let (line, took) = status(to).await;
        assert!(line.starts_with("HTTP/1.1 200"), "{line}");
        baseline.push(took);
    }
    // The deadline, and some slack for a loaded machine (the close itself, the scheduling).
    let bound = limits.header_timeout + Duration::from_secs(3);
    // In waves of 100 a tenth of a second apart (a burst of 1,000 SYNs at once overflows the
    // kernel's listen backlog, whatever the server does).
    let mut senders = Vec::with_capacity(SOCKETS);
    for k in 0..SOCKETS {
        if k % 100 == 0 && k > 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let ip = 2 + (k % ADDRESSES as usize) as u8;
        senders.push(tokio::spawn(slow_sender(
            to,
            ip,
            bound + Duration::from_secs(10),
        )));
    }
    // Throughout the attack (past the header deadline), a new client is answered in time.
    let attack = Instant::now();
    let mut during = Vec::new();
    while attack.elapsed() < bound {
        let (line, took) = status(to).await;
        assert!(
            line.starts_with("HTTP/1.1 200"),
            "after {:?} of the attack: {line}",
            attack.elapsed()
        );
        assert!(took < Duration::from_secs(2), "{took:?}");
        during.push(took);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut closed = Vec::with_capacity(SOCKETS);
    for s in senders {
        closed.push(s.await.unwrap());
    }
    let connected: Vec<Duration> = closed.iter().flatten().copied().collect();
    let latest = connected.iter().max().copied().unwrap_or_default();
    let at_once = connected
        .iter()
        .filter(|d| **d < Duration::from_secs(1))
        .count();
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let mut closes = connected.clone();
    closes.sort();
    eprintln!(
        "{} of {SOCKETS} slow senders connected; {at_once} closed within 1 s, the median after \
         {:?}, the last after {latest:?}; GET /api/status on a new connection: before the attack \
         median {:?} (of {}), during it median {:?}, slowest {:?} (of {})",
        connected.len(),
        closes.get(closes.len() / 2).copied().unwrap_or_default(),
        median(baseline.clone()),
        baseline.len(),
        median(during.clone()),
        during.iter().max().copied().unwrap_or_default(),
        during.len()
    );
    assert!(connected.len() >= SOCKETS * 9 / 10, "{}", connected.len());
    assert!(latest <= bound, "a slow sender was held {latest:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
