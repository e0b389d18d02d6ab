//! The client against the simulator over real HTTP on loopback. The node runs on a manual clock:
//! a test moves it to the block or minute it needs, so nothing waits for real blocks.

mod common;

use common::{client, manual_sim, START};
use factom::rpc::{self, RpcError};
use factom::transport::JsonRpc;
use factom::{
    compose, opr_chain_id, ClientError, CommitOutcome, EcSecret, Entry, FactomdClient, Monitor,
    MonitorConfig, MonitorEvent, RpcConfig,
};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn opr_entry(tag: &str) -> Entry {
    Entry {
        chain_id: opr_chain_id("devnet"),
        ext_ids: vec![vec![1, 2], 7u64.to_be_bytes().to_vec(), vec![5]],
        content: format!("record {tag}").into_bytes(),
    }
}

/// Ends the block being built, `height`: the node saves it at once.
async fn save(s: &factomd_sim::SimServer, c: &FactomdClient, height: u32) {
    assert_eq!(s.next_block(), height + 1);
    assert_eq!(
        c.heights().await.unwrap().directoryblockheight,
        i64::from(height)
    );
}

fn rpc_err(e: ClientError) -> RpcError {
    match e {
        ClientError::Rpc { error, .. } => error,
        other => panic!("expected a JSON-RPC error, got {other}"),
    }
}

#[tokio::test]
async fn commit_reveal_lands_in_the_next_entry_block_and_debits() {
    let key = EcSecret::generate();
    let s = manual_sim(&[(&key, 100)]).await;
    let c = client(&s.url());
    let entry = opr_entry("a");
    let composed = compose(&entry, &key, now_ms()).unwrap();
    let (outcome, reveal) = c.commit_and_reveal(&composed).await.unwrap();
    assert!(matches!(outcome, CommitOutcome::Committed { .. }));
    assert_eq!(reveal.entryhash, hex::encode(composed.entry_hash));
    assert_eq!(c.ec_balance(&key.public()).await.unwrap(), 99);
    // Visible at once through `entry`, and pending on its chain.
    assert_eq!(c.entry(&composed.entry_hash).await.unwrap(), entry);
    let chain = opr_chain_id("devnet");
    let head_before = c.chain_head(&chain).await.unwrap();
    let height = c.current_minute().await.unwrap().directoryblockheight as u32 + 1;
    assert!(head_before.chaininprocesslist);

    save(&s, &c, height).await;
    let landed = c.entries_at(&chain, height).await.unwrap();
    assert_eq!(landed.len(), 1);
    assert_eq!(landed[0].0, composed.entry_hash);
    assert_eq!(landed[0].1, entry);
    let head = c.chain_head(&chain).await.unwrap();
    assert!(!head.chaininprocesslist);
    let keymr: [u8; 32] = hex::decode(&head.chainhead).unwrap().try_into().unwrap();
    let block = c.entry_block(&keymr).await.unwrap();
    assert_eq!(block.header.dbheight, height as i64);
    assert_eq!(
        block.header.blocksequencenumber, 1,
        "after the chain's first block"
    );
    assert_eq!(block.header.prevkeymr, head_before.chainhead);
    s.shutdown().await;
}

