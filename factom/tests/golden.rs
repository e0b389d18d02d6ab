//! Golden shapes, per method: the exact request bytes the client sends (fields in the Go client's
//! order) and its parsing of the spec's sample responses; and the exact key sets of the
//! simulator's results.

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use axum::Router;
use factom::transport::JsonRpc;
use factom::{compose, opr_chain_id, EcSecret, Entry, FactomdClient, RpcConfig};
use factomd_sim::{SimConfig, SimServer};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Log = Arc<Mutex<Vec<String>>>;

/// Canned results, taken from the spec's examples.
fn canned(method: &str) -> Value {
    match method {
        "current-minute" => json!({"leaderheight":191244,"directoryblockheight":191244,"minute":0,
            "currentblockstarttime":1557936697742751200i64,"currentminutestarttime":1557936697742751200i64,
            "currenttime":1557936697763826700i64,"directoryblockinseconds":600,"stalldetected":false,
            "faulttimeout":120,"roundtimeout":30}),
        "heights" => {
            json!({"directoryblockheight":72498,"leaderheight":72498,"entryblockheight":72498,"entryheight":72498})
        }
        "entry-credit-balance" => json!({"balance": 42}),
        "chain-head" => json!({"chainhead":"","chaininprocesslist":true}),
        "entry-block" => {
            json!({"header":{"blocksequencenumber":35990,"chainid":"df3ade9eec4b08d5379cc64270c30ea7315d8a8a1a69efe2b98a60ecdd69e604",
            "prevkeymr":"7bd1725aa29c988f8f3486512a01976807a0884d4c71ac08d18d1982d905a27a","timestamp":1487042760,"dbheight":75893},
            "entrylist":[{"entryhash":"cefd9554a9d70cc1cd8b4f9e1f2a9e9e8a6b8fd8ff72d4ad6a5b5b5c4a3cdd58","timestamp":1487043240}]})
        }
        "entry" => {
            json!({"chainid":"df3ade9eec4b08d5379cc64270c30ea7315d8a8a1a69efe2b98a60ecdd69e604",
            "content":"68656c6c6f20776f726c64","extids":["466163746f6d416e63686f72436861696e"]})
        }
        "commit-entry" => {
            json!({"message":"Entry Commit Success","txid":"9f149970bacd0ab1f862f9026e6a3820fb7f40b9544f8babba17ea4cf5ee313f",
            "entryhash":"285ed45081d5b8819a678d13c7c2d04f704b34c74e8aaecd9bd34609bee04720"})
        }
        "reveal-entry" => {
            json!({"message":"Entry Reveal Success","entryhash":"285ed45081d5b8819a678d13c7c2d04f704b34c74e8aaecd9bd34609bee04720",
            "chainid":"954d5a49fd70d9b8bcdb35d252267829957f7ef7fa6c74f88419bdc5e82209f4"})
        }
        "dblock-by-height" => json!({"dblock":{"dbhash":"aa","keymr":"bb","headerhash":null,
            "header":{"version":0,"networkid":4203931042u32,"bodymr":"cc","prevkeymr":"dd","prevfullhash":"ee",
              "timestamp":24019950,"dbheight":100,"blockcount":4,"chainid":"000000000000000000000000000000000000000000000000000000000000000d"},
            "dbentries":[{"chainid":"000000000000000000000000000000000000000000000000000000000000000a","keymr":"11"},
                         {"chainid":"a642a8674f46696cc47fdb6b65f9c87b2a19c5ea8123b3d2f0c13b6f33a9d5ef","keymr":"2222222222222222222222222222222222222222222222222222222222222222"}]}}),
        _ => Value::Null,
    }
}

async fn capture(State(log): State<Log>, body: Bytes) -> axum::Json<Value> {
    let text = String::from_utf8_lossy(&body).into_owned();
    let v: Value = serde_json::from_str(&text).unwrap();
    log.lock().unwrap().push(text);
    axum::Json(json!({"jsonrpc":"2.0","id":v["id"],"result":canned(v["method"].as_str().unwrap())}))
}

