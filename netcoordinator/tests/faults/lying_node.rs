//! A lying factomd, from outside, with default settings: `factomd-sim`, `netcoordinator` and two
//! `netminer`s run as separate processes. The node answers EC-balance calls with 2 MB error texts
//! for two blocks, then serves tampered entries for two blocks, then is honest again. No miner is
//! dropped, the data dir and `/api/blocks` stay small, no entry is paid for a block graded from
//! tampered data, and the farm pays again as soon as the node is honest.
//!
//! Another writer puts two entries on the OPR chain in every block (as other miners do on the real
//! network), so every block the coordinator grades has entries for the node to tamper with.

use crate::common::{self, json_until, until_some, Process, Spawned, ANY, FA, PATIENCE};
use factom::{compose, opr_chain_id, EcSecret, Entry, FactomdClient, RpcConfig};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const SECRET: &str = "farmsecret-0123456789";
/// Short blocks, as the other process tests use: minute 1 still has its 2 s fetch budget.
const BLOCK_SECS: u64 = 6;
const START: u32 = 8000;

/// The `factomd-sim` and `netminer` binaries, built with the profile of this test.
fn sim_and_miner() -> (PathBuf, PathBuf) {
    let mut bins =
        common::sibling_bins(&[("factomd-sim", "factomd-sim"), ("netminer", "netminer")]);
    let miner = bins.pop().unwrap();
    (bins.pop().unwrap(), miner)
}

async fn json_of(url: &str) -> Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

