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

/// A stand-in node answering every call with `body` (HTTP 400, as factomd answers errors).
async fn node_answering(body: String) -> String {
    let app = Router::new().route(
        "/v2",
        post(move || {
            let body = body.clone();
            async move { (axum::http::StatusCode::BAD_REQUEST, body) }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    addr.to_string()
}

#[tokio::test]
async fn a_2_mb_error_text_is_cut_and_cleaned_in_the_error() {
    let text = "\u{1b}[2J\u{1b}]0;owned\u{7}bad node\n".repeat(70_000);
    let data = "\u{1b}[31mdata\r\n".repeat(1000);
    let body = serde_json::json!({"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":text,"data":data}});
    let url = node_answering(body.to_string()).await;
    let c = FactomdClient::new(RpcConfig::new(&url)).unwrap();
    let e = c.heights().await.unwrap_err();
    assert_eq!(e.rpc_code(), Some(-32603));
    let shown = e.to_string();
    assert!(shown.len() <= 450, "{} bytes", shown.len());
    assert!(shown.starts_with("heights: bad node bad node"), "{shown}");
    assert!(!shown.chars().any(char::is_control), "{shown:?}");
    // An object as data is kept while it is short and clean, else replaced by its text cut.
    let obj = serde_json::json!({"info": "x".repeat(500)});
    let body = serde_json::json!({"jsonrpc":"2.0","id":1,"error":{"code":-32011,"message":"Repeated Commit","data":obj}});
    let url = node_answering(body.to_string()).await;
    let c = FactomdClient::new(RpcConfig::new(&url)).unwrap();
    let shown = c.heights().await.unwrap_err().to_string();
    assert!(shown.len() <= 450, "{shown}");
}

#[tokio::test]
async fn a_value_that_does_not_fit_is_not_echoed_whole() {
    let body = serde_json::json!({"jsonrpc":"2.0","id":1,"result":{
        "directoryblockheight": "\u{1b}[31m".repeat(100_000), "leaderheight": 0,
        "entryblockheight": 0, "entryheight": 0}});
    let url = node_answering(body.to_string()).await;
    let c = FactomdClient::new(RpcConfig::new(&url)).unwrap();
    let shown = c.heights().await.unwrap_err().to_string();
    assert!(shown.len() <= 400, "{} bytes", shown.len());
    assert!(!shown.chars().any(char::is_control), "{shown:?}");
}

#[tokio::test]
async fn an_answer_over_a_calls_own_limit_is_an_oversized_answer_fault() {
    let url = node_answering(format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{{\"x\":\"{}\"}}}}",
        "a".repeat(100_000)
    ))
    .await;
    let rpc = factom::transport::JsonRpc::new(RpcConfig::new(&url)).unwrap();
    let e = rpc
        .call_sized::<_, serde_json::Value>("entry", serde_json::json!({}), 64 << 10)
        .await
        .unwrap_err();
    assert!(
        matches!(e, factom::ClientError::TooLarge { limit: 65536, .. }),
        "{e}"
    );
    match factom::FetchError::from(e) {
        factom::FetchError::Fault(f) => assert_eq!(f.kind(), "oversized_answer"),
        other => panic!("{other}"),
    }
    // Within the limit, the answer's size comes with it.
    let (v, size) = rpc
        .call_sized::<_, serde_json::Value>("entry", serde_json::json!({}), 1 << 20)
        .await
        .unwrap();
    assert_eq!(v["x"].as_str().unwrap().len(), 100_000);
    assert!(size > 100_000);
}
