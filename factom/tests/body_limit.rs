//! A node (or anything posing as one) answering with an endless body is cut off at 8 MiB.

use axum::routing::post;
use axum::Router;
use factom::{FactomdClient, RpcConfig};

#[tokio::test]
async fn a_response_body_over_8_mib_is_an_error() {
    let huge = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":0,\"result\":{{\"x\":\"{}\"}}}}",
        "a".repeat(9 << 20)
    );
    let app = Router::new().route("/v2", post(move || async move { huge.clone() }));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    let c = FactomdClient::new(RpcConfig::new(&addr.to_string())).unwrap();
    let e = c.heights().await.unwrap_err();
    assert!(e.to_string().contains("over 8388608 bytes"), "{e}");
}
