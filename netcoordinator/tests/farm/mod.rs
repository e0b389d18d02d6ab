//! What the farm-level process tests share (`availability.rs`, `faults/`): coordinators and
//! netminers as processes on a simulated factomd, their status, and an audit of what landed.
#![allow(dead_code)] // each test file uses its own part

use factom::{EcSecret, FactomdClient, RpcConfig};
use factomd_sim::{SimConfig, SimServer};
use pegnet::Network;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub const SECRET: &str = "standby-farm-secret-0123";
pub use crate::common::FA;
pub const TOP: usize = 2;
pub const CREDITS: i64 = 10_000;

/// A port nothing listens on now, and never handed out before in this test process. Farm tests
/// restart a coordinator on the address its miners list (`--caddr`), so it cannot pick a fresh
/// port on every start as the other tests' processes do ([`crate::common::ANY`]). The farm tests
/// of one binary run side by side: the set of ports already handed out keeps one test from being
/// given a port another test's coordinator is down from (killed, about to start again on it).
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<BTreeSet<u16>> = std::sync::Mutex::new(BTreeSet::new());
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if GIVEN.lock().unwrap().insert(port) {
            return port;
        }
    }
}

/// A child process killed (and reaped) when dropped, so a failing test leaves none behind; the
/// farm tests kill and restart coordinators on purpose, which [`crate::common::Process`] (one
/// start, output kept in memory) is not made for.
pub struct Kill(pub std::process::Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `netminer` binary, built with this test's profile into its target directory.
pub fn netminer_bin() -> PathBuf {
    crate::common::sibling_bins(&[("netminer", "netminer")]).remove(0)
}

pub fn log(dir: &Path, name: &str) -> std::fs::File {
    std::fs::File::options()
        .create(true)
        .append(true)
        .open(dir.join(name))
        .unwrap()
}

/// A coordinator on `port` (HTTP on `http`) with its own data dir `name`; `extra` flags.
pub fn coordinator(
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

pub async fn status(http: u16) -> Option<Value> {
    let r = reqwest::get(format!("http://127.0.0.1:{http}/api/status"))
        .await
        .ok()?;
    r.json().await.ok()
}

/// Polls a coordinator's status until `ok` holds.
pub async fn wait_status(
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
pub async fn mid_block(c: &FactomdClient, block: u64, height: u32) {
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
pub async fn saved(c: &FactomdClient, block: u64, height: u32) {
    let deadline = Instant::now() + Duration::from_secs(block * 4);
    while (c.heights().await.unwrap().directoryblockheight as u32) < height {
        assert!(Instant::now() < deadline, "block {height} never saved");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The records landed in block `h`: (entry hash, identity).
pub async fn records(c: &FactomdClient, h: u32) -> Vec<(String, String)> {
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

/// A `netminer` process `rig{k}` mining for `caddr` (top [`TOP`], one thread, a 12-bit table,
/// the coinbase [`FA`]), with `extra` flags.
pub fn netminer(bin: &Path, d: &Path, k: usize, caddr: &str, extra: &[&str]) -> Kill {
    let name = format!("rig{k}");
    netminer_as(bin, d, &format!("miner{k}"), &name, FA, caddr, extra)
}

/// A `netminer` process for `caddr` mining as `identity` to `coinbase`, with the box `box_name`'s
/// own data dir (its own key), table dir and log.
pub fn netminer_as(
    bin: &Path,
    d: &Path,
    box_name: &str,
    identity: &str,
    coinbase: &str,
    caddr: &str,
    extra: &[&str],
) -> Kill {
    Kill(
        crate::common::miner_command(bin)
            .args(["--caddr", caddr, "--secret", SECRET])
            .args(["--identity", identity, "--coinbase", coinbase])
            .args(["--threads", "1", "--top", &TOP.to_string()])
            .args(["--bits", "12", "--table-source", "generate"])
            .args(extra)
            .arg("--table-dir")
            .arg(d.join(format!("{box_name}-tables")))
            .arg("--data-dir")
            .arg(d.join(box_name))
            .env_remove("NETMINE_SECRET")
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(log(d, &format!("{box_name}.log")))
            .spawn()
            .unwrap(),
    )
}

/// The coinbase (`FA…`) of every record landed in block `h`.
pub async fn coinbases(c: &FactomdClient, h: u32) -> Vec<String> {
    c.entries_at(&Network::DevNet.opr_chain(), h)
        .await
        .unwrap()
        .into_iter()
        .filter(|(_, e)| e.ext_ids.len() == 3)
        .map(|(_, e)| match pegnet::V2Content::parse(&e.content) {
            Ok(c) => String::from_utf8_lossy(&c.address).to_string(),
            Err(_) => "?".to_string(),
        })
        .collect()
}

/// A simulated factomd with blocks of `block` s from height `start`, `key` holding [`CREDITS`].
pub async fn node(block: u64, start: u32, key: &EcSecret) -> (SimServer, FactomdClient) {
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

/// What landed from `start` to `last`: each block's records (entry hash, identity), how many in
/// all, and the blocks that paid nothing from the first paid one on.
pub struct Audit {
    pub per_block: BTreeMap<u32, Vec<(String, String)>>,
    pub landed: usize,
    pub unpaid: Vec<u32>,
}

/// The records of every block from `start` to `last`, checked: no identity beyond its top, no
/// entry twice.
pub async fn audit(node: &FactomdClient, start: u32, last: u32) -> Audit {
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
    let mut unpaid = Vec::new();
    for (h, recs) in per_block.range(first..) {
        if recs.is_empty() {
            unpaid.push(*h);
        }
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
    Audit {
        per_block,
        landed,
        unpaid,
    }
}

/// The identities paid in `recs`.
pub fn paid(recs: &[(String, String)]) -> BTreeSet<String> {
    recs.iter().map(|(_, i)| i.clone()).collect()
}

pub fn both() -> BTreeSet<String> {
    ["rig0".to_string(), "rig1".to_string()].into()
}
