//! A farm that never stops, from outside: coordinators and `netminer`s as processes with default
//! settings, on a simulated factomd.
//!
//! * A standby: the primary and the standby (`--standby`, same EC key, its own data dir), two
//!   miners listing the primary first and the standby second. While the primary runs, the standby
//!   builds every job and pays nothing (its fence sees the primary's spend). The primary is
//!   SIGKILLed in the middle of a block and stays down for two blocks: the miners move to the
//!   standby, which pays. The primary comes back: the miners return to it between blocks.
//! * Restarts: one coordinator stopped with SIGTERM about 14 s into each of four 30 s blocks and
//!   started again on its data dir, with a version-1 miner (`--protocol-version 1`, as an old
//!   build connects) beside a version-2 one: both are paid in every block.
//!
//! Each time: every block after the first is paid, no identity beyond its top, no entry twice, and
//! the EC spent is what landed. The two run side by side (minutes each).

mod common;

use common::{free_port, scratch, Kill};
use factom::{EcSecret, FactomdClient, RpcConfig};
use factomd_sim::{SimConfig, SimServer};
use pegnet::Network;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SECRET: &str = "standby-farm-secret-0123";
const FA: &str = "FA2jK2HcLnRdS94dEcU27rF3meoJfpUcZPSinpb7AwQvPRY6RL1Q";
/// The standby's blocks: 20 s, a 2 s minute, the default submit window 0.67 s, the standby's
/// extra wait 0.33 s.
const STANDBY_BLOCK_SECS: u64 = 20;
/// The restarts' blocks, as the issue has them.
const RESTART_BLOCK_SECS: u64 = 30;
const TOP: usize = 2;
const CREDITS: i64 = 10_000;