#[tokio::test]
async fn repeated_commit_takes_the_reveal_only_path() {
    let key = EcSecret::generate();
    let s = manual_sim(&[(&key, 10)]).await;
    let c = client(&s.url());
    let entry = opr_entry("b");
    let first = compose(&entry, &key, now_ms()).unwrap();
    assert!(matches!(
        c.commit_entry(&first.commit).await.unwrap(),
        CommitOutcome::Committed { .. }
    ));
    // A retry signs a new commit (new timestamp): factomd answers -32011, we reveal only.
    let retry = compose(&entry, &key, now_ms() + 5).unwrap();
    let (outcome, reveal) = c.commit_and_reveal(&retry).await.unwrap();
    assert_eq!(outcome, CommitOutcome::AlreadyCommitted);
    assert_eq!(reveal.entryhash, hex::encode(first.entry_hash));
    assert_eq!(c.ec_balance(&key.public()).await.unwrap(), 9, "paid once");
    // The raw error has factomd's shape.
    let rpc = JsonRpc::new(RpcConfig::new(&s.url())).unwrap();
    let e = rpc_err(
        rpc.call::<_, Value>(
            "commit-entry",
            json!({"message": hex::encode(compose(&entry, &key, now_ms() + 9).unwrap().commit.to_bytes())}),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(e.code, rpc::REPEATED_COMMIT);
    assert_eq!(e.message, "Repeated Commit");
    assert_eq!(
        e.data.unwrap()["entryhash"],
        Value::String(hex::encode(first.entry_hash))
    );
    s.shutdown().await;
}

#[tokio::test]
async fn invalid_commits_and_entries_get_factomds_error_codes() {
    let key = EcSecret::generate();
    let s = manual_sim(&[(&key, 10)]).await;
    let rpc = JsonRpc::new(RpcConfig::new(&s.url())).unwrap();
    let call = |m: &'static str, p: Value| {
        let rpc = &rpc;
        async move { rpc_err(rpc.call::<_, Value>(m, p).await.unwrap_err()) }
    };
    let composed = compose(&opr_entry("c"), &key, now_ms()).unwrap();
    let mut bytes = composed.commit.to_bytes();
    bytes[20] ^= 0xff; // entry hash altered after signing: bad signature
    let e = call("commit-entry", json!({"message": hex::encode(bytes)})).await;
    assert_eq!(
        (e.code, e.data),
        (rpc::INVALID_PARAMS, Some(json!("Invalid Commit Entry")))
    );
    let mut bytes = composed.commit.to_bytes();
    bytes[39] = 11;
    let e = call("commit-entry", json!({"message": hex::encode(bytes)})).await;
    assert_eq!(e.data, Some(json!("Invalid Commit Entry")));
    let e = call("commit-entry", json!({"message": "zz"})).await;
    assert_eq!(e.data, Some(json!("Invalid Commit Entry")));

    // An 11 KiB entry, marshalled by hand (our own marshaller refuses it).
    let mut big = vec![0u8];
    big.extend_from_slice(&opr_chain_id("devnet"));
    big.extend_from_slice(&[0, 0]);
    big.extend(std::iter::repeat_n(7u8, 11 * 1024));
    let e = call("reveal-entry", json!({"entry": hex::encode(&big)})).await;
    assert_eq!(
        (e.code, e.data),
        (rpc::INVALID_PARAMS, Some(json!("Invalid Entry")))
    );

    let e = call("chain-head", json!({"chainid": hex::encode([9u8; 32])})).await;
    assert_eq!(
        (e.code, e.message.as_str()),
        (rpc::MISSING_CHAIN_HEAD, "Missing Chain Head")
    );
    let e = call("chain-head", json!({"chainid": "abc"})).await;
    assert_eq!(e.data, Some(json!("Invalid Hash")));
    let e = call("entry", json!({"hash": hex::encode([3u8; 32])})).await;
    assert_eq!(
        (e.code, e.message.as_str()),
        (rpc::NOT_FOUND, "Entry not found")
    );
    let e = call(
        "entry-credit-balance",
        json!({"address": "FA1zT4aFpEvcnPqPCigB3fvGu4Q4mTXY22iiuV69DqE1pNhdF2MC"}),
    )
    .await;
    assert_eq!(e.data, Some(json!("Invalid Address")));
    let e = call("no-such-method", Value::Null).await;
    assert_eq!(e.code, rpc::METHOD_NOT_FOUND);
    let e = call("entry", json!({"hash": 5})).await;
    assert_eq!((e.code, e.data), (rpc::INVALID_PARAMS, None));

    // Not JSON at all: -32600 with id null and HTTP 400.
    let raw = reqwest::Client::new()
        .post(format!("{}/v2", s.url()))
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    let v: Value = raw.json().await.unwrap();
    assert_eq!(v["error"]["code"], rpc::INVALID_REQUEST);
    assert_eq!(v["id"], Value::Null);
    s.shutdown().await;
}

#[tokio::test]
async fn unfunded_and_unknown_chain_entries_are_held_not_landed() {
    let key = EcSecret::generate();
    let s = manual_sim(&[]).await;
    let c = client(&s.url());
    let unfunded = compose(&opr_entry("poor"), &key, now_ms()).unwrap();
    // factomd accepts an underfunded commit at the API and holds it.
    c.commit_and_reveal(&unfunded).await.unwrap();
    assert_eq!(c.ec_balance(&key.public()).await.unwrap(), 0);
    let mut orphan = opr_entry("orphan");
    orphan.chain_id = [4; 32];
    let rich = EcSecret::generate();
    s.sim().fund(&rich.public(), 5);
    let orphan = compose(&orphan, &rich, now_ms()).unwrap();
    c.commit_and_reveal(&orphan).await.unwrap();
    assert_eq!(
        c.ec_balance(&rich.public()).await.unwrap(),
        4,
        "the commit itself is paid"
    );

    let h = c.current_minute().await.unwrap().directoryblockheight as u32 + 1;
    save(&s, &c, h).await;
    assert!(c
        .entries_at(&opr_chain_id("devnet"), h)
        .await
        .unwrap()
        .is_empty());
    assert!(c.entries_at(&[4; 32], h).await.unwrap().is_empty());

    // Funding pays the held commit and the entry lands in the block being built.
    s.sim().fund(&key.public(), 3);
    assert_eq!(c.ec_balance(&key.public()).await.unwrap(), 2);
    let h2 = c.current_minute().await.unwrap().directoryblockheight as u32 + 1;
    assert_eq!(h2, h + 1);
    save(&s, &c, h2).await;
    let landed = c.entries_at(&opr_chain_id("devnet"), h2).await.unwrap();
    assert_eq!(landed.len(), 1);
    assert_eq!(landed[0].0, unfunded.entry_hash);
    s.shutdown().await;
}

async fn next(rx: &mut tokio::sync::broadcast::Receiver<MonitorEvent>) -> MonitorEvent {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("an event within 10 s")
        .unwrap()
}

/// The next minute event, skipping none.
async fn minute(rx: &mut tokio::sync::broadcast::Receiver<MonitorEvent>) -> (u32, u8) {
    match next(rx).await {
        MonitorEvent::Minute { height, minute } => (height, minute),
        other => panic!("expected a minute, got {other:?}"),
    }
}

#[tokio::test]
async fn monitor_reports_minutes_node_down_and_recovery() {
    // 600 s blocks on a manual clock: the monitor's own real-time stall check (1.5 minutes
    // without a change) never fires while the test holds a minute.
    let s = manual_sim(&[]).await;
    let c = std::sync::Arc::new(client(&s.url()));
    let monitor = Monitor::spawn(
        c.clone(),
        MonitorConfig {
            poll: Duration::from_millis(20),
            down_after: Duration::from_millis(200),
            max_backoff: Duration::from_millis(100),
        },
    );
    let mut rx = monitor.subscribe();
    // Every minute arrives, in order, with the height of the block being built (minute 0 of the
    // next block after minute 9).
    assert_eq!(minute(&mut rx).await, (START, 0));
    for (h, m) in [(START, 1), (START, 2), (START, 9), (START + 1, 0)] {
        s.advance_to(h, m);
        assert_eq!(minute(&mut rx).await, (h, m));
    }

    s.sim().set_http_500(true);
    match next(&mut rx).await {
        MonitorEvent::NodeDown { reason } => assert!(reason.contains("500"), "{reason}"),
        other => panic!("unexpected {other:?}"),
    }
    s.sim().set_http_500(false);
    assert_eq!(next(&mut rx).await, MonitorEvent::NodeUp);
    s.advance_to(START + 1, 1);
    assert_eq!(minute(&mut rx).await, (START + 1, 1));

    // A frozen node reports the stall itself once its minute has not moved for 1.5 minutes.
    s.sim().set_stalled(true);
    s.advance(Duration::from_secs(100));
    assert!(matches!(
        next(&mut rx).await,
        MonitorEvent::NodeStalled { .. }
    ));
    s.sim().set_stalled(false);
    s.advance(Duration::from_secs(60));
    assert_eq!(next(&mut rx).await, MonitorEvent::NodeUp);
    assert_eq!(minute(&mut rx).await, (START + 1, 2));
    drop(monitor);
    s.shutdown().await;
}

#[tokio::test]
async fn unreachable_node_is_a_transport_error_after_retries() {
    // Port 1 (tcpmux) is not served on loopback: nothing answers there.
    let addr = "127.0.0.1:1";
    let c = client(&format!("http://{addr}"));
    let started = Instant::now();
    let e = c.heights().await.unwrap_err();
    assert!(e.is_transport(), "{e}");
    assert!(started.elapsed() >= Duration::from_millis(100), "retried");
    assert!(e.to_string().contains(addr));
}
