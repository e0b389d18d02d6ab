//! A stale session does not lock its identity out: miners are pinged, silent ones dropped, and a
//! new connection with an identity already connected replaces the old one (which is told).

mod common;

use common::{text, Stream, PATIENCE};
use coordinator::server::{Hub, ServerConfig};
use futures_util::SinkExt;
use protocol::{Message, Session};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message as Ws;

async fn setup() -> (Arc<Hub>, String, watch::Sender<bool>) {
    let l = common::hub(ServerConfig {
        ping_every: Duration::from_millis(200),
        idle_timeout: Duration::from_millis(700),
        ..common::server_cfg("farm")
    })
    .await;
    (l.hub, l.addr.to_string(), l.stop)
}

async fn login(addr: &str, identity: &str) -> (Stream, Session) {
    let (ws, s) = common::login(addr, "farm", identity).await;
    (ws, s.expect("welcomed"))
}

/// Every message until the connection closes.
async fn drain(ws: &mut Stream, s: &mut Session) -> Vec<Message> {
    let mut v = Vec::new();
    while let Some(t) = text(ws).await {
        v.push(s.open(&t).unwrap());
    }
    v
}

async fn until(what: &str, f: impl FnMut() -> bool) {
    common::until(what, PATIENCE, f).await
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
    // The old connection's end (the coordinator lets go of it after giving the identity back)
    // leaves the new registration in place.
    assert!(common::closed(&mut old, PATIENCE).await);
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
