//! `netcoordinator grade`, run as a user would.

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netcoordinator"))
        .args(args)
        .env_remove("LXRBITSIZE")
        .output()
        .unwrap()
}

fn testdata(name: &str) -> String {
    format!("{}/../testdata/pegnet/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn tmp(name: &str, content: &str) -> String {
    let p = std::env::temp_dir().join(format!("grade-cli-{}-{name}", std::process::id()));
    std::fs::write(&p, content).unwrap();
    p.to_string_lossy().into_owned()
}

#[test]
#[ignore = "needs the 30-bit LXRHash table (1 GiB; generated into ~/.lxrhash on first use, ~10 min): cargo test -- --include-ignored"]
fn reproduces_the_winners_of_both_blocks() {
    for (file, valid, version) in [("block-206422.json", 504, 1), ("block-210330.json", 94, 2)] {
        let o = run(&["grade", &testdata(file)]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let block: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(testdata(file)).unwrap()).unwrap();
        assert_eq!(v["winners"], block["Winners"], "{file}");
        assert_eq!(v["valid"], valid);
        assert_eq!(v["version"], version);
        assert_eq!(v["graded"].as_array().unwrap().len(), 50);
        let first = &v["graded"][0];
        assert_eq!(first["shorthash"], block["Winners"][0]);
        assert_eq!(first["difficulty"].as_str().unwrap().len(), 16);
    }
    let o = run(&["grade", &testdata("block-210330.json"), "--version", "5"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["version"], 5);
    assert_eq!(v["winners"][0], "0aa7da814df36be1");
}

#[test]
fn output_shape_with_a_small_table() {
    // With a 10-bit table no record is honest: nothing is graded and the previous winners carry.
    let dir = std::env::temp_dir().join(format!("grade-cli-tables-{}", std::process::id()));
    let o = run(&[
        "grade",
        &testdata("block-210330.json"),
        "--bits",
        "10",
        "--table-dir",
        dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["height"], 210330);
    assert_eq!(v["valid"], 94);
    assert_eq!(v["graded"], serde_json::json!([]));
    assert_eq!(v["winners"].as_array().unwrap().len(), 10);
}

#[test]
fn garbage_is_a_clear_error() {
    for (content, expect) in [
        ("not json", "not a block file"),
        (r#"{"Height":-5,"Entries":[]}"#, "not a block height"),
        (
            r#"{"Height":5,"Entries":[{"Hash":"zz","ExtIDs":[],"Content":""}]}"#,
            "entry 0: Hash is not hex",
        ),
        (
            r#"{"Height":5,"Entries":[{"Hash":"00","ExtIDs":[],"Content":""}]}"#,
            "expected 32",
        ),
        (
            &format!(
                r#"{{"Height":5,"Entries":[{{"Hash":"{}","ExtIDs":["!!"],"Content":""}}]}}"#,
                "0".repeat(64)
            ),
            "ExtIDs[0] is not base64",
        ),
        (
            r#"{"Height":300000,"PreviousWinners":["x"],"Entries":[]}"#,
            "previous winners",
        ),
    ] {
        let o = run(&["grade", &tmp("g.json", content), "--bits", "10"]);
        assert!(!o.status.success());
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(expect), "{content}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let o = run(&["grade", "/nonexistent/block.json"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("reading /nonexistent/block.json"));
    let o = run(&[
        "grade",
        &testdata("block-210330.json"),
        "--version",
        "9",
        "--bits",
        "10",
    ]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("version 9"));
}
