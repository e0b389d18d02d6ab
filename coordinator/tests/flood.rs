//! Strangers cannot take the miners' slots: with 1,000+ sockets from 24 addresses held open and
//! re-opened (idle sockets, half-sent upgrade requests, upgraded sockets that never authenticate),
//! real miners still get in within seconds. Loopback addresses 127.0.0.2, 127.0.0.3, … stand in
//! for many hosts.

mod common;

use coordinator::server::{serve, Hub, ServerConfig};
use futures_util::StreamExt;
use hashcore::Table;
use protocol::{Message, Secret};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message as Ws;

const ADDRESSES: u8 = 24;
const PER_ADDRESS: usize = 50;

async fn connect_from(ip: Ipv4Addr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let s = TcpSocket::new_v4()?;
    s.bind(SocketAddr::new(IpAddr::V4(ip), 0))?;
    tokio::time::timeout(Duration::from_secs(2), s.connect(to))
        .await
        .map_err(|_| std::io::Error::other("connect timed out"))?
}

/// One stranger's address: keeps `PER_ADDRESS` sockets open, drops and re-opens them all every
/// `refresh`. `kind` 0: idle TCP; 1: half an upgrade request; 2: upgraded, never authenticates.
async fn stranger(
    ip: Ipv4Addr,
    to: SocketAddr,
    kind: u8,
    refresh: Duration,
    held: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
) {
    // The previous batch is dropped only once the new one is open, so the count never dips.
    let mut previous: (
        Vec<TcpStream>,
        Vec<tokio_tungstenite::WebSocketStream<TcpStream>>,
    ) = (Vec::new(), Vec::new());
    while !stop.load(Ordering::Relaxed) {
        let mut tcp = Vec::new();
        let mut ws = Vec::new();
        for _ in 0..PER_ADDRESS {
            let Ok(mut s) = connect_from(ip, to).await else {
                continue;
            };
            match kind {
                0 => tcp.push(s),
                1 => {
                    let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await;
                    tcp.push(s);
                }
                _ => {
                    // The upgrade may be refused (the server closed the socket over the
                    // per-address cap): the socket is held anyway.
                    match tokio::time::timeout(
                        Duration::from_millis(500),
                        tokio_tungstenite::client_async(format!("ws://{to}/"), s),
                    )
                    .await
                    {
                        Ok(Ok((w, _))) => ws.push(w),
                        _ => continue,
                    }
                }
            }
            held.fetch_add(1, Ordering::Relaxed);
        }
        held.fetch_sub(previous.0.len() + previous.1.len(), Ordering::Relaxed);
        previous = (tcp, ws);
        tokio::time::sleep(refresh).await;
    }
}

async fn text<S>(ws: &mut tokio_tungstenite::WebSocketStream<S>) -> Option<String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .ok()??
        {
            Ok(Ws::Text(t)) => return Some(t.as_str().to_string()),
            Ok(Ws::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

/// A miner's full login from 127.0.0.1; Ok(time taken) or Err(what went wrong).
async fn login(to: SocketAddr, identity: &str) -> Result<Duration, String> {
    let t0 = Instant::now();
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{to}"))
        .await
        .map_err(|e| e.to_string())?;
    protocol::ws::client_handshake(&mut ws, &Secret::new(common::SECRET), identity, common::FA)
        .await
        .map_err(|e| e.to_string())?;
    let took = t0.elapsed();
    // Stay connected a moment, then leave.
    tokio::time::sleep(Duration::from_millis(50)).await;
    Ok(took)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn miners_get_in_while_strangers_hold_a_thousand_sockets_from_many_addresses() {
    let (old, new) = netmine_cli::raise_fd_limit().unwrap();
    assert!(
        new >= 4096,
        "this test needs ~3,000 descriptors (soft limit {old}, hard {new})"
    );
    let table = Arc::new(Table::generate(10, &mut |_, _| {}).unwrap());
    // The default limits, with bans off: the slot accounting alone must let miners in.
    let cfg = ServerConfig {
        secret: Some(Secret::new(common::SECRET)),
        ban_after: u32::MAX,
        ..ServerConfig::default()
    };
    let hub = Hub::new(cfg, table);
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let to = l.local_addr().unwrap();
    let (_tx, rx) = watch::channel(false);
    tokio::spawn(serve(hub.clone(), l, rx));

    let held = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for k in 0..ADDRESSES {
        tasks.push(tokio::spawn(stranger(
            Ipv4Addr::new(127, 0, 0, 2 + k),
            to,
            k % 3,
            Duration::from_secs(2),
            held.clone(),
            stop.clone(),
        )));
    }
    // Wait until the strangers hold 1,000+ sockets.
    let t0 = Instant::now();
    while held.load(Ordering::Relaxed) < 1000 {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "the strangers only opened {} sockets",
            held.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "strangers hold {} sockets after {:?}",
        held.load(Ordering::Relaxed),
        t0.elapsed()
    );
    // Miners log in one after another while the flood goes on and re-opens (every 2 s: the
    // logins span two re-openings).
    let mut worst = Duration::ZERO;
    let flood_until = Instant::now() + Duration::from_secs(5);
    let mut k = 0;
    while Instant::now() < flood_until {
        let took = tokio::time::timeout(Duration::from_secs(8), login(to, &format!("rig{k}")))
            .await
            .unwrap_or_else(|_| Err("timed out".into()))
            .unwrap_or_else(|e| panic!("miner rig{k} could not get in: {e}"));
        worst = worst.max(took);
        k += 1;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let during = held.load(Ordering::Relaxed);
    eprintln!("{k} miners got in, the slowest in {worst:?}; strangers held {during} sockets");
    assert!(during >= 1000, "the flood thinned out: {during} sockets");
    assert!(k >= 5, "only {k} logins in 5 s");
    assert!(worst < Duration::from_secs(3), "a login took {worst:?}");
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.abort();
    }
}

#[tokio::test]
async fn timeouts_and_malformed_handshakes_lead_to_a_ban() {
    let table = Arc::new(Table::generate(10, &mut |_, _| {}).unwrap());
    let cfg = ServerConfig {
        secret: Some(Secret::new(common::SECRET)),
        ban_after: 2,
        auth_timeout: Duration::from_millis(300),
        ..ServerConfig::default()
    };
    let hub = Hub::new(cfg, table);
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let to = l.local_addr().unwrap();
    let (_tx, rx) = watch::channel(false);
    tokio::spawn(serve(hub.clone(), l, rx));
    let ip = Ipv4Addr::new(127, 0, 0, 99);
    // A malformed upgrade request, then an idle socket that times out.
    let mut s = connect_from(ip, to).await.unwrap();
    s.write_all(b"NONSENSE\r\n\r\n").await.unwrap();
    let mut idle = connect_from(ip, to).await.unwrap();
    let mut buf = [0u8; 64];
    let _ = tokio::time::timeout(
        Duration::from_secs(3),
        tokio::io::AsyncReadExt::read(&mut idle, &mut buf),
    )
    .await
    .expect("the idle socket is closed at the deadline");
    // Now banned, even with the right secret; other addresses are not.
    let s = connect_from(ip, to).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async(format!("ws://{to}/"), s)
        .await
        .unwrap();
    let first = protocol::decode_plain(&text(&mut ws).await.unwrap()).unwrap();
    assert!(
        matches!(
            first,
            Message::Rejected {
                code: protocol::ConnectionRefusal::Banned,
                ..
            }
        ),
        "{first:?}"
    );
    login(to, "rig1").await.unwrap();
}
