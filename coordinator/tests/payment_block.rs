//! Paying for a block's entries until the block is over: reveals are retried through a node outage
//! between commit and reveal, a commit whose reveal never makes it is counted as credits lost, and
//! a block never costs more than its cap whatever is in the store. The node runs on a manual
//! clock: its outages last node time, moved on by the test, and its blocks end when the test ends
//! them.

mod common;

use coordinator::payer::{block_end, pay, pay_block};
use coordinator::store::{EntryState, Store};
use factom::{EcSecret, Entry, FactomdClient, RpcConfig};
use factomd_sim::SimServer;
use pegnet::Network;
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn store_path(tag: &str) -> PathBuf {
    common::store_path("coord-payblock", tag)
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

fn add(store: &Store, e: &Entry, height: u32, difficulty: u64) -> [u8; 32] {
    let h = e.hash().unwrap();
    assert!(store
        .add(&h, height, "rig", difficulty, &e.marshal().unwrap())
        .unwrap());
    h
}

/// A node on a manual clock (600 s blocks from 500) where a fresh key holds `credits`.
async fn sim(credits: i64) -> (SimServer, FactomdClient, EcSecret) {
    let key = EcSecret::generate();
    let s = common::manual_sim(500, &[(&key, credits)]).await;
    let mut cfg = RpcConfig::new(&s.url());
    cfg.retry_for = Duration::from_millis(500);
    cfg.timeout = Duration::from_secs(2);
    (s, FactomdClient::new(cfg).unwrap(), key)
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

/// The case: factomd unreachable between commit and reveal for 30 s of the block. The
/// node's clock moves on only when the payer is refused (5 s per refusal): the reveal lands only
/// because the payer keeps retrying, past its client's own retries, until the outage is over.
#[tokio::test]
async fn a_reveal_is_retried_through_a_30_second_outage_and_lands_once() {
    let (s, c, key) = sim(10).await;
    let store = Store::open(&store_path("outage30")).unwrap();
    let height = c.current_minute().await.unwrap().directoryblockheight as u32 + 1;
    let h = add(&store, &record(1), height, 9);
    let until = block_end(&c, height).await.expect("the block's end");
    assert!(until > Instant::now() + Duration::from_secs(50));
    s.sim().set_down_after_commit(Some(Duration::from_secs(30)));
    let outage = tokio::spawn({
        let sim = s.sim().clone();
        let clock = s.manual_clock().unwrap().clone();
        async move {
            for k in 1..=6 {
                common::until("the payer to be refused", common::PATIENCE, || {
                    sim.refused() >= k
                })
                .await;
                clock.advance(Duration::from_secs(5));
            }
        }
    });
    let r = pay_block(&c, &store, &key, height, 10, until)
        .await
        .unwrap();
    outage.await.unwrap();
    assert!(s.sim().refused() >= 6, "{r:?}");
    assert_eq!(r.revealed.len(), 1, "{r:?}");
    assert_eq!(r.credits_lost, 0);
    assert_eq!(store.state(&h).unwrap(), Some(EntryState::Revealed));
    // Paying again (a restart) changes nothing.
    let again = pay(&c, &store, &key, height, 10).await.unwrap();
    assert!(again.revealed.is_empty() && again.failed.is_empty());
    assert_eq!(landed(&s, &c, height).await, vec![h]);
    assert_eq!(c.ec_balance(&key.public()).await.unwrap(), 9, "paid once");
    s.shutdown().await;
}

#[tokio::test]
async fn a_commit_whose_reveal_never_lands_is_counted_as_credits_lost() {
    let (s, c, key) = sim(10).await;
    let store = Store::open(&store_path("lost")).unwrap();
    // One second before the block ends; the outage outlasts it (the node's clock stays put).
    let height = c.current_minute().await.unwrap().directoryblockheight as u32 + 1;
    s.advance_to(height + 1, 0);
    let height = height + 1;
    s.advance(s.sim().time_until(height + 1, 0) - Duration::from_secs(1));
    let h = add(&store, &record(2), height, 9);
    let until = block_end(&c, height).await.unwrap();
    assert!(until < Instant::now() + Duration::from_millis(1100));
    s.sim().set_down_after_commit(Some(Duration::from_secs(4)));
    let r = pay_block(&c, &store, &key, height, 10, until)
        .await
        .unwrap();
    assert!(r.revealed.is_empty(), "{r:?}");
    assert_eq!(r.credits_lost, 1, "{r:?}");
    assert_eq!(store.state(&h).unwrap(), Some(EntryState::Lost));
    assert!(s.sim().refused() > 0, "the reveal was tried");
    s.shutdown().await;
}

#[tokio::test]
async fn a_block_never_costs_more_than_its_cap() {
    let (s, c, key) = sim(100).await;
    let store = Store::open(&store_path("cap")).unwrap();
    let height = c.current_minute().await.unwrap().directoryblockheight as u32 + 1;
    // Twice the block's entries end up in the store (a second round for the same height).
    let first: Vec<_> = (1..=3)
        .map(|k| add(&store, &record(k), height, 100 + k as u64))
        .collect();
    let r = pay(&c, &store, &key, height, 3).await.unwrap();
    assert_eq!(r.revealed.len(), 3);
    let second: Vec<_> = (4..=6)
        .map(|k| add(&store, &record(k), height, k as u64))
        .collect();
    let r = pay(&c, &store, &key, height, 3).await.unwrap();
    assert_eq!((r.revealed.len(), r.over_cap), (0, 3), "{r:?}");
    for h in &second {
        assert_eq!(store.state(h).unwrap(), Some(EntryState::Expired));
    }
    for h in &first {
        assert_eq!(store.state(h).unwrap(), Some(EntryState::Revealed));
    }
    assert_eq!(c.ec_balance(&key.public()).await.unwrap(), 97);
    // The best entries are kept when more than the cap arrive at once.
    let next = height; // same block, new store
    let store = Store::open(&store_path("cap2")).unwrap();
    let low = add(&store, &record(7), next, 1);
    let high = add(&store, &record(8), next, 1000);
    let r = pay(&c, &store, &key, next, 1).await.unwrap();
    assert_eq!((r.revealed.len(), r.over_cap), (1, 1));
    assert_eq!(store.state(&high).unwrap(), Some(EntryState::Revealed));
    assert_eq!(store.state(&low).unwrap(), Some(EntryState::Expired));
    s.shutdown().await;
}

#[test]
fn heights_are_planned_and_paid_once_across_reopening() {
    let path = store_path("claims");
    {
        let store = Store::open(&path).unwrap();
        assert!(store.claim_job(10).unwrap());
        assert!(!store.claim_job(10).unwrap());
        assert!(store.claim_payment(10).unwrap());
        store
            .set_winners(10, &["00112233aabbccdd".to_string(), String::new()])
            .unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert!(!store.claim_job(10).unwrap(), "remembered across a restart");
    assert!(!store.claim_payment(10).unwrap());
    assert!(store.claim_payment(11).unwrap());
    assert_eq!(
        store.winners(10).unwrap().unwrap(),
        vec!["00112233aabbccdd".to_string(), String::new()]
    );
    assert_eq!(store.winners(11).unwrap(), None);
}

/// SQLite writes wait for the disk (and for other writers): they run off the async threads, so a
/// slow write never stalls the runtime (here a single-threaded one, also serving the node).
#[tokio::test(flavor = "current_thread")]
async fn a_slow_store_write_does_not_block_the_async_thread() {
    let (s, c, key) = sim(10).await;
    let path = store_path("offthread");
    let store = Store::open(&path).unwrap();
    let height = c.current_minute().await.unwrap().directoryblockheight as u32 + 1;
    let h = add(&store, &record(3), height, 9);
    // Another writer holds the database for a second (a backup, a slow disk).
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let holder = std::thread::spawn(move || {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("BEGIN EXCLUSIVE").unwrap();
        locked_tx.send(()).unwrap();
        std::thread::sleep(Duration::from_millis(1200));
        conn.execute_batch("COMMIT").unwrap();
    });
    locked_rx.recv().unwrap();
    let gap = std::sync::Arc::new(std::sync::Mutex::new(Duration::ZERO));
    let ticker = tokio::spawn({
        let gap = gap.clone();
        async move {
            let mut last = Instant::now();
            loop {
                tokio::time::sleep(Duration::from_millis(10)).await;
                let g = last.elapsed();
                let mut worst = gap.lock().unwrap();
                *worst = (*worst).max(g);
                last = Instant::now();
            }
        }
    });
    let r = pay(&c, &store, &key, height, 10).await.unwrap();
    ticker.abort();
    holder.join().unwrap();
    assert_eq!(r.revealed.len(), 1, "{r:?}");
    assert_eq!(store.state(&h).unwrap(), Some(EntryState::Revealed));
    let worst = *gap.lock().unwrap();
    assert!(
        worst < Duration::from_millis(400),
        "the async thread was blocked for {worst:?}"
    );
    s.shutdown().await;
}
