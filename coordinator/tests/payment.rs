//! Paying for entries against the simulated factomd: each stored entry is paid exactly once, across
//! crashes between commit and reveal, node outages and restarts; entries of finished blocks expire.
//! The node runs on a manual clock: a block ends only when the test ends it.

mod common;

use coordinator::payer::pay;
use coordinator::store::{EntryState, Store};
use factom::{compose, EcSecret, Entry, FactomdClient};
use factomd_sim::SimServer;
use pegnet::Network;
use std::path::PathBuf;
use std::time::Duration;

fn store_path(tag: &str) -> PathBuf {
    common::store_path("coord-store", tag)
}

fn record(k: u8) -> Entry {
    Entry {
        chain_id: Network::DevNet.opr_chain(),
        ext_ids: vec![
            vec![k],
            (u64::MAX - k as u64).to_be_bytes().to_vec(),
            vec![5],
        ],
        content: format!("record {k}").into_bytes(),
    }
}

fn add(store: &Store, e: &Entry, height: u32) -> [u8; 32] {
    let h = e.hash().unwrap();
    assert!(store
        .add(&h, height, "rig", 1, &e.marshal().unwrap())
        .unwrap());
    h
}

async fn setup(credits: i64) -> (SimServer, FactomdClient, EcSecret, u32) {
    let key = EcSecret::generate();
    let s = common::manual_sim(100, &[(&key, credits)]).await;
    let c = common::client(&s, Duration::from_millis(200));
    let height = c.current_minute().await.unwrap().directoryblockheight as u32 + 1;
    (s, c, key, height)
}

/// Ends block `height` (the one being built) and returns the entries saved in it.
async fn landed(s: &SimServer, c: &FactomdClient, height: u32) -> Vec<[u8; 32]> {
    s.advance_to(height + 1, 0);
    c.entries_at(&Network::DevNet.opr_chain(), height)
        .await
        .unwrap()
        .into_iter()
        .map(|(h, _)| h)
        .collect()
}

#[tokio::test]
async fn each_entry_is_paid_once_even_when_paying_again() {
    let (s, c, key, height) = setup(50).await;
    let store = Store::open(&store_path("once")).unwrap();
    let hashes: Vec<_> = (1..=3).map(|k| add(&store, &record(k), height)).collect();
    assert!(
        !store
            .add(&hashes[0], height, "rig", 1, &record(1).marshal().unwrap())
            .unwrap(),
        "known entries are not added twice"
    );
    let r = pay(&c, &store, &key, height, 10).await.unwrap();
    assert_eq!(r.revealed.len(), 3);
    let again = pay(&c, &store, &key, height, 10).await.unwrap();
    assert!(again.revealed.is_empty(), "revealed entries are skipped");
    assert_eq!(c.ec_balance(&key.public()).await.unwrap(), 47);
    let mut got = landed(&s, &c, height).await;
    got.sort();
    let mut want = hashes.clone();
    want.sort();
    assert_eq!(got, want);
    s.shutdown().await;
}

#[tokio::test]
async fn a_crash_between_commit_and_reveal_pays_once_after_restart() {
    let (s, c, key, height) = setup(10).await;
    let path = store_path("crash");
    let e = record(9);
    let h = {
        let store = Store::open(&path).unwrap();
        add(&store, &e, height)
        // The coordinator commits, then dies before recording it: the store still says accepted.
    };
    let composed = compose(&e, &key, 1_700_000_000_000).unwrap();
    c.commit_entry(&composed.commit).await.unwrap();
    assert_eq!(c.ec_balance(&key.public()).await.unwrap(), 9);

    let store = Store::open(&path).unwrap();
    assert_eq!(store.state(&h).unwrap(), Some(EntryState::Accepted));
    let r = pay(&c, &store, &key, height, 10).await.unwrap();
    assert_eq!((r.revealed.len(), r.already_committed), (1, 1));
    assert_eq!(
        c.ec_balance(&key.public()).await.unwrap(),
        9,
        "not paid twice"
    );
    assert_eq!(store.state(&h).unwrap(), Some(EntryState::Revealed));
    assert_eq!(landed(&s, &c, height).await, vec![h]);
    s.shutdown().await;
}

#[tokio::test]
async fn a_node_outage_leaves_entries_for_the_next_round() {
    let (s, c, key, height) = setup(10).await;
    let store = Store::open(&store_path("outage")).unwrap();
    let h = add(&store, &record(4), height);
    s.sim().set_http_500(true);
    let r = pay(&c, &store, &key, height, 10).await.unwrap();
    assert_eq!(r.failed.len(), 1);
    assert!(r.failed[0].1.contains("500"), "{:?}", r.failed);
    assert_eq!(
        store.state(&h).unwrap(),
        Some(EntryState::Accepted),
        "nothing recorded as paid"
    );
    s.sim().set_http_500(false);
    let r = pay(&c, &store, &key, height, 10).await.unwrap();
    assert_eq!(r.revealed.len(), 1);
    assert_eq!(c.ec_balance(&key.public()).await.unwrap(), 9);
    assert_eq!(landed(&s, &c, height).await, vec![h]);
    s.shutdown().await;
}

#[tokio::test]
async fn entries_whose_block_is_over_are_not_paid() {
    let (s, c, key, height) = setup(10).await;
    let store = Store::open(&store_path("late")).unwrap();
    let h = add(&store, &record(5), height - 1); // meant for a block that is already saved
    let r = pay(&c, &store, &key, height - 1, 10).await.unwrap();
    assert_eq!((r.revealed.len(), r.expired), (0, 1));
    assert_eq!(store.state(&h).unwrap(), Some(EntryState::Expired));
    assert_eq!(
        c.ec_balance(&key.public()).await.unwrap(),
        10,
        "nothing spent"
    );
    s.shutdown().await;
}

#[test]
fn entries_of_finished_blocks_expire_and_survive_reopening() {
    let path = store_path("expire");
    let (old, current) = {
        let store = Store::open(&path).unwrap();
        (add(&store, &record(1), 10), add(&store, &record(2), 11))
    };
    let store = Store::open(&path).unwrap();
    assert_eq!(store.entries(10).unwrap().len(), 1, "kept across reopening");
    assert_eq!(store.expire_before(11).unwrap(), 1);
    assert_eq!(store.state(&old).unwrap(), Some(EntryState::Expired));
    assert_eq!(store.state(&current).unwrap(), Some(EntryState::Accepted));
}
