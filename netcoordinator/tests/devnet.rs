//! The devnet end to end on loopback: two miners mine two blocks; their entries land on the
//! simulated chain, their difficulties recompute and they grade as valid winners.

use netcoordinator::devnet::{run, DevnetOptions};
use std::process::Command;

/// The two devnets must not run at once: on a 2-core CI box their miners would starve the
/// coordinators, and a block whose payments start too late pays for nothing.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn table_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("devnet-tables-{}", std::process::id()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_miners_two_blocks() {
    let _serial = SERIAL.lock().await;
    let mut seen = 0;
    let blocks = run(
        DevnetOptions {
            miners: 2,
            blocks: 2,
            block_seconds: 12.0,
            bits: 12,
            table_dir: Some(table_dir()),
            threads: 1,
            http: None,
        },
        |_| seen += 1,
    )
    .await
    .unwrap();
    assert_eq!((blocks.len(), seen), (2, 2));
    for b in &blocks {
        let s = &b.summary.block;
        assert_eq!(s.miners, 2, "{s:?}");
        assert_eq!((s.records_received, s.records_verified), (30, 30), "{s:?}");
        assert_eq!(s.entries_paid, 30);
        assert_eq!(s.entry_hashes.len(), 30);
        assert_eq!(s.entries_failed, 0);
        // Grading recomputes every difficulty: all 30 are honest and valid, 25 of them win.
        assert_eq!(b.graded_records, 30);
        assert_eq!(s.winners.len(), 25);
        assert_eq!(s.our_winners.len(), 25);
    }
    assert_eq!(
        blocks[1].summary.block.height,
        blocks[0].summary.block.height + 1
    );
    assert_eq!(
        blocks[1].summary.winners_in_force, blocks[0].summary.block.winners,
        "block 2 carries block 1's winners"
    );
    assert_eq!(blocks[1].summary.block.ec_balance, Some(1_000_000 - 60));
}

#[test]
fn the_devnet_command_prints_one_json_object_per_block() {
    let _serial = SERIAL.blocking_lock();
    let o = Command::new(env!("CARGO_BIN_EXE_netcoordinator"))
        .args([
            "devnet",
            "--miners",
            "2",
            "--blocks",
            "1",
            "--block-seconds",
            "12",
            "--bits",
            "12",
            "--json",
            "--table-dir",
        ])
        .arg(table_dir())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    for key in [
        "height",
        "miners",
        "records_received",
        "records_verified",
        "entries_paid",
        "entry_hashes",
        "ec_spent",
        "graded",
        "winners",
        "our_winners",
        "graded_records",
    ] {
        assert!(lines[0].get(key).is_some(), "missing {key}");
    }
    assert_eq!(lines[0]["entries_paid"], 30);
    let bad = Command::new(env!("CARGO_BIN_EXE_netcoordinator"))
        .args(["devnet", "--miners", "0"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("at least 1"));
}
