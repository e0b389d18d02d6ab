//! A netminer without a table copies it from its coordinator: over the authenticated session
//! only, checked against the SHA-256 before it is used, resumed after a drop, shared by the
//! netminers of a box through the cache's lock, and refused with a reason when the coordinator has
//! another size or serves no table.

mod common;

use coordinator::server::{serve, Hub, ServerConfig};
use hashcore::Table;
use netmine_link::table_fetch::{check_size, fetch, part_path, FetchError};
use netmine_link::LinkConfig;
use protocol::Secret;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::watch;

const FA: &str = "FA2jK2HcLnRdS94dEcU27rF3meoJfpUcZPSinpb7AwQvPRY6RL1Q";
const SECRET: &str = "farmsecret-0123456789";

struct Coordinator {
    addr: String,
    table: Arc<Table>,
    _stop: watch::Sender<bool>,
}

async fn coordinator(bits: u32, max_table_transfers: usize) -> Coordinator {
    let table = Arc::new(Table::generate(bits, &mut |_, _| {}).unwrap());
    let hub = Hub::new(
        ServerConfig {
            secret: Some(Secret::new(SECRET)),
            max_table_transfers,
            ..ServerConfig::default()
        },
        table.clone(),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let (tx, rx) = watch::channel(false);
    tokio::spawn(serve(hub, l, rx));
    Coordinator {
        addr,
        table,
        _stop: tx,
    }
}

fn miner(addr: &str, identity: &str, secret: &str) -> LinkConfig {
    LinkConfig {
        coordinators: vec![addr.parse().unwrap()],
        secret: Secret::new(secret),
        identity: identity.into(),
        coinbase: FA.into(),
        ..Default::default()
    }
}

fn dest(tag: &str, bits: u32) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("table-copy-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(hashcore::cache::file_name(bits))
}

#[tokio::test]
async fn a_table_of_any_size_is_copied_checked_and_loadable() {
    // 12 bits has no built-in digest: the offer's (authenticated) digest is checked and kept.
    let c = coordinator(12, 2).await;
    let d = dest("any", 12);
    let got = fetch(&miner(&c.addr, "box1", SECRET), 12, &d)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.received, 1 << 12);
    assert_eq!(std::fs::read(&d).unwrap(), c.table.as_bytes());
    assert!(!part_path(&d).exists());
    let loaded = hashcore::cache::load(&d, 12).unwrap();
    assert_eq!(loaded.table.as_bytes(), c.table.as_bytes());
    // A second netminer of the box finds it there and copies nothing.
    assert!(fetch(&miner(&c.addr, "box2", SECRET), 12, &d)
        .await
        .unwrap()
        .is_none());
    let _ = std::fs::remove_dir_all(d.parent().unwrap());
}

#[tokio::test]
async fn a_dropped_copy_resumes_and_a_wrong_one_is_deleted() {
    let c = coordinator(10, 2).await;
    let d = dest("resume", 10);
    // Half a copy from before: only the rest is sent.
    std::fs::write(part_path(&d), &c.table.as_bytes()[..300]).unwrap();
    let got = fetch(&miner(&c.addr, "box1", SECRET), 10, &d)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.received, 1024 - 300);
    assert_eq!(std::fs::read(&d).unwrap(), c.table.as_bytes());
    // A partial copy that is wrong fails the (built-in, 10-bit) digest and is thrown away.
    std::fs::remove_file(&d).unwrap();
    std::fs::write(part_path(&d), vec![7u8; 300]).unwrap();
    let e = fetch(&miner(&c.addr, "box1", SECRET), 10, &d)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("sha256"), "{e}");
    assert!(!part_path(&d).exists());
    assert!(!d.exists());
    // The next try starts over and succeeds.
    fetch(&miner(&c.addr, "box1", SECRET), 10, &d)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&d).unwrap(), c.table.as_bytes());
    let _ = std::fs::remove_dir_all(d.parent().unwrap());
}

#[tokio::test]
async fn a_complete_unchecked_copy_is_checked_and_a_link_or_overlong_file_is_replaced() {
    let c = coordinator(10, 2).await;
    let d = dest("leftovers", 10);
    // Killed after the last byte, before the check: nothing more to receive.
    std::fs::write(part_path(&d), c.table.as_bytes()).unwrap();
    let got = fetch(&miner(&c.addr, "box1", SECRET), 10, &d)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.received, 0);
    assert_eq!(std::fs::read(&d).unwrap(), c.table.as_bytes());
    // A `.part` that is a link, or longer than the table, is thrown away and the copy starts over.
    std::fs::remove_file(&d).unwrap();
    let elsewhere = d.with_extension("elsewhere");
    std::fs::write(&elsewhere, b"not yours").unwrap();
    std::os::unix::fs::symlink(&elsewhere, part_path(&d)).unwrap();
    fetch(&miner(&c.addr, "box1", SECRET), 10, &d)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&elsewhere).unwrap(), b"not yours");
    assert_eq!(std::fs::read(&d).unwrap(), c.table.as_bytes());
    std::fs::remove_file(&d).unwrap();
    std::fs::write(part_path(&d), vec![0u8; 2000]).unwrap();
    fetch(&miner(&c.addr, "box1", SECRET), 10, &d)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&d).unwrap(), c.table.as_bytes());
    let _ = std::fs::remove_dir_all(d.parent().unwrap());
}