/// Waits until the node builds `height` at minute 4 to 7 (well clear of minute 1 on either side).
async fn mid_block(c: &FactomdClient, height: u32) {
    let deadline = Instant::now() + Duration::from_secs(BLOCK_SECS * 4);
    loop {
        let cm = c.current_minute().await.unwrap();
        let building = cm.directoryblockheight as u32 + 1;
        assert!(
            building <= height,
            "block {height} passed before it could be switched (now {building})"
        );
        if building == height && (4..=7).contains(&cm.minute) {
            return;
        }
        assert!(Instant::now() < deadline, "block {height} never came");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Makes the simulator lie (or stop lying) through its faults route.
async fn lie(sim: &str, lies: Value) {
    let r = reqwest::Client::new()
        .post(format!("{sim}/sim/faults"))
        .json(&lies)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
}

/// Our records (3 ExtIDs) landed in block `h`.
async fn records_in(c: &FactomdClient, h: u32) -> usize {
    c.entries_at(&opr_chain_id("devnet"), h)
        .await
        .unwrap()
        .iter()
        .filter(|(_, e)| e.ext_ids.len() == 3)
        .count()
}

fn block(blocks: &Value, h: u32) -> &Value {
    blocks["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["height"] == h)
        .unwrap_or_else(|| panic!("block {h} missing: {blocks:#}"))
}

fn dir_size(d: &Path) -> u64 {
    std::fs::read_dir(d)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            if m.is_dir() {
                dir_size(&e.path())
            } else {
                m.len()
            }
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lying_node_drops_no_miner_keeps_data_small_pays_nothing_built_on_lies_and_pays_again_when_honest(
) {
    let started = Instant::now();
    let (sim_bin, miner_bin) = tokio::task::spawn_blocking(sim_and_miner).await.unwrap();
    let d = common::scratch("lying-node", "farm");
    let key = EcSecret::generate();
    let writer = EcSecret::generate();
    let sim_proc = Spawned::start(
        "factomd-sim",
        Command::new(&sim_bin)
            .args(["--listen", ANY])
            .args(["--block-seconds", &BLOCK_SECS.to_string()])
            .args(["--start-height", &START.to_string(), "--faults-route"])
            .args(["--fund-ec", &format!("{}=10000", key.public())])
            .args(["--fund-ec", &format!("{}=10000", writer.public())])
            .env("NO_COLOR", "1"),
    );
    let sim_addr = sim_proc.addr("listening on", "http://", PATIENCE).await;
    let sim = format!("http://{sim_addr}");
    let mut rpc = RpcConfig::new(&sim);
    rpc.retry_for = Duration::from_secs(10);
    let node = FactomdClient::new(rpc).unwrap();
    node.heights().await.expect("the simulator never answered");

    let coord = Process::start(
        "netcoordinator",
        common::coordinator(&sim, &d, ANY, ANY)
            .args(["--secret", SECRET])
            .env("NETMINE_EC_SECRET", key.to_secret_string()),
    );
    let caddr = coord.miners().await;
    let http = coord.http().await;
    let base = format!("http://{http}");
    let mut miners = Vec::new();
    for k in 0..2 {
        miners.push(Spawned::start(
            &format!("netminer rig{k}"),
            common::miner_command(&miner_bin)
                .args(["--caddr", &caddr.to_string(), "--secret", SECRET])
                .args(["--identity", &format!("rig{k}"), "--coinbase", FA])
                .args(["--miners", "1", "--top", "3", "--bits", "12"])
                .arg("--table-dir")
                .arg(d.join(format!("miner{k}")))
                .env_remove("NETMINE_SECRET")
                .env("RUST_LOG", "info")
                .env("NO_COLOR", "1"),
        ));
    }

    // Another writer: two entries on the OPR chain in every block.
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let stranger = {
        let mut rpc = RpcConfig::new(&sim);
        rpc.retry_for = Duration::from_secs(1);
        let c = FactomdClient::new(rpc).unwrap();
        tokio::spawn(async move {
            let mut n = 0u64;
            loop {
                for _ in 0..2 {
                    n += 1;
                    let e = Entry {
                        chain_id: opr_chain_id("devnet"),
                        ext_ids: vec![b"stranger".to_vec()],
                        content: format!("not a record, #{n}").into_bytes(),
                    };
                    let at = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .as_millis() as u64;
                    let _ = c
                        .commit_and_reveal(&compose(&e, &writer, at).unwrap())
                        .await;
                }
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(BLOCK_SECS) / 3) => {}
                    _ = stopped.changed() => return,
                }
            }
        })
    };

    // The farm pays while the node is honest.
    json_until(
        &format!("{base}/api/blocks?limit=10"),
        Duration::from_secs(60),
        |v| {
            v["blocks"]
                .as_array()
                .is_some_and(|b| b.iter().any(|b| b["entries_paid"].as_u64() > Some(0)))
        },
    )
    .await;
    let before = json_until(
        &format!("{base}/api/miners"),
        Duration::from_secs(20),
        |v| {
            v["miners"]
                .as_array()
                .is_some_and(|m| m.len() == 2 && m.iter().all(|m| m["connected"] == true))
        },
    )
    .await;

    // Two blocks of 2 MB error texts for the EC balance, two blocks of tampered entries, then
    // honest again; each switched in the middle of the block before.
    let h = node.current_minute().await.unwrap().directoryblockheight as u32 + 2;
    mid_block(&node, h).await;
    let two_mb = json!({"error_text": {"method": "entry-credit-balance", "bytes": 2_000_000}});
    lie(&sim, two_mb).await;
    mid_block(&node, h + 2).await;
    lie(&sim, json!({"tamper_entries": true})).await;
    mid_block(&node, h + 4).await;
    lie(&sim, json!({})).await;
    let honest = h + 5;

    // The first block graded from honest data is paid.
    let blocks = json_until(
        &format!("{base}/api/blocks?limit=100"),
        Duration::from_secs(BLOCK_SECS * 3),
        |v| {
            v["blocks"].as_array().is_some_and(|b| {
                b.iter()
                    .any(|b| b["height"] == honest && b["entries_paid"].as_u64() > Some(0))
            })
        },
    )
    .await;
    let _ = stop.send(true);
    let _ = stranger.await;
    until_some(
        &format!("block {honest} to be saved"),
        Duration::from_secs(BLOCK_SECS * 2),
        || async {
            let saved = node.heights().await.ok()?.directoryblockheight;
            (saved >= i64::from(honest)).then_some(())
        },
    )
    .await;

    for b in [h + 1, h + 2] {
        let why = block(&blocks, b)["skipped"].as_str().unwrap().to_string();
        assert!(why.contains("entry-credit-balance"), "block {b}: {why}");
        assert!(why.contains("simulated error text"), "block {b}: {why}");
        assert!(why.len() <= 1024, "block {b}: {} bytes", why.len());
        assert!(!why.chars().any(char::is_control), "block {b}: {why:?}");
    }
    for b in [h + 3, h + 4] {
        let why = block(&blocks, b)["skipped"].as_str().unwrap().to_string();
        assert!(why.contains("node fault (entry_hash)"), "block {b}: {why}");
    }
    for b in h + 1..=h + 4 {
        assert_eq!(block(&blocks, b)["entries_paid"], 0, "block {b}");
        assert_eq!(records_in(&node, b).await, 0, "block {b} has our records");
    }
    assert!(block(&blocks, honest)["skipped"].is_null());
    assert!(records_in(&node, honest).await > 0, "block {honest}");

    // The history and the data dir stay small.
    let served = reqwest::get(format!("{base}/api/blocks?limit=100"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        served.len() < 64 << 10,
        "/api/blocks is {} bytes",
        served.len()
    );
    // A stored 2 MB reason would put over 4 MB in the data dir; an honest run of this length
    // leaves well under 2 MB (mostly SQLite's write-ahead log).
    let data = dir_size(&d.join("data"));
    assert!(data < 3 << 20, "the data dir holds {data} bytes");
    let db = rusqlite::Connection::open_with_flags(
        d.join("data").join("coordinator.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let largest: i64 = db
        .query_row("SELECT max(length(record)) FROM block_history", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(largest < 4096, "a stored block record of {largest} bytes");

    // Both miners stayed connected throughout.
    let after = json_of(&format!("{base}/api/miners")).await;
    for (k, miner) in miners.iter().enumerate() {
        let identity = format!("rig{k}");
        let find = |v: &Value| {
            v["miners"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["identity"] == identity.as_str())
                .cloned()
                .unwrap()
        };
        let (was, is) = (find(&before), find(&after));
        let log = miner.output();
        // Which side ended the link, and why, is in the two logs: shown whole when it did.
        let on_it = |l: &&str| l.contains(identity.as_str());
        let coordinator_lines = coord
            .log()
            .lines()
            .filter(on_it)
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(is["connected"], true, "{is:#}");
        assert_eq!(
            was["connected_at"], is["connected_at"],
            "{identity} reconnected.\nIts log:\n{log}\nThe coordinator's lines on it:\n{coordinator_lines}"
        );
        assert!(log.contains("skips this block"), "{log}");
        assert!(!log.contains("reconnecting"), "{log}");
        assert!(!log.contains('\u{1b}'), "an escape reached the miner's log");
    }
    for m in &mut miners {
        assert!(m.running(), "a netminer exited: {}", m.output());
    }

    // The faults: counted per kind, logged once per block, shown by `status`.
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("netmine_node_faults_total{kind=\"entry_hash\"} 2"),
        "{metrics}"
    );
    let log = coord.log();
    assert!(
        !log.contains('\u{1b}'),
        "an escape reached the coordinator's log"
    );
    assert_eq!(log.matches("node fault (entry_hash)").count(), 2, "{log}");
    let out = Command::new(env!("CARGO_BIN_EXE_netcoordinator"))
        .args(["status", "--http", &http.to_string()])
        .env_remove("NETMINE_HTTP_TOKEN")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("node faults   2 (last: block"), "{text}");
    assert!(!text.contains('\u{1b}'), "{text:?}");

    eprintln!("lying node test took {:.0?}", started.elapsed());
    drop(miners);
    let _ = std::fs::remove_dir_all(&d);
}
