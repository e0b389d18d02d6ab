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
mod farm;

use common::scratch;
use factom::EcSecret;
use farm::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

/// The standby's blocks: 20 s, a 2 s minute, the default submit window 0.67 s, the standby's
/// extra wait 0.33 s.
const STANDBY_BLOCK_SECS: u64 = 20;
/// The restarts' blocks, as the issue has them.
const RESTART_BLOCK_SECS: u64 = 30;

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
    let Audit {
        per_block,
        landed,
        unpaid,
    } = audit(&node, start, back + 1).await;
    assert!(
        unpaid.is_empty() || unpaid == [killed_at],
        "blocks paid nothing: {unpaid:?} (killed in {killed_at}): {per_block:?}"
    );
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
    assert_eq!(versions, [("rig0".into(), 3), ("rig1".into(), 1)].into());

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
    let Audit {
        per_block,
        landed,
        unpaid,
    } = audit(&node, start, first + 3).await;
    assert!(
        unpaid.is_empty(),
        "blocks paid nothing: {unpaid:?}: {per_block:?}"
    );
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