#[tokio::test]
async fn client_requests_and_parsing() {
    let log: Log = Default::default();
    let app = Router::new()
        .route("/v2", post(capture))
        .with_state(log.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let c = FactomdClient::new(RpcConfig::new(&url)).unwrap();
    let key: EcSecret = "Es2Rf7iM6PdsqfYCo3D1tnAR65SkLENyWJG1deUzpRMQmbh9F3eG"
        .parse()
        .unwrap();
    let e2 = Entry {
        chain_id: factom::chain_id(&[b"test"]),
        ext_ids: vec![b"test".to_vec()],
        content: b"test!".to_vec(),
    };
    let composed = compose(&e2, &key, 1_600_000_000_000).unwrap();
    let hash = [0x1cu8; 32];

    let cm = c.current_minute().await.unwrap();
    assert_eq!(
        (cm.directoryblockheight, cm.currenttime),
        (191244, 1557936697763826700)
    );
    assert_eq!(c.heights().await.unwrap().entryheight, 72498);
    assert_eq!(c.ec_balance(&key.public()).await.unwrap(), 42);
    let head = c.chain_head(&opr_chain_id("MainNet")).await.unwrap();
    assert!(head.chaininprocesslist && head.chainhead.is_empty());
    let eb = c.entry_block(&hash).await.unwrap();
    assert_eq!((eb.header.dbheight, eb.entrylist.len()), (75893, 1));
    let e = c.entry(&hash).await.unwrap();
    assert_eq!(e.content, b"hello world");
    assert_eq!(e.ext_ids, vec![b"FactomAnchorChain".to_vec()]);
    let (outcome, reveal) = c.commit_and_reveal(&composed).await.unwrap();
    assert_eq!(
        outcome,
        factom::CommitOutcome::Committed {
            txid: "9f149970bacd0ab1f862f9026e6a3820fb7f40b9544f8babba17ea4cf5ee313f".into()
        }
    );
    assert_eq!(reveal.chainid, hex::encode(e2.chain_id));
    let k = c
        .entry_block_keymr_at(&opr_chain_id("MainNet"), 100)
        .await
        .unwrap();
    assert_eq!(k, Some([0x22; 32]));

    let mainnet = "a642a8674f46696cc47fdb6b65f9c87b2a19c5ea8123b3d2f0c13b6f33a9d5ef";
    let h = hex::encode(hash);
    let expected = [
        r#"{"jsonrpc":"2.0","id":1,"params":null,"method":"current-minute"}"#.to_string(),
        r#"{"jsonrpc":"2.0","id":2,"params":null,"method":"heights"}"#.to_string(),
        r#"{"jsonrpc":"2.0","id":3,"params":{"address":"EC2DKSYyRcNWf7RS963VFYgMExoHRYLHVeCfQ9PGPmNzwrcmgm2r"},"method":"entry-credit-balance"}"#.to_string(),
        format!(r#"{{"jsonrpc":"2.0","id":4,"params":{{"chainid":"{mainnet}"}},"method":"chain-head"}}"#),
        format!(r#"{{"jsonrpc":"2.0","id":5,"params":{{"keymr":"{h}"}},"method":"entry-block"}}"#),
        format!(r#"{{"jsonrpc":"2.0","id":6,"params":{{"hash":"{h}"}},"method":"entry"}}"#),
        format!(r#"{{"jsonrpc":"2.0","id":7,"params":{{"message":"{}"}},"method":"commit-entry"}}"#, hex::encode(composed.commit.to_bytes())),
        r#"{"jsonrpc":"2.0","id":8,"params":{"entry":"00954d5a49fd70d9b8bcdb35d252267829957f7ef7fa6c74f88419bdc5e82209f400060004746573747465737421"},"method":"reveal-entry"}"#.to_string(),
        r#"{"jsonrpc":"2.0","id":9,"params":{"height":100,"noraw":true},"method":"dblock-by-height"}"#.to_string(),
    ];
    let got = log.lock().unwrap().clone();
    assert_eq!(got, expected);
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

fn set(k: &[&str]) -> BTreeSet<String> {
    k.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn simulator_result_shapes() {
    let key = EcSecret::generate();
    // On a manual clock: the block being built stays open while the test looks at it.
    let s = SimServer::start_manual(
        SimConfig {
            block_time: Duration::from_millis(300),
            start_height: 50,
            funded: vec![(key.public(), 5)],
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let rpc = JsonRpc::new(RpcConfig::new(&s.url())).unwrap();
    let call = |m: &'static str, p: Value| {
        let rpc = &rpc;
        async move { rpc.call::<_, Value>(m, p).await.unwrap() }
    };
    let cm = call("current-minute", Value::Null).await;
    assert_eq!(
        keys(&cm),
        set(&[
            "leaderheight",
            "directoryblockheight",
            "minute",
            "currentblockstarttime",
            "currentminutestarttime",
            "currenttime",
            "directoryblockinseconds",
            "stalldetected",
            "faulttimeout",
            "roundtimeout"
        ])
    );
    assert_eq!(
        keys(&call("heights", json!({})).await),
        set(&[
            "directoryblockheight",
            "leaderheight",
            "entryblockheight",
            "entryheight"
        ])
    );
    assert_eq!(
        keys(
            &call(
                "entry-credit-balance",
                json!({"address": key.public().to_string()})
            )
            .await
        ),
        set(&["balance"])
    );
    // Raw 64-hex public keys are accepted too, as factomd does.
    assert_eq!(
        call(
            "entry-credit-balance",
            json!({"address": hex::encode(key.public().0)})
        )
        .await["balance"],
        5
    );
    let entry = Entry {
        chain_id: opr_chain_id("devnet"),
        ext_ids: vec![],
        content: b"x".to_vec(),
    };
    let c = compose(&entry, &key, 1).unwrap();
    let commit = call(
        "commit-entry",
        json!({"message": hex::encode(c.commit.to_bytes())}),
    )
    .await;
    assert_eq!(keys(&commit), set(&["message", "txid", "entryhash"]));
    assert_eq!(commit["message"], "Entry Commit Success");
    let reveal = call("reveal-entry", json!({"entry": hex::encode(&c.reveal)})).await;
    assert_eq!(keys(&reveal), set(&["message", "entryhash", "chainid"]));
    let e = call("entry", json!({"hash": hex::encode(c.entry_hash)})).await;
    assert_eq!(keys(&e), set(&["chainid", "content", "extids"]));
    let head = call(
        "chain-head",
        json!({"chainid": hex::encode(opr_chain_id("devnet"))}),
    )
    .await;
    assert_eq!(keys(&head), set(&["chainhead", "chaininprocesslist"]));
    let eb = call("entry-block", json!({"keymr": head["chainhead"]})).await;
    assert_eq!(keys(&eb), set(&["header", "entrylist"]));
    assert_eq!(
        keys(&eb["header"]),
        set(&[
            "blocksequencenumber",
            "chainid",
            "prevkeymr",
            "timestamp",
            "dbheight"
        ])
    );
    assert_eq!(
        eb["header"]["prevkeymr"],
        "0".repeat(64),
        "first block of the chain"
    );
    assert_eq!(keys(&eb["entrylist"][0]), set(&["entryhash", "timestamp"]));
    let db = call("dblock-by-height", json!({"height": 49})).await;
    assert_eq!(keys(&db), set(&["dblock"]));
    assert_eq!(
        keys(&db["dblock"]),
        set(&["dbhash", "keymr", "headerhash", "header", "dbentries"])
    );
    assert_eq!(
        keys(&db["dblock"]["header"]),
        set(&[
            "version",
            "networkid",
            "bodymr",
            "prevkeymr",
            "prevfullhash",
            "timestamp",
            "dbheight",
            "blockcount",
            "chainid"
        ])
    );
    assert_eq!(
        db["dblock"]["dbentries"][0]["chainid"],
        format!("{}0a", "0".repeat(62))
    );
    let dh = call("directory-block-head", Value::Null).await;
    let d = call("directory-block", json!({"keymr": dh["keymr"]})).await;
    assert_eq!(keys(&d), set(&["header", "entryblocklist"]));
    assert_eq!(
        keys(&call("properties", Value::Null).await),
        set(&["factomdversion", "factomdapiversion"])
    );
    s.shutdown().await;
}
