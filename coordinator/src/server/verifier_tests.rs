//! The verification pool's tests: budget, order, liars, batches.
use super::*;
use pegnet::{Network, Pow};

fn table() -> Arc<Table> {
    static T: std::sync::OnceLock<Arc<Table>> = std::sync::OnceLock::new();
    T.get_or_init(|| Arc::new(Table::generate(10, &mut |_, _| {}).unwrap()))
        .clone()
}

fn record(identity: &str) -> MinerRecord {
    MinerRecord {
        job_id: 1,
        network: Network::DevNet,
        version: 2,
        identity: identity.into(),
        coinbase: String::new(),
        content: Vec::new(),
        opr_hash: [identity.len() as u8; 32],
    }
}

/// `n` records of `identity`, each claiming its real difficulty (`lie`: the first one's is
/// off by one).
fn honest(identity: &str, n: usize, lie: bool) -> Vec<Candidate> {
    let r = record(identity);
    (0..n)
        .map(|k| {
            let nonce = (k as u64).to_be_bytes().to_vec();
            let d = table().difficulty(&r.opr_hash, &nonce);
            let d = if lie && k == 0 { d ^ 1 } else { d };
            (k, nonce, d)
        })
        .collect()
}

fn counts(v: &[(usize, Verdict)]) -> (usize, usize, usize, usize) {
    let mut c = (0, 0, 0, 0);
    for (_, v) in v {
        match v {
            Verdict::Accepted(_) => c.0 += 1,
            Verdict::Refused(RecordRefusal::OverBudget(_)) => c.1 += 1,
            Verdict::Refused(RecordRefusal::Closed) => c.2 += 1,
            Verdict::Refused(_) | Verdict::Failed => c.3 += 1,
        }
    }
    c
}

/// A one-thread verifier whose rate makes the budget `base` hashes a 1 s window.
fn verifier(base: f64) -> Verifier {
    let v = Verifier::new(1, table());
    let mut st = v.shared.lock();
    st.rate.calibrate(1.0 / base);
    st.window = Duration::from_secs(1);
    drop(st);
    v
}

#[tokio::test]
async fn unknown_identities_share_what_the_enrolled_do_not_need() {
    // 25 a block; one enrolled miner of 10 records reserves 10; unknowns share 15.
    let v = verifier(25.0);
    v.start_job(1, 10, 1, 64);
    let a = v
        .verify(
            1,
            "junk1",
            Standing::Unknown,
            record("junk1"),
            honest("junk1", 10, false),
        )
        .await;
    assert_eq!(counts(&a), (10, 0, 0, 0));
    let b = v
        .verify(
            1,
            "junk02",
            Standing::Unknown,
            record("junk02"),
            honest("junk02", 10, false),
        )
        .await;
    assert_eq!(counts(&b), (5, 5, 0, 0), "the unknown share is spent");
    let rig = v
        .verify(
            1,
            "rig",
            Standing::Enrolled,
            record("rig"),
            honest("rig", 10, false),
        )
        .await;
    assert_eq!(
        counts(&rig),
        (10, 0, 0, 0),
        "the enrolled miner's reserve is intact"
    );
    let s = v.stats();
    assert_eq!(s.hashes, 25);
    let b = s.budget.unwrap();
    assert_eq!((b.used, b.used_unknown, b.refused), (25, 15, 5));
    // The next job has a fresh budget; a record of the old one is stale, unhashed.
    v.start_job(2, 10, 1, 64);
    let old = v
        .verify(
            1,
            "junk1",
            Standing::Unknown,
            record("junk1"),
            honest("junk1", 1, false),
        )
        .await;
    assert!(matches!(
        old[0].1,
        Verdict::Refused(RecordRefusal::StaleJob { got: 1, current: 2 })
    ));
    assert_eq!(v.stats().hashes, 25);
}

