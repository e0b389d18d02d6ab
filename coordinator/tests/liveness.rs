//! A stale session does not lock its identity out: miners are pinged, silent ones dropped, and a
//! new connection with an identity already connected replaces the old one (which is told).

use coordinator::server::{serve, Hub, ServerConfig};
use futures_util::{SinkExt, StreamExt};
use hashcore::Table;
use protocol::{Message, MinerHandshake, Secret, Session};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message as Ws;

const FA: &str = "FA2jK2HcLnRdS94dEcU27rF3meoJfpUcZPSinpb7AwQvPRY6RL1Q";
type Stream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn setup() -> (Arc<Hub>, String, watch::Sender<bool>) {
    let table = Arc::new(Table::generate(10, &mut |_, _| {}).unwrap());
    let hub = Hub::new(
        ServerConfig {
            secret: Some(Secret::new("farm")),
            ping_every: Duration::from_millis(200),
            idle_timeout: Duration::from_millis(700),
            ..ServerConfig::default()
        },
        table,
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let (tx, rx) = watch::channel(false);
    tokio::spawn(serve(hub.clone(), l, rx));
    (hub, addr, tx)
}

async fn text(ws: &mut Stream) -> Option<String> {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .ok()??
        {
            Ok(Ws::Text(t)) => return Some(t.as_str().to_string()),
            Ok(Ws::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

async fn login(addr: &str, identity: &str) -> (Stream, Session) {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}"))
        .await
        .unwrap();
    let challenge = text(&mut ws).await.unwrap();
    let (pending, auth) = MinerHandshake::new(&Secret::new("farm"), identity, FA)
        .respond(&challenge)
        .unwrap();
    ws.send(Ws::Text(auth.into())).await.unwrap();
    let reply = text(&mut ws).await.unwrap();
    let s = pending.finish(&reply).unwrap();
    (ws, s)
}

/// Every message until the connection closes.
async fn drain(ws: &mut Stream, s: &mut Session) -> Vec<Message> {
    let mut v = Vec::new();
    while let Some(t) = text(ws).await {
        v.push(s.open(&t).unwrap());
    }
    v
}

async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn miners_are_pinged_and_silent_ones_dropped() {
    let (hub, addr, _stop) = setup().await;
    // "alive" answers every ping; "silent" never sends anything.
    let (mut alive, mut alive_s) = login(&addr, "alive").await;
    let (mut silent, mut silent_s) = login(&addr, "silent").await;
    let answered = tokio::spawn(async move {
        let mut pongs = 0;
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_millis(1800) {
            let Some(t) = text(&mut alive).await else {
                panic!("the answering miner was dropped")
            };
            if let Message::Ping { nonce } = alive_s.open(&t).unwrap() {
                let f = alive_s.seal(&Message::Pong { nonce }).unwrap();
                alive.send(Ws::Text(f.into())).await.unwrap();
                pongs += 1;
            }
        }
        // Hand the socket back: dropping it here would close the answering miner too.
        (pongs, alive)
    });
    let got = drain(&mut silent, &mut silent_s).await;
    let pings = got
        .iter()
        .filter(|m| matches!(m, Message::Ping { .. }))
        .count();
    assert!(pings >= 2, "{got:?}");
    match got.last() {
        Some(Message::Error { message }) => assert!(message.contains("nothing heard"), "{message}"),
        other => panic!("{other:?}"),
    }
    until("the silent miner gone", || hub.miners() == ["alive"]).await;
    let (pongs, _still_open) = answered.await.unwrap();
    assert!(pongs >= 5);
    assert_eq!(hub.miners(), vec!["alive".to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_connection_replaces_a_stale_one_with_the_same_identity() {
    let (hub, addr, _stop) = setup().await;
    // The old connection stands for a box that rebooted: it never reads nor answers.
    let (mut old, mut old_s) = login(&addr, "rig1").await;
    let (mut new, mut new_s) = login(&addr, "rig1").await;
    let got = drain(&mut old, &mut old_s).await;
    match got.last() {
        Some(Message::Error { message }) => assert!(message.contains("replaced"), "{message}"),
        other => panic!("{other:?}"),
    }
    // The old connection's end leaves the new registration in place.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(hub.miners(), vec!["rig1".to_string()]);
    hub.broadcast(Message::Minute {
        height: 9,
        minute: 2,
    });
    loop {
        match new_s.open(&text(&mut new).await.unwrap()).unwrap() {
            Message::Minute { .. } => break,
            Message::Ping { .. } => continue,
            other => panic!("{other:?}"),
        }
    }
}
