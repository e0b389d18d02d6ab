//! The `[[alerts]]` webhooks end to end: a netminer connected to a coordinator's hub is killed,
//! and a webhook receiver (an HTTP server on port 0) gets "miner offline" within the configured
//! silence; the miner comes back, and the receiver gets "resolved". The receiver refuses the
//! first POST, so the message arrives through a retry.

mod common;

use axum::{extract::State, http::StatusCode, routing::post, Json, Router};
use common::{hub, miner, miner_cfg, server_cfg, table, until, FA, SECRET};
use coordinator::alerts::{self, AlertConfig};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the receiver got: every POST's body, and whether it was refused.
type Received = Arc<Mutex<Vec<(Value, bool)>>>;

async fn receive(State(got): State<Received>, Json(body): Json<Value>) -> StatusCode {
    let mut got = got.lock().unwrap();
    // The first delivery fails (503): the sender must try again.
    let refuse = got.is_empty();
    got.push((body, refuse));
    if refuse {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::NO_CONTENT
    }
}

/// The accepted bodies with `status`.
fn taken(got: &Received, status: &str) -> Vec<Value> {
    got.lock()
        .unwrap()
        .iter()
        .filter(|(b, refused)| !refused && b["status"] == status)
        .map(|(b, _)| b.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_miner_is_reported_offline_within_the_silence_and_resolved_when_back() {
    let got: Received = Arc::default();
    let receiver = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", receiver.local_addr().unwrap());
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(got.clone());
    tokio::spawn(async move { axum::serve(receiver, app).await });

    let l = hub(server_cfg(SECRET)).await;
    let telemetry = l.hub.telemetry().clone();
    let silence = Duration::from_secs(2);
    let cfg = AlertConfig {
        url: Some(hook.clone().into()),
        name: Some("farm-a".into()),
        miner_silent_secs: silence.as_secs_f64(),
        check_secs: 0.2,
        ..AlertConfig::default()
    };
    let _alerts = alerts::spawn(&[cfg], telemetry.clone());

    let caddr = l.addr.to_string();
    let rig = miner(&table(10), miner_cfg(&[&caddr], "rig01", FA));
    until("rig01 connected", Duration::from_secs(20), || {
        telemetry.is_connected("rig01")
    })
    .await;

    // Killed: its task gone, its socket dropped without a goodbye.
    rig.task.abort();
    let killed = Instant::now();
    until("the miner offline alert", Duration::from_secs(60), || {
        !taken(&got, "firing").is_empty()
    })
    .await;
    let took = killed.elapsed();
    let firing = taken(&got, "firing");
    assert_eq!(firing.len(), 1, "{firing:#?}");
    let f = &firing[0];
    assert_eq!(f["alert"], "miner_offline");
    assert_eq!(f["key"], "miner_offline:rig01");
    assert_eq!(f["farm"], "farm-a");
    let text = f["text"].as_str().unwrap();
    assert!(
        text.starts_with("[farm-a] miner offline: rig01 (disconnected"),
        "{text}"
    );
    assert_eq!(f["content"], f["text"]);
    // The first try was refused: this one is the retry, a second later.
    assert!(
        got.lock().unwrap()[0].1,
        "the first POST was not the refused one"
    );
    // Within the silence, plus the check interval, the 1 s retry and a loaded machine's slack.
    assert!(took < silence + Duration::from_secs(15), "{took:?}");

    // Back: one "resolved".
    let _rig = miner(&table(10), miner_cfg(&[&caddr], "rig01", FA));
    until("the resolved message", Duration::from_secs(60), || {
        !taken(&got, "resolved").is_empty()
    })
    .await;
    let resolved = taken(&got, "resolved");
    assert_eq!(resolved[0]["key"], "miner_offline:rig01");
    assert_eq!(
        resolved[0]["text"],
        "[farm-a] resolved: miner rig01 is back"
    );
    // Still one alert: once per incident.
    assert_eq!(taken(&got, "firing").len(), 1);
}
