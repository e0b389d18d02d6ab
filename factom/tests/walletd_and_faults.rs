//! walletd's `address` call against a stand-in walletd, and the latency fault of the simulator.

use axum::body::Bytes;
use axum::routing::post;
use axum::Router;
use factom::{EcSecret, FactomdClient, RpcConfig, WalletdClient};
use factomd_sim::{SimConfig, SimServer};
use serde_json::{json, Value};
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