/// The `netminer` binary, built with this test's profile into its target directory.
fn netminer_bin() -> PathBuf {
    let me = PathBuf::from(env!("CARGO_BIN_EXE_netcoordinator"));
    let profile_dir = me.parent().unwrap();
    let profile = if cfg!(debug_assertions) {
        "test"
    } else {
        "release"
    };
    let out = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--profile", profile])
        .args(["-p", "netminer", "--bin", "netminer"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .env("CARGO_TARGET_DIR", profile_dir.parent().unwrap())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "building netminer: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    profile_dir.join("netminer")
}

fn log(dir: &Path, name: &str) -> std::fs::File {
    std::fs::File::options()
        .create(true)
        .append(true)
        .open(dir.join(name))
        .unwrap()
}

/// A coordinator on `port` (HTTP on `http`) with its own data dir `name`; `extra` flags.
fn coordinator(
    sim: &str,
    key: &EcSecret,
    d: &Path,
    name: &str,
    ports: (u16, u16),
    extra: &[&str],
) -> Kill {
    Kill(
        Command::new(env!("CARGO_BIN_EXE_netcoordinator"))
            .args(["--network", "devnet", "--factomd", sim, "--secret", SECRET])
            .args(["--caddr", &format!("127.0.0.1:{}", ports.0)])
            .args(["--http", &format!("127.0.0.1:{}", ports.1), "--bits", "12"])
            .args(extra)
            .arg("--table-dir")
            .arg(d.join("tables"))
            .arg("--data-dir")
            .arg(d.join(name))
            .env("NETMINE_EC_SECRET", key.to_secret_string())
            .env_remove("NETMINE_HTTP_TOKEN")
            .env_remove("NETMINE_SECRET")
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(log(d, &format!("{name}.log")))
            .spawn()
            .unwrap(),
    )
}

async fn status(http: u16) -> Option<Value> {
    let r = reqwest::get(format!("http://127.0.0.1:{http}/api/status"))
        .await
        .ok()?;
    r.json().await.ok()
}

/// Polls a coordinator's status until `ok` holds.
async fn wait_status(
    http: u16,
    what: &str,
    within: Duration,
    ok: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let s = status(http).await;
        if let Some(s) = s.as_ref().filter(|s| ok(s)) {
            return s.clone();
        }
        assert!(
            Instant::now() < deadline,
            "{what}: never; last status {s:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the node builds `height` at minute 4 to 7 (its blocks last `block` s).
async fn mid_block(c: &FactomdClient, block: u64, height: u32) {
    let deadline = Instant::now() + Duration::from_secs(block * 3);
    loop {
        let cm = c.current_minute().await.unwrap();
        let building = cm.directoryblockheight as u32 + 1;
        assert!(building <= height, "block {height} passed (now {building})");
        if building == height && (4..=7).contains(&cm.minute) {
            return;
        }
        assert!(Instant::now() < deadline, "block {height} never came");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until block `height` is saved (blocks of `block` s).
async fn saved(c: &FactomdClient, block: u64, height: u32) {
    let deadline = Instant::now() + Duration::from_secs(block * 4);
    while (c.heights().await.unwrap().directoryblockheight as u32) < height {
        assert!(Instant::now() < deadline, "block {height} never saved");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The records landed in block `h`: (entry hash, identity).
async fn records(c: &FactomdClient, h: u32) -> Vec<(String, String)> {
    c.entries_at(&Network::DevNet.opr_chain(), h)
        .await
        .unwrap()
        .into_iter()
        .filter(|(_, e)| e.ext_ids.len() == 3)
        .map(|(hash, e)| {
            let id = match pegnet::V2Content::parse(&e.content) {
                Ok(c) => String::from_utf8_lossy(&c.id).to_string(),
                Err(_) => "?".to_string(),
            };
            (hex::encode(hash), id)
        })
        .collect()
}

/// A `netminer` process `rig{k}` mining for `caddr` (top [`TOP`], one thread, a 12-bit table),
/// with `extra` flags.
fn netminer(bin: &Path, d: &Path, k: usize, caddr: &str, extra: &[&str]) -> Kill {
    Kill(
        Command::new(bin)
            .args(["--caddr", caddr, "--secret", SECRET])
            .args(["--identity", &format!("rig{k}"), "--coinbase", FA])
            .args(["--threads", "1", "--top", &TOP.to_string()])
            .args(["--bits", "12", "--table-source", "generate"])
            .args(extra)
            .arg("--table-dir")
            .arg(d.join(format!("miner{k}-tables")))
            .arg("--data-dir")
            .arg(d.join(format!("miner{k}")))
            .env_remove("NETMINE_SECRET")
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(log(d, &format!("miner{k}.log")))
            .spawn()
            .unwrap(),
    )
}

/// A simulated factomd with blocks of `block` s from height `start`, `key` holding [`CREDITS`].
async fn node(block: u64, start: u32, key: &EcSecret) -> (SimServer, FactomdClient) {
    let sim = SimServer::start(
        SimConfig {
            block_time: Duration::from_secs(block),
            start_height: start,
            funded: vec![(key.public(), CREDITS)],
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let node = FactomdClient::new(RpcConfig::new(&sim.url())).unwrap();
    (sim, node)
}

/// The records of every block from `start` to `last`, checked: from the first paid block on,
/// every block is paid (but those in `may_lose`), no identity beyond its top, no entry twice.
/// Returns them and the number landed.
async fn audit(
    node: &FactomdClient,
    start: u32,
    last: u32,
    may_lose: &[u32],
) -> (BTreeMap<u32, Vec<(String, String)>>, usize) {
    let mut per_block = BTreeMap::new();
    for h in start..=last {
        per_block.insert(h, records(node, h).await);
    }
    let first = *per_block
        .iter()
        .find(|(_, r)| !r.is_empty())
        .expect("nothing was ever paid")
        .0;
    let mut hashes = BTreeSet::new();
    let mut landed = 0;
    for (h, recs) in per_block.range(first..) {
        assert!(
            !recs.is_empty() || may_lose.contains(h),
            "block {h} paid nothing: {per_block:?}"
        );
        for id in ["rig0", "rig1"] {
            let n = recs.iter().filter(|(_, i)| i == id).count();
            assert!(
                n <= TOP,
                "block {h}: {id} paid {n} times (top {TOP}): {recs:?}"
            );
        }
        for (hash, _) in recs {
            assert!(hashes.insert(hash.clone()), "entry {hash} paid twice");
        }
        landed += recs.len();
    }
    (per_block, landed)
}

/// The identities paid in `recs`.
fn paid(recs: &[(String, String)]) -> BTreeSet<String> {
    recs.iter().map(|(_, i)| i.clone()).collect()
}

fn both() -> BTreeSet<String> {
    ["rig0".to_string(), "rig1".to_string()].into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_pays_while_the_primary_is_down_and_never_beside_it() {
    let miner_bin = tokio::task::spawn_blocking(netminer_bin).await.unwrap();
    let d = scratch("availability", "standby");
    let key = EcSecret::generate();
    let start = 8000;
    let (sim, node) = node(STANDBY_BLOCK_SECS, start, &key).await;
    let (p, ph, s, sh) = (free_port(), free_port(), free_port(), free_port());

    let mut primary = coordinator(&sim.url(), &key, &d, "primary", (p, ph), &[]);
    let _standby = coordinator(&sim.url(), &key, &d, "standby", (s, sh), &["--standby"]);
    let caddr = format!("127.0.0.1:{p},127.0.0.1:{s}");
    let _miners: Vec<_> = (0..2)
        .map(|k| netminer(&miner_bin, &d, k, &caddr, &[]))
        .collect();
    let block = Duration::from_secs(STANDBY_BLOCK_SECS);

    // Both miners on the primary; the standby follows, says so, and has no miner.
    wait_status(ph, "both miners on the primary", block * 2, |v| {
        v["miners_connected"] == 2 && v["role"] == "primary" && v["active_since"].is_u64()
    })
    .await;
    // The standby's fence sees the primary pay, block after block.
    let st = wait_status(sh, "the standby standing down", block * 4, |v| {
        v["fence"]["outcome"] == "paid_elsewhere"
    })
    .await;
    assert_eq!(st["role"], "standby");
    assert_eq!(st["miners_connected"], 0);
    assert!(st["active_since"].is_null(), "{st:#}");

    // SIGKILL the primary in the middle of a block; it stays down for two blocks.
    let killed_at = node.current_minute().await.unwrap().directoryblockheight as u32 + 2;
    mid_block(&node, STANDBY_BLOCK_SECS, killed_at).await;
    primary.0.kill().unwrap();
    primary.0.wait().unwrap();
    wait_status(sh, "both miners on the standby", block, |v| {
        v["miners_connected"] == 2 && v["active_since"].is_u64()
    })
    .await;
    mid_block(&node, STANDBY_BLOCK_SECS, killed_at + 2).await;
    let _primary = coordinator(&sim.url(), &key, &d, "primary", (p, ph), &[]);

    // The miners return to the primary between blocks, and it pays again.
    wait_status(ph, "both miners back on the primary", block * 3, |v| {
        v["miners_connected"] == 2
    })
    .await;
    wait_status(sh, "the standby without miners", block, |v| {
        v["miners_connected"] == 0 && v["active_since"].is_null()
    })
    .await;
    let back = node.current_minute().await.unwrap().directoryblockheight as u32 + 1;
    saved(&node, STANDBY_BLOCK_SECS, back + 1).await;
    // Read at once: the next block's payment is minute 9 away.
    let spent = (CREDITS - node.ec_balance(&key.public()).await.unwrap()) as usize;

    // The block of the kill may be lost; the standby paid both identities in the next.
    let (per_block, landed) = audit(&node, start, back + 1, &[killed_at]).await;
    let h = killed_at + 1;
    assert_eq!(paid(&per_block[&h]), both(), "block {h} (the standby's)");
    assert!(
        spent >= landed && spent <= landed + 1,
        "EC spent {spent}, entries landed {landed}"
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_restarts_in_four_blocks_cost_no_block_with_old_and_new_miners() {
    let miner_bin = tokio::task::spawn_blocking(netminer_bin).await.unwrap();
    let d = scratch("availability", "restarts");
    let key = EcSecret::generate();
    let start = 9000;
    let (sim, node) = node(RESTART_BLOCK_SECS, start, &key).await;
    let (p, ph) = (free_port(), free_port());
    let mut coord = coordinator(&sim.url(), &key, &d, "coordinator", (p, ph), &[]);
    let caddr = format!("127.0.0.1:{p}");
    // rig1 connects as a version-1 build does.
    let _miners = [
        netminer(&miner_bin, &d, 0, &caddr, &[]),
        netminer(&miner_bin, &d, 1, &caddr, &["--protocol-version", "1"]),
    ];
    let block = Duration::from_secs(RESTART_BLOCK_SECS);
    wait_status(ph, "both miners", block * 2, |v| v["miners_connected"] == 2).await;
    let miners: Value = reqwest::get(format!("http://127.0.0.1:{ph}/api/miners"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let versions: BTreeMap<String, u64> = miners["miners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["identity"].as_str().unwrap().to_string(),
                m["protocol"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(versions, [("rig0".into(), 2), ("rig1".into(), 1)].into());

    // SIGTERM about 14 s into each of four blocks (minute 4 of 30 s blocks), started again at
    // once on the same data dir.
    let first = node.current_minute().await.unwrap().directoryblockheight as u32 + 2;
    for h in first..first + 4 {
        mid_block(&node, RESTART_BLOCK_SECS, h).await;
        let pid = coord.0.id().to_string();
        let term = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(term.success());
        let exit = coord.0.wait().unwrap();
        assert!(
            exit.success(),
            "the coordinator's exit after SIGTERM: {exit}"
        );
        coord = coordinator(&sim.url(), &key, &d, "coordinator", (p, ph), &[]);
    }
    saved(&node, RESTART_BLOCK_SECS, first + 3).await;
    let spent = (CREDITS - node.ec_balance(&key.public()).await.unwrap()) as usize;

    // Every block paid, both miners in each of the four.
    let (per_block, landed) = audit(&node, start, first + 3, &[]).await;
    for h in first..first + 4 {
        assert_eq!(
            paid(&per_block[&h]),
            both(),
            "block {h}: {:?}",
            per_block[&h]
        );
    }
    assert!(
        spent >= landed && spent <= landed + 1,
        "EC spent {spent}, entries landed {landed}"
    );
    drop(coord);
    let _ = std::fs::remove_dir_all(&d);
}
