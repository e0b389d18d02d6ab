//! Remote control end to end: a whole coordinator (hub, engine, simulated factomd) with its HTTP
//! API on port 0, and in-process netminers. Pausing through the API takes the miner's reported
//! rate to 0 within 10 s, resuming brings it back, and the block's record names the miner paused
//! during it; every change needs the token as a Bearer header (also on loopback) and a JSON body;
//! an unknown miner and a miner of protocol 2 get clear answers.

mod common;

use common::{miner, miner_cfg, until, FarmBuilder, FA, PATIENCE};
use coordinator::daemon::{start_http, HttpSettings};
use coordinator::store::Store;
use coordinator::telemetry::views::{BlocksView, MinersView};
use secrecy::SecretString;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOKEN: &str = "control-test-token-0123456789";

/// One HTTP/1.1 request over a fresh connection: the status and the body.
async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\nContent-Length: {}\r\n",
        addr.port(),
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(PATIENCE + Duration::from_secs(30), s.read_to_end(&mut out))
        .await
        .expect("an answer")
        .unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status: u16 = text[9..12].parse().unwrap();
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    // Chunked bodies: keep what lies between the size lines (the JSON has no bare CRLFs).
    let body = if text
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body.split("\r\n")
            .enumerate()
            .filter(|(k, _)| k % 2 == 1)
            .map(|(_, c)| c)
            .collect()
    } else {
        body.to_string()
    };
    (status, body)
}

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

/// POSTs JSON with the token.
async fn post(addr: SocketAddr, path: &str, body: &str) -> (u16, serde_json::Value) {
    let auth = bearer();
    let (code, text) = http(
        addr,
        "POST",
        path,
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        body,
    )
    .await;
    let v = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    (code, v)
}