#[tokio::test]
async fn netminers_of_one_box_share_one_copy() {
    let c = coordinator(12, 1).await;
    let d = dest("shared", 12);
    let (m1, m2) = (
        miner(&c.addr, "box1", SECRET),
        miner(&c.addr, "box2", SECRET),
    );
    let (a, b) = tokio::join!(fetch(&m1, 12, &d), fetch(&m2, 12, &d));
    let copies = [a.unwrap(), b.unwrap()]
        .iter()
        .filter(|f| f.is_some())
        .count();
    assert_eq!(
        copies, 1,
        "the second waited for the lock and found the table"
    );
    assert_eq!(std::fs::read(&d).unwrap(), c.table.as_bytes());
    let _ = std::fs::remove_dir_all(d.parent().unwrap());
}

#[tokio::test]
async fn strangers_other_sizes_and_a_coordinator_that_serves_none_get_no_table() {
    let c = coordinator(10, 2).await;
    let d = dest("refused", 14);
    let unavailable = |r: Result<_, FetchError>| match r {
        Err(e @ FetchError::Unavailable { .. }) => e.to_string(),
        other => panic!("expected no table, got {other:?}"),
    };
    // Another size is the miner's misconfiguration, said as such.
    match fetch(&miner(&c.addr, "box1", SECRET), 14, &d).await {
        Err(FetchError::WrongSize {
            wanted: 14,
            coordinator: 10,
        }) => {}
        other => panic!("expected a size mismatch, got {other:?}"),
    }
    // A box that already holds a table of another size learns it too.
    assert!(matches!(
        check_size(&miner(&c.addr, "box1", SECRET), 12).await,
        Err(FetchError::WrongSize {
            wanted: 12,
            coordinator: 10
        })
    ));
    check_size(&miner(&c.addr, "box1", SECRET), 10)
        .await
        .unwrap();
    let e = unavailable(fetch(&miner(&c.addr, "box1", "not-the-farm-secret-0"), 14, &d).await);
    assert!(e.contains("secret"), "{e}");
    let none = coordinator(10, 0).await;
    let d10 = dest("none", 10);
    let e = unavailable(fetch(&miner(&none.addr, "box1", SECRET), 10, &d10).await);
    assert!(e.contains("does not serve its table"), "{e}");
    assert!(!d.exists() && !d10.exists());
    let _ = std::fs::remove_dir_all(d.parent().unwrap());
    let _ = std::fs::remove_dir_all(d10.parent().unwrap());
}

#[tokio::test]
async fn one_identity_gets_at_most_three_tables_an_hour() {
    let c = coordinator(10, 2).await;
    let d = dest("allowance", 10);
    for _ in 0..3 {
        fetch(&miner(&c.addr, "greedy", SECRET), 10, &d)
            .await
            .unwrap()
            .unwrap();
        std::fs::remove_file(&d).unwrap();
    }
    match fetch(&miner(&c.addr, "greedy", SECRET), 10, &d).await {
        Err(e @ FetchError::Unavailable { .. }) => {
            let e = e.to_string();
            assert!(e.contains("within the last 60 min"), "{e}")
        }
        other => panic!("a fourth copy within the hour: {other:?}"),
    }
    // Another box still gets its copy (each copy's place was given back when it ended).
    fetch(&miner(&c.addr, "modest", SECRET), 10, &d)
        .await
        .unwrap()
        .unwrap();
    let _ = std::fs::remove_dir_all(d.parent().unwrap());
}

/// The figures docs/mining.md gives: a new box's 30-bit table copied over loopback, checked, loaded
/// and hashing. Prints them (no timing assertion: the machines are shared).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the 30-bit LXRHash table (1 GiB; generated into ~/.lxrhash on first use, ~10 min): cargo test -- --include-ignored"]
async fn a_new_box_gets_the_30_bit_table_from_its_coordinator() {
    use hashcore::{CpuBackend, Job, MiningBackend};
    use std::time::Instant;
    let (table, _) = hashcore::cache::open(Some(30), None).unwrap();
    let hub = Hub::new(
        ServerConfig {
            secret: Some(Secret::new(SECRET)),
            ..ServerConfig::default()
        },
        table.clone(),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let (_stop, rx) = watch::channel(false);
    tokio::spawn(serve(hub, l, rx));
    let d = dest("thirty", 30);

    let start = Instant::now();
    let got = fetch(&miner(&addr, "newbox", SECRET), 30, &d)
        .await
        .unwrap()
        .unwrap();
    let copied = start.elapsed();
    let path = d.clone();
    let loaded = tokio::task::spawn_blocking(move || hashcore::cache::load(&path, 30))
        .await
        .unwrap()
        .unwrap();
    let backend = CpuBackend::start(Arc::new(loaded.table), 1, 0).unwrap();
    backend.set_job(Some(Job {
        id: 1,
        prefix: vec![1; 32],
        min_difficulty: 0,
        keep: 1,
    }));
    common::until("the first hash", common::PATIENCE, || {
        backend.hash_counts().iter().sum::<u64>() > 0
    })
    .await;
    let first_hash = start.elapsed();
    backend.set_job(None);
    let mib = got.received as f64 / (1 << 20) as f64;
    println!(
        "30-bit table over loopback: {mib:.0} MiB copied and checked in {:.2} s ({:.0} MiB/s, \
         receiving {:.2} s); first hash {:.2} s after the start",
        copied.as_secs_f64(),
        mib / copied.as_secs_f64(),
        got.elapsed.as_secs_f64(),
        first_hash.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(d.parent().unwrap());
}
