//! The load generator works end to end at a small scale: it starts its coordinator child, connects
//! every client, and each client sees every broadcast and has all its records verified. (No
//! figure is checked here: speed targets live in the benchmark's results, not in tests.)

use std::process::Command;

#[test]
fn twenty_miners_one_round_every_event_seen_and_every_record_verified() {
    let dir = std::env::temp_dir().join(format!("netmine-load-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_netmine-load"))
        .args([
            "--miners",
            "20",
            "--rounds",
            "1",
            "--bits",
            "10",
            "--records",
            "2",
        ])
        .arg("--table-dir")
        .arg(&dir)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("command: netmine-load --miners 20"),
        "{stdout}"
    );
    assert!(
        stdout.lines().any(|l| l.starts_with("| 20 |")),
        "no summary row: {stdout}"
    );
    assert!(
        stdout.contains("20 miners: 20 connected in") && stdout.contains(", 0 failed;"),
        "{stdout}"
    );
    assert!(
        stdout.contains("verified 40/40 records") && stdout.contains("0 events missing"),
        "{stdout}"
    );
    assert!(!stderr.contains("client "), "a client failed: {stderr}");
}