async fn miners(addr: SocketAddr) -> MinersView {
    let auth = bearer();
    let (code, text) = http(addr, "GET", "/api/miners", &[("Authorization", &auth)], "").await;
    assert_eq!(code, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// The farm's HTTP API on 127.0.0.1:0 with [`TOKEN`].
async fn api(farm: &common::Farm, store: Store) -> (SocketAddr, tokio::sync::watch::Sender<bool>) {
    let (stop, rx) = tokio::sync::watch::channel(false);
    let settings = HttpSettings {
        addr: "127.0.0.1:0".parse().unwrap(),
        token: Some(SecretString::from(TOKEN)),
        limits: Default::default(),
    };
    let (addr, _task) = start_http(&settings, farm.hub().telemetry().clone(), store, rx)
        .await
        .unwrap();
    (addr, stop)
}

/// The store a farm built with `tag` writes (a second connection to the same file).
fn store_of(tag: &str) -> Store {
    let p = std::env::temp_dir().join(format!("farm-{tag}-{}.db", std::process::id()));
    Store::open(&p).unwrap()
}

fn rate_of(m: &MinersView, id: &str) -> Option<(f64, bool)> {
    m.miners
        .iter()
        .find(|v| v.identity == id && v.connected)
        .map(|v| (v.rate_10s, v.paused))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pausing_through_the_api_takes_the_rate_to_zero_and_the_block_records_it() {
    let mut farm = FarmBuilder::new("control-pause", 300).build().await;
    let (api, _stop) = api(&farm, store_of("control-pause")).await;
    let table = common::table(10);
    let _rig = miner(&table, miner_cfg(&[&farm.addr()], "rig1", FA));
    farm.job(300).await;
    let mut view = None;
    for _ in 0..200 {
        let m = miners(api).await;
        if rate_of(&m, "rig1").is_some_and(|(r, _)| r > 0.0) {
            view = Some(m);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(view.is_some(), "rig1 never reported a rate");

    let (code, answer) = post(api, "/api/miners/rig1/pause", "{}").await;
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["outcome"], "done", "{answer}");
    assert_eq!(answer["detail"], "paused");
    let paused_at = std::time::Instant::now();
    let mut zero = false;
    while paused_at.elapsed() < Duration::from_secs(10) {
        if rate_of(&miners(api).await, "rig1") == Some((0.0, true)) {
            zero = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        zero,
        "rig1's reported rate is not 0 within 10 s of the pause"
    );
    // Its own reports keep saying so (not only the coordinator's note of the answer): two more.
    let t = farm.hub().telemetry().clone();
    until("rig1's reports to say it is paused", PATIENCE, || {
        t.is_paused("rig1") && t.miner("rig1").is_some_and(|m| m.rate_10s == 0.0)
    })
    .await;
    let auth = bearer();
    let (_, metrics) = http(api, "GET", "/metrics", &[("Authorization", &auth)], "").await;
    assert!(
        metrics.contains("netmine_miner_paused{identity=\"rig1\"} 1"),
        "{metrics}"
    );
    assert!(
        farm.hub().is_connected("rig1"),
        "a paused miner stays connected"
    );

    let (code, answer) = post(api, "/api/miners/rig1/resume", "").await;
    assert_eq!(
        (code, answer["outcome"].as_str()),
        (200, Some("done")),
        "{answer}"
    );
    let mut back = false;
    for _ in 0..200 {
        if rate_of(&miners(api).await, "rig1").is_some_and(|(r, p)| r > 0.0 && !p) {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(back, "rig1's rate did not come back after the resume");

    farm.finish(300).await;
    let (code, text) = http(api, "GET", "/api/blocks", &[("Authorization", &auth)], "").await;
    assert_eq!(code, 200);
    let blocks: BlocksView = serde_json::from_str(&text).unwrap();
    let b = blocks
        .blocks
        .iter()
        .find(|b| b.height == 300)
        .expect("block 300");
    assert_eq!(b.paused, vec!["rig1".to_string()], "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_needs_the_token_json_a_known_miner_and_protocol_3() {
    let mut farm = FarmBuilder::new("control-guard", 400).build().await;
    let (api, _stop) = api(&farm, store_of("control-guard")).await;
    let table = common::table(10);
    let _new = miner(&table, miner_cfg(&[&farm.addr()], "rig1", FA));
    let mut old_cfg = miner_cfg(&[&farm.addr()], "old2", FA);
    old_cfg.link.newest_version = 2;
    let _old = miner(&table, old_cfg);
    farm.job(400).await;
    let hub = farm.hub().clone();
    until("both miners to connect", PATIENCE, || {
        hub.is_connected("rig1") && hub.is_connected("old2")
    })
    .await;

    // No token, a Basic login, a wrong token: refused, also on loopback.
    let json = ("Content-Type", "application/json");
    let basic = format!("Basic {}", base64_of(&format!("admin:{TOKEN}")));
    for auth in [
        None,
        Some(basic.as_str()),
        Some("Bearer not-the-token-at-all"),
    ] {
        let mut h = vec![json];
        if let Some(a) = auth {
            h.push(("Authorization", a));
        }
        let (code, _) = http(api, "POST", "/api/miners/rig1/pause", &h, "{}").await;
        assert_eq!(code, 401, "{auth:?}");
    }
    assert!(!hub.telemetry().is_paused("rig1"));
    // Not JSON (what an HTML form sends, or nothing said): refused before anything is asked.
    let auth = bearer();
    for ct in [
        Some("application/x-www-form-urlencoded"),
        Some("text/plain"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let mut h = vec![("Authorization", auth.as_str())];
        if let Some(c) = ct {
            h.push(("Content-Type", c));
        }
        let (code, _) = http(api, "POST", "/api/miners/rig1/pause", &h, "{}").await;
        assert_eq!(code, 415, "{ct:?}");
    }
    assert!(!hub.telemetry().is_paused("rig1"));
    // Garbage bodies and actions.
    for (path, body, want) in [
        ("/api/miners/rig1/pause", "{not json", 400),
        ("/api/miners/rig1/pause", r#"{"threads":2}"#, 400),
        ("/api/miners/rig1/threads", "{}", 400),
        ("/api/miners/rig1/threads", r#"{"threads":0}"#, 400),
        ("/api/miners/rig1/threads", r#"{"threads":-3}"#, 400),
        ("/api/miners/rig1/explode", "{}", 404),
        ("/api/miners/control", r#"{"action":"pause"}"#, 400),
        (
            "/api/miners/control",
            r#"{"action":"pause","all":true,"miners":["a"]}"#,
            400,
        ),
    ] {
        let (code, answer) = post(api, path, body).await;
        assert_eq!(code, want, "{path} {body}: {answer}");
    }
    // An unknown miner.
    let (code, answer) = post(api, "/api/miners/nobody/pause", "{}").await;
    assert_eq!(
        (code, answer["outcome"].as_str()),
        (404, Some("unknown")),
        "{answer}"
    );
    // A miner of protocol 2 is never sent a control message: the answer says why.
    let (code, answer) = post(api, "/api/miners/old2/pause", "{}").await;
    assert_eq!(code, 409, "{answer}");
    assert_eq!(answer["outcome"], "needs_protocol3");
    assert!(
        answer["detail"]
            .as_str()
            .unwrap()
            .contains("needs protocol 3"),
        "{answer}"
    );
    assert!(
        hub.is_connected("old2"),
        "the old miner's link is untouched"
    );
    // The miner started without a way to rebuild its backend says so.
    let (code, answer) = post(api, "/api/miners/rig1/threads", r#"{"threads":2}"#).await;
    assert_eq!(
        (code, answer["outcome"].as_str()),
        (422, Some("refused")),
        "{answer}"
    );
    // The bulk form: every connected miner, each with its own answer.
    let (code, answer) = post(
        api,
        "/api/miners/control",
        r#"{"action":"pause","all":true}"#,
    )
    .await;
    assert_eq!(code, 200, "{answer}");
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{answer}");
    let of = |id: &str| {
        results.iter().find(|r| r["identity"] == id).unwrap()["outcome"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        (of("rig1").as_str(), of("old2").as_str()),
        ("done", "needs_protocol3")
    );
    assert!(hub.telemetry().is_paused("rig1"));
    let (code, answer) = post(
        api,
        "/api/miners/control",
        r#"{"action":"resume","miners":["rig1","nobody"]}"#,
    )
    .await;
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["results"][0]["outcome"], "done");
    assert_eq!(answer["results"][1]["outcome"], "unknown");
    assert!(!hub.telemetry().is_paused("rig1"));
}

/// Standard base64 (the test's Basic header).
fn base64_of(s: &str) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = chunk.iter().fold(0u32, |acc, &x| (acc << 8) | x as u32) << (8 * (3 - chunk.len()));
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(A[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A fake coordinator's side of one miner's link: accepted, version 3 agreed, authenticated.
// The upgrade callback's error type is tungstenite's (an HTTP response), not ours to shrink.
#[allow(clippy::result_large_err)]
async fn accept_miner(
    l: &tokio::net::TcpListener,
    secret: &protocol::Secret,
) -> (
    tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
    protocol::Session,
) {
    use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
    let (tcp, _) = tokio::time::timeout(PATIENCE, l.accept())
        .await
        .expect("the miner (re)connects")
        .unwrap();
    let agree = |_: &Request, mut resp: Response| {
        resp.headers_mut()
            .insert("Netmine-Protocol", "3".parse().unwrap());
        Ok(resp)
    };
    let mut ws = tokio_tungstenite::accept_hdr_async(tcp, agree)
        .await
        .unwrap();
    let (hs, challenge) = protocol::CoordinatorHandshake::start_version(secret, 3);
    protocol::ws::send_text(&mut ws, challenge).await.unwrap();
    let auth = protocol::ws::recv_text(&mut ws, "miner").await.unwrap();
    let v = hs.verify(&auth, |_, _| vec![secret.clone()]).unwrap();
    let (session, welcome) = v.welcome(FA);
    protocol::ws::send_text(&mut ws, welcome).await.unwrap();
    (ws, session)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_miner_refuses_hostile_control_requests_and_never_panics() {
    use protocol::{ControlAction, Message};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let secret = protocol::Secret::new(common::SECRET);
    let table = common::table(10);
    let rig = miner(&table, miner_cfg(&[&addr], "rig1", FA));
    let (mut ws, mut s) = accept_miner(&l, &secret).await;
    // The answer to request `id` (stats, pongs and the like skipped).
    async fn answer(
        ws: &mut tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
        s: &mut protocol::Session,
        id: u64,
    ) -> (bool, String) {
        loop {
            let text = tokio::time::timeout(PATIENCE, protocol::ws::recv_text(ws, "miner"))
                .await
                .expect("an answer")
                .unwrap();
            if let Message::ControlResult { id: i, ok, detail } = s.open(&text).unwrap() {
                if i == id {
                    return (ok, detail);
                }
            }
        }
    }
    let send = |s: &mut protocol::Session, m: &Message| s.seal(m).unwrap();
    // Out of range, unprintable, impossible without a way to rebuild: refused, saying why.
    let hostile = [
        (ControlAction::SetThreads { threads: 0 }, "threads"),
        (ControlAction::SetThreads { threads: u32::MAX }, "threads"),
        (
            ControlAction::SetDevices {
                devices: "\u{1b}[31m0".into(),
            },
            "devices",
        ),
        (
            ControlAction::SetDevices {
                devices: "9".repeat(300),
            },
            "devices",
        ),
        (ControlAction::Restart, "cannot rebuild"),
    ];
    for (id, (action, why)) in (1u64..).zip(hostile) {
        let f = send(&mut s, &Message::Control { id, action });
        protocol::ws::send_text(&mut ws, f).await.unwrap();
        let (ok, detail) = answer(&mut ws, &mut s, id).await;
        assert!(!ok && detail.contains(why), "{id}: {detail}");
    }
    // Repeated and idempotent requests are fine; ids the miner never saw are just echoed.
    for (id, action, want) in [
        (u64::MAX, ControlAction::Resume, "was not paused"),
        (0, ControlAction::Pause, "paused"),
        (7, ControlAction::Pause, "already paused"),
        (8, ControlAction::Resume, "resumed"),
    ] {
        let f = send(&mut s, &Message::Control { id, action });
        protocol::ws::send_text(&mut ws, f).await.unwrap();
        assert_eq!(answer(&mut ws, &mut s, id).await, (true, want.to_string()));
    }
    // Messages only a miner or a relay sends, coming from the coordinator: an error, no more.
    for m in [
        Message::ControlResult {
            id: 1,
            ok: true,
            detail: "x".into(),
        },
        Message::RelayControl {
            identity: "rig1".into(),
            id: 2,
            action: ControlAction::Pause,
        },
    ] {
        let f = send(&mut s, &m);
        protocol::ws::send_text(&mut ws, f).await.unwrap();
    }
    let f = send(
        &mut s,
        &Message::Control {
            id: 9,
            action: ControlAction::Pause,
        },
    );
    protocol::ws::send_text(&mut ws, f).await.unwrap();
    assert_eq!(answer(&mut ws, &mut s, 9).await, (true, "paused".into()));
    // Frames that are not the session's (garbage, a control without a MAC, an unknown action):
    // the miner ends the link as a protocol violation and dials again, still paused.
    for garbage in [
        "{".to_string(),
        r#"{"msg":{"type":"control","id":1,"action":{"kind":"restart"}}}"#.to_string(),
        r#"{"seq":99,"mac":"00","msg":{"type":"control","id":1,"action":{"kind":"explode"}}}"#
            .to_string(),
        "x".repeat(70 * 1024),
    ] {
        protocol::ws::send_text(&mut ws, garbage).await.ok();
        let (w, ss) = accept_miner(&l, &secret).await;
        (ws, s) = (w, ss);
    }
    assert!(!rig.task.is_finished(), "the miner is still running");
    let f = send(
        &mut s,
        &Message::Control {
            id: 10,
            action: ControlAction::Resume,
        },
    );
    protocol::ws::send_text(&mut ws, f).await.unwrap();
    assert_eq!(
        answer(&mut ws, &mut s, 10).await,
        (true, "resumed".into()),
        "the pause outlived the reconnects"
    );
}