#[tokio::test]
async fn a_wrong_difficulty_closes_the_identity_for_the_block() {
    let v = verifier(1000.0);
    v.start_job(1, 10, 0, 64);
    let first = v
        .verify(
            1,
            "liar",
            Standing::Enrolled,
            record("liar"),
            honest("liar", 1, true),
        )
        .await;
    assert!(matches!(
        first[0].1,
        Verdict::Refused(RecordRefusal::WrongDifficulty { .. })
    ));
    assert!(v.is_closed(1, "liar"));
    assert!(!v.is_closed(2, "liar") && !v.is_closed(1, "other"));
    let more = v
        .verify(
            1,
            "liar",
            Standing::Enrolled,
            record("liar"),
            honest("liar", 5, false),
        )
        .await;
    assert_eq!(counts(&more), (0, 0, 5, 0), "nothing more of it is hashed");
    assert_eq!(v.stats().hashes, 1);
    v.start_job(2, 10, 0, 64);
    assert!(!v.is_closed(2, "liar"), "a new block, a new chance");
}

#[tokio::test]
async fn the_pool_serves_enrolled_first_then_best_claims() {
    let v = verifier(1000.0);
    v.start_job(1, 10, 1, 64);
    // Hold the pool's only thread until everything is queued.
    let (release, wait) = std::sync::mpsc::channel::<()>();
    v.spawn(move || {
        let _ = wait.recv();
    });
    let v = Arc::new(v);
    let junk = tokio::spawn({
        let v = v.clone();
        async move {
            v.verify(
                1,
                "junk",
                Standing::Unknown,
                record("junk"),
                honest("junk", 3, false),
            )
            .await
        }
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while v.stats().queued < 3 {
        assert!(Instant::now() < deadline, "never queued");
        tokio::task::yield_now().await;
    }
    let rig = tokio::spawn({
        let v = v.clone();
        async move {
            v.verify(
                1,
                "rig",
                Standing::Enrolled,
                record("rig"),
                honest("rig", 3, false),
            )
            .await
        }
    });
    while v.stats().queued < 6 {
        assert!(Instant::now() < deadline, "never queued");
        tokio::task::yield_now().await;
    }
    release.send(()).unwrap();
    assert_eq!(counts(&rig.await.unwrap()).0, 3);
    assert_eq!(counts(&junk.await.unwrap()).0, 3);
    let served = v.shared.served.lock().unwrap().clone();
    let who: Vec<&str> = served.iter().map(|(id, _)| &**id).collect();
    assert_eq!(who, ["rig", "rig", "rig", "junk", "junk", "junk"]);
    // Within an identity, its best claim first.
    let claims = honest("rig", 3, false);
    let order: Vec<u64> = served[..3].iter().map(|(_, k)| claims[*k].2).collect();
    let mut best_first = order.clone();
    best_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(order, best_first);
}

#[tokio::test]
async fn a_batch_takes_one_record_per_identity_so_a_liar_is_stopped_at_its_first() {
    let v = Arc::new(verifier(1000.0));
    v.start_job(1, 10, 0, 64);
    let (release, wait) = std::sync::mpsc::channel::<()>();
    v.spawn(move || {
        let _ = wait.recv();
    });
    // 30 honest identities of 2 records and a liar of 3 (every claim off by one), all queued
    // while the pool's only thread is held, then verified in batches.
    let mut waiting = Vec::new();
    for k in 0..31 {
        let id = format!("rig{k:02}");
        let mut c = honest(&id, if k == 30 { 3 } else { 2 }, false);
        if k == 30 {
            c.iter_mut().for_each(|r| r.2 ^= 1);
        }
        let v = v.clone();
        waiting.push(tokio::spawn(async move {
            v.verify(1, &id, Standing::Enrolled, record(&id), c).await
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while v.stats().queued < 63 {
        assert!(Instant::now() < deadline, "never queued");
        tokio::task::yield_now().await;
    }
    release.send(()).unwrap();
    let mut results = Vec::new();
    for w in waiting {
        results.push(w.await.unwrap());
    }
    for r in &results[..30] {
        assert_eq!(counts(r), (2, 0, 0, 0));
    }
    let liar = &results[30];
    assert_eq!(counts(liar), (0, 0, 2, 1), "hashed once, then closed");
    assert_eq!(v.stats().hashes, 61);
    // Served in the queue's order: everyone's first record before anyone's second.
    let served = v.shared.served.lock().unwrap().clone();
    let mut firsts: Vec<&str> = served[..31].iter().map(|(id, _)| &**id).collect();
    firsts.sort();
    firsts.dedup();
    assert_eq!(firsts.len(), 31);
}
