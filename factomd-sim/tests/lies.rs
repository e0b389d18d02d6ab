//! The lying node: each of the simulator's lies is caught by the client's checks with its own
//! fault kind, a 2 MB error text reaches the caller short and clean, the fetch budget holds, and
//! the faults route switches the lies from outside.

use factom::check::{BudgetSpent, FetchBudget, NodeFault};
use factom::eblock::EBlock;
use factom::{compose, opr_chain_id, EcSecret, Entry, FactomdClient, FetchError, RpcConfig};
use factomd_sim::{ErrorText, Lies, SimConfig, SimServer};
use std::time::{Duration, Instant};

/// A simulator on a manual clock from height 1000 and a block of `n` entries on the devnet OPR
/// chain saved (the clock stepped past its end): the server, a client and that block's height.
async fn block_with_entries(n: usize, faults_route: bool) -> (SimServer, FactomdClient, u32) {
    let key = EcSecret::generate();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let cfg = SimConfig {
        block_time: Duration::from_millis(500),
        start_height: 1000,
        funded: vec![(key.public(), 100)],
    };
    let s = SimServer::serve_manual(cfg, listener, faults_route).unwrap();
    let mut rpc = RpcConfig::new(&s.url());
    rpc.retry_for = Duration::ZERO;
    let c = FactomdClient::new(rpc).unwrap();
    let height = c.current_minute().await.unwrap().directoryblockheight as u32 + 1;
    for k in 0..n {
        let e = Entry {
            chain_id: opr_chain_id("devnet"),
            ext_ids: vec![format!("rec{k}").into_bytes()],
            content: format!("record {k} of a lying node's block").into_bytes(),
        };
        let composed = compose(&e, &key, 1_700_000_000_000 + k as u64).unwrap();
        c.commit_and_reveal(&composed).await.unwrap();
    }
    s.next_block();
    let saved = c.heights().await.unwrap().directoryblockheight as u32;
    assert_eq!(saved, height, "block {height} saved");
    let landed = c.entries_at(&opr_chain_id("devnet"), height).await.unwrap();
    assert_eq!(landed.len(), n, "all in block {height}");
    (s, c, height)
}

fn fault(r: Result<Vec<([u8; 32], Entry)>, FetchError>) -> NodeFault {
    match r {
        Err(FetchError::Fault(f)) => f,
        other => panic!("expected a node fault, got {other:?}"),
    }
}

#[tokio::test]
async fn every_lie_is_caught_with_its_kind() {
    let (s, c, h) = block_with_entries(3, false).await;
    let chain = opr_chain_id("devnet");
    // The honest block: raw-data is the entry block whose key MR the directory block lists.
    let keymr = c.entry_block_keymr_at(&chain, h).await.unwrap().unwrap();
    let block = EBlock::unmarshal(&c.raw_data(&keymr).await.unwrap()).unwrap();
    assert_eq!(block.key_mr(), keymr);
    assert_eq!(block.db_height, h);
    assert_eq!(block.entry_hashes().count(), 3);

    let cases = [
        (
            Lies {
                tamper_entries: true,
                ..Lies::default()
            },
            "entry_hash",
        ),
        (
            Lies {
                foreign_entries: true,
                ..Lies::default()
            },
            "chain",
        ),
        (
            Lies {
                bad_entry_blocks: true,
                ..Lies::default()
            },
            "keymr",
        ),
    ];
    for (lies, kind) in cases {
        s.sim().set_lies(lies.clone());
        let f = fault(c.entries_at(&chain, h).await);
        assert_eq!(f.kind(), kind, "{lies:?}: {f}");
        s.sim().set_lies(Lies::default());
        assert_eq!(c.entries_at(&chain, h).await.unwrap().len(), 3);
    }
    s.shutdown().await;
}

#[tokio::test]
async fn a_2_mb_error_text_reaches_the_caller_short_and_clean() {
    let (s, c, _) = block_with_entries(0, false).await;
    let key = EcSecret::generate();
    s.sim().set_lies(Lies {
        error_text: Some(ErrorText {
            method: "entry-credit-balance".into(),
            bytes: 2_000_000,
        }),
        ..Lies::default()
    });
    let e = c.ec_balance(&key.public()).await.unwrap_err().to_string();
    assert!(e.len() < 400, "{} bytes", e.len());
    assert!(e.contains("entry-credit-balance"), "{e}");
    assert!(e.contains("factomd-sim: simulated error text"), "{e}");
    assert!(!e.chars().any(char::is_control), "{e:?}");
    // Only that method lies.
    assert!(c.heights().await.is_ok());
    s.sim().set_lies(Lies::default());
    assert_eq!(c.ec_balance(&key.public()).await.unwrap(), 0);
    s.shutdown().await;
}

#[tokio::test]
async fn the_fetch_budget_holds() {
    let (s, c, h) = block_with_entries(3, false).await;
    let chain = opr_chain_id("devnet");
    let entries = FetchBudget {
        max_entries: 2,
        ..FetchBudget::default()
    };
    let f = fault(c.entries_at_within(&chain, h, &entries).await);
    assert!(
        matches!(
            f,
            NodeFault::Budget(BudgetSpent::Entries { count: 3, max: 2 })
        ),
        "{f}"
    );
    let bytes = FetchBudget {
        max_bytes: 2000,
        ..FetchBudget::default()
    };
    let f = fault(c.entries_at_within(&chain, h, &bytes).await);
    assert!(
        matches!(f, NodeFault::Budget(BudgetSpent::Bytes { max: 2000 })),
        "{f}"
    );
    // A slow node: 3 entries at 150 ms each do not fit in 300 ms.
    s.sim().set_latency(Duration::from_millis(150));
    let started = Instant::now();
    let f = fault(
        c.entries_at_within(&chain, h, &FetchBudget::within(Duration::from_millis(300)))
            .await,
    );
    assert!(
        matches!(f, NodeFault::Budget(BudgetSpent::Time { .. })),
        "{f}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(600),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(f.kind(), "budget");
    s.sim().set_latency(Duration::ZERO);
    let all = FetchBudget::within(Duration::from_secs(10));
    assert_eq!(c.entries_at_within(&chain, h, &all).await.unwrap().len(), 3);
    s.shutdown().await;
}

#[tokio::test]
async fn the_faults_route_switches_the_lies_from_outside_only_when_served() {
    let (s, c, h) = block_with_entries(1, true).await;
    let url = format!("{}/sim/faults", s.url());
    let http = reqwest::Client::new();
    let set = |body: serde_json::Value| http.post(&url).json(&body).send();
    assert!(set(serde_json::json!({"tamper_entries": true}))
        .await
        .unwrap()
        .status()
        .is_success());
    let shown: Lies = http.get(&url).send().await.unwrap().json().await.unwrap();
    assert!(shown.tamper_entries && !shown.foreign_entries);
    let f = fault(c.entries_at(&opr_chain_id("devnet"), h).await);
    assert_eq!(f.kind(), "entry_hash");
    // Fields left out are off; unknown ones are refused.
    set(serde_json::json!({})).await.unwrap();
    assert_eq!(s.sim().lies(), Lies::default());
    assert!(set(serde_json::json!({"tamper": true}))
        .await
        .unwrap()
        .status()
        .is_client_error());
    s.shutdown().await;

    // A simulator started without the route has none.
    let (s, _, _) = block_with_entries(0, false).await;
    let r = http
        .post(format!("{}/sim/faults", s.url()))
        .json(&serde_json::json!({"tamper_entries": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::NOT_FOUND);
    assert_eq!(s.sim().lies(), Lies::default());
    s.shutdown().await;
}
