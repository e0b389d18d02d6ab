//! A coordinator without history recovers the winner list in force by proof of work: 30 cheap
//! records carrying a bogus list do not outvote 10 records with real work carrying the true one.
//! On mainnet, a previous block without records skips the block instead of planning with an empty
//! list and a floor of 0. The node runs on a manual clock, so all 40 entries land in one block.

mod common;

use coordinator::block::{plan, PlanError};
use coordinator::payer::pay;
use coordinator::store::Store;
use coordinator::verify::MinerRecord;
use factom::{EcSecret, FactomdClient, RpcConfig};
use hashcore::Table;
use pegnet::{Network, OprTemplate, Pow};

const FA: &str = "FA2jK2HcLnRdS94dEcU27rF3meoJfpUcZPSinpb7AwQvPRY6RL1Q";

fn list(seed: u8) -> Vec<String> {
    (0..25u8)
        .map(|k| hex::encode([seed, k, 1, 2, 3, 4, 5, 6]))
        .collect()
}

#[tokio::test]
async fn the_list_with_the_most_work_wins_over_the_most_records() {
    let table = Table::generate(12, &mut |_, _| {}).unwrap();
    let key = EcSecret::generate();
    let s = common::manual_sim(900, &[(&key, 100)]).await;
    let c = FactomdClient::new(RpcConfig::new(&s.url())).unwrap();
    let prices = prices::Oracle::devnet()
        .unwrap()
        .record_prices(5)
        .await
        .unwrap();
    let h = c.current_minute().await.unwrap().directoryblockheight as u32 + 1;
    let template = |winners: Vec<String>| OprTemplate {
        network: Network::DevNet,
        height: h,
        winners,
        prices: prices.clone(),
    };
    let (truth, bogus) = (template(list(0xaa)), template(list(0x55)));
    let store = Store::open(
        &std::env::temp_dir().join(format!("winner-recovery-{}.db", std::process::id())),
    )
    .unwrap();
    let add = |t: &OprTemplate, id: String, tries: u32| {
        let m = MinerRecord::new(t, 1, &id, FA).unwrap();
        let (nonce, d) = (0..tries)
            .map(|n| {
                let nonce = n.to_be_bytes().to_vec();
                let d = table.difficulty(&m.opr_hash, &nonce);
                (nonce, d)
            })
            .max_by_key(|(_, d)| *d)
            .unwrap();
        let e = m.entry(&nonce, d);
        store
            .add(&e.hash().unwrap(), h, &id, d, &e.marshal().unwrap())
            .unwrap();
    };
    for k in 0..30 {
        add(&bogus, format!("cheap{k}"), 1);
    }
    for k in 0..10 {
        add(&truth, format!("worker{k}"), 4000);
    }
    let paid = pay(&c, &store, &key, h, 100).await.unwrap();
    assert_eq!(paid.revealed.len(), 40, "{:?}", paid.failed);
    assert_eq!(s.next_block(), h + 1);
    let p = plan(&c, &table, Network::DevNet, h + 1, &[], prices.clone(), 200)
        .await
        .unwrap();
    assert_eq!(
        p.previous.graded.len(),
        10,
        "graded under the bogus list: {:?}",
        p.previous.valid
    );
    assert_eq!(p.previous.valid, 10);
    assert!(p
        .previous
        .graded
        .iter()
        .all(|r| r.identity.starts_with("worker")));

    // An operator's pinned list is used as given, never overridden by recovery: pinning the bogus
    // list grades the block under it (the cheap records), pinning the true one the workers.
    let pinned = plan(
        &c,
        &table,
        Network::DevNet,
        h + 1,
        &list(0x55),
        prices.clone(),
        200,
    )
    .await
    .unwrap();
    assert!(!pinned.previous.graded.is_empty());
    assert!(pinned
        .previous
        .graded
        .iter()
        .all(|r| r.identity.starts_with("cheap")));
    let pinned = plan(
        &c,
        &table,
        Network::DevNet,
        h + 1,
        &list(0xaa),
        prices.clone(),
        200,
    )
    .await
    .unwrap();
    assert_eq!(pinned.previous.graded.len(), 10);

    // The same chain on mainnet has no records at all: skipped with the reason, not planned with
    // an empty list and no floor.
    let e = plan(
        &c,
        &table,
        Network::MainNet,
        h + 1,
        &[],
        prices.clone(),
        200,
    )
    .await
    .unwrap_err();
    assert!(matches!(e, PlanError::NoPreviousRecords { .. }), "{e}");
    assert!(e.to_string().contains("no OPR records"), "{e}");
    s.shutdown().await;
}
