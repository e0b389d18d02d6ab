//! walletd's `address` call against a stand-in walletd, the latency fault, and the factomd-sim binary.

use axum::body::Bytes;
use axum::routing::post;
use axum::Router;
use factom::sim::{SimConfig, SimServer};
use factom::{EcSecret, FactomdClient, RpcConfig, WalletdClient};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

async fn fake_walletd(answer_with: EcSecret) -> String {
    let app = Router::new().route(
        "/v2",
        post(move |body: Bytes| {
            let key = answer_with.clone();
            async move {
                let v: Value = serde_json::from_slice(&body).unwrap();
                assert_eq!(v["method"], "address");
                axum::Json(json!({"jsonrpc":"2.0","id":v["id"],"result":{
                    "public": key.public().to_string(), "secret": key.to_secret_string()}}))
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    url
}

#[tokio::test]
async fn walletd_returns_the_matching_secret_or_a_clear_error() {
    let key = EcSecret::generate();
    let w = WalletdClient::new(RpcConfig::new(&fake_walletd(key.clone()).await)).unwrap();
    let got = w.ec_secret(&key.public()).await.unwrap();
    assert_eq!(got.public(), key.public());
    // A wallet answering with another key is refused.
    let other = EcSecret::generate();
    let e = w.ec_secret(&other.public()).await.unwrap_err().to_string();
    assert!(e.contains("not"), "{e}");
}

#[tokio::test]
async fn latency_beyond_the_timeout_is_a_transport_error() {
    let s = SimServer::start(SimConfig::default(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    s.sim().set_latency(Duration::from_millis(400));
    let mut cfg = RpcConfig::new(&s.url());
    cfg.timeout = Duration::from_millis(100);
    cfg.retry_for = Duration::ZERO;
    let c = FactomdClient::new(cfg).unwrap();
    let e = c.heights().await.unwrap_err();
    assert!(e.is_transport(), "{e}");
    s.sim().set_latency(Duration::ZERO);
    assert_eq!(c.heights().await.unwrap().directoryblockheight, 299_999);
}

#[tokio::test]
async fn factomd_sim_binary_serves_and_funds() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let key = EcSecret::generate();
    let mut child = Command::new(env!("CARGO_BIN_EXE_factomd-sim"))
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--block-seconds",
            "60",
            "--start-height",
            "777",
            "--fund-ec",
            &format!("{}=25", key.public()),
            "--fund-new",
            "9",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut new_secret = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(s) = line.strip_prefix("its secret (give it to the coordinator): ") {
            new_secret = Some(s.to_string());
        }
        if line.contains("listening on") {
            break;
        }
    }
    let c = FactomdClient::new(RpcConfig::new(&format!("127.0.0.1:{port}"))).unwrap();
    let cm = c.current_minute().await.unwrap();
    assert_eq!(
        (cm.directoryblockheight, cm.directoryblockinseconds),
        (776, 60)
    );
    assert_eq!(c.ec_balance(&key.public()).await.unwrap(), 25);
    let fresh: EcSecret = new_secret.expect("secret printed").parse().unwrap();
    assert_eq!(c.ec_balance(&fresh.public()).await.unwrap(), 9);
    child.kill().unwrap();
    let _ = child.wait();

    let bad = Command::new(env!("CARGO_BIN_EXE_factomd-sim"))
        .args(["--fund-ec", "ECnope=5"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--fund-ec"));
}
