//! Planning a block on the simulated factomd: honest records of the previous block are graded into
//! the next job's winners and difficulty floor. The node runs on a manual clock: each block ends
//! when the test has paid everything into it.

mod common;

use coordinator::block::plan;
use coordinator::payer::pay;
use coordinator::store::Store;
use coordinator::verify::MinerRecord;
use factom::{EcSecret, FactomdClient, RpcConfig};
use hashcore::{Nonce, Table};
use pegnet::{Network, OprTemplate, Pow};
use std::time::Duration;

const FA: &str = "FA2jK2HcLnRdS94dEcU27rF3meoJfpUcZPSinpb7AwQvPRY6RL1Q";

#[tokio::test]
async fn previous_block_winners_and_floor() {
    let table = Table::generate(12, &mut |_, _| {}).unwrap();
    let key = EcSecret::generate();
    let s = common::manual_sim(500, &[(&key, 100)]).await;
    let c = FactomdClient::new(RpcConfig::new(&s.url())).unwrap();
    let h = c.current_minute().await.unwrap().directoryblockheight as u32 + 1;
    let prices = prices::Oracle::devnet()
        .unwrap()
        .record_prices(5)
        .await
        .unwrap();

    // 30 miners each put one honest record into block h.
    let template = OprTemplate {
        network: Network::DevNet,
        height: h,
        winners: vec![String::new(); 25],
        prices: prices.clone(),
    };
    let store =
        Store::open(&std::env::temp_dir().join(format!("plan-{}.db", std::process::id()))).unwrap();
    for k in 0..30 {
        let m = MinerRecord::new(&template, 1, &format!("rig{k}"), FA).unwrap();
        let nonce = Nonce::new(0, 1);
        let d = table.difficulty(&m.opr_hash, nonce.as_bytes());
        let e = m.entry(nonce.as_bytes(), d);
        store
            .add(&e.hash().unwrap(), h, &m.identity, d, &e.marshal().unwrap())
            .unwrap();
    }
    let paid = pay(&c, &store, &key, h, 100).await.unwrap();
    assert_eq!(paid.revealed.len(), 30, "{:?}", paid.failed);
    assert_eq!(s.next_block(), h + 1);

    let p = plan(&c, &table, Network::DevNet, h + 1, &[], prices.clone(), 200)
        .await
        .unwrap();
    assert_eq!(p.previous.valid, 30);
    assert!(p.previous.has_winners);
    assert_eq!(p.template.winners.len(), 25);
    assert!(p.template.winners.iter().all(|w| w.len() == 16));
    assert_eq!(p.template.winners, p.previous.winners);
    assert_eq!(p.template.height, h + 1);
    assert!(
        p.template.content("rig0", FA).is_ok(),
        "the next record is valid"
    );
    // 30 records with 200 expected: a floor below the previous block's weakest.
    let weakest = p.previous.difficulties_desc().last().copied().unwrap();
    assert!(p.min_difficulty < weakest);

    // Records of block h+1 carry block h's winners. A coordinator without history (prev = [])
    // must find that list in the records and grade h+1 exactly as one that knows it.
    let next = OprTemplate {
        network: Network::DevNet,
        height: h + 1,
        winners: p.template.winners.clone(),
        prices: prices.clone(),
    };
    for k in 0..26 {
        let m = MinerRecord::new(&next, 2, &format!("rig{k}"), FA).unwrap();
        let nonce = Nonce::new(0, 1);
        let d = table.difficulty(&m.opr_hash, nonce.as_bytes());
        let e = m.entry(nonce.as_bytes(), d);
        store
            .add(
                &e.hash().unwrap(),
                h + 1,
                &m.identity,
                d,
                &e.marshal().unwrap(),
            )
            .unwrap();
    }
    let paid_next = pay(&c, &store, &key, h + 1, 100).await.unwrap();
    assert_eq!(paid_next.revealed.len(), 26, "{:?}", paid_next.failed);
    // Block h+1 is still being built: it cannot be graded yet, and the error says which block.
    let err = plan(
        &c,
        &table,
        Network::DevNet,
        h + 2,
        &p.template.winners,
        prices.clone(),
        200,
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("fetching block {}", h + 1)),
        "{err}"
    );
    // Once saved, the block is graded under the winners in force; a coordinator without history
    // recovers that list from the records.
    assert_eq!(s.next_block(), h + 2);
    let knowing = plan(
        &c,
        &table,
        Network::DevNet,
        h + 2,
        &p.template.winners,
        prices.clone(),
        200,
    )
    .await
    .unwrap();
    let fresh = plan(&c, &table, Network::DevNet, h + 2, &[], prices.clone(), 200)
        .await
        .unwrap();
    assert_eq!(knowing.previous.valid, 26);
    assert!(knowing.previous.has_winners);
    assert_eq!(
        fresh.template.winners, knowing.template.winners,
        "winner list recovered from the records"
    );
    assert_ne!(fresh.template.winners, p.template.winners);

    // A saved block without records carries the winners forward, with no floor.
    assert_eq!(s.next_block(), h + 3);
    let empty = plan(
        &c,
        &table,
        Network::DevNet,
        h + 3,
        &knowing.template.winners,
        prices.clone(),
        200,
    )
    .await
    .unwrap();
    assert_eq!(empty.previous.valid, 0);
    assert_eq!(
        empty.template.winners, knowing.template.winners,
        "carried forward"
    );
    assert_eq!(empty.min_difficulty, 0, "no floor");
    s.shutdown().await;
}

#[tokio::test]
async fn an_unreachable_node_is_a_clear_error() {
    // Port 1 (tcpmux) is not served on loopback: nothing answers there.
    let mut cfg = RpcConfig::new("127.0.0.1:1");
    cfg.retry_for = Duration::from_millis(100);
    let c = FactomdClient::new(cfg).unwrap();
    let table = Table::generate(8, &mut |_, _| {}).unwrap();
    let err = plan(&c, &table, Network::DevNet, 10, &[], vec![], 200)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("fetching block 9"), "{err}");
}
