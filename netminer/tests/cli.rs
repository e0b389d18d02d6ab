//! The netminer binary, run as a user would.

use netmine_testkit::Spawned;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("netminer-cli-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn netminer(args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_netminer"));
    cmd.args(args)
        .env_remove("LXRBITSIZE")
        .env_remove("NETMINE_SECRET")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let input = stdin.unwrap_or("").to_string();
    let mut pipe = child.stdin.take().unwrap();
    std::thread::spawn(move || {
        let _ = pipe.write_all(input.as_bytes());
    });
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn hash_arguments_and_stdin_match_the_vectors() {
    let dir = tmpdir("hash");
    let d = dir.to_str().unwrap();
    // vectors.txt, 10 bits: "" , "abc", "foo".
    let expected = "a0cd1e488ca5ee934fb8833cacba6d500f6b55b9d8e379224a3abd4f50a5b0dc\n\
                    09113110b58b567d3364725583ad86c7c497bb0eff6b832ed64b7c9e1d36b59a\n\
                    a13f34afadaba888b320f1d1fb2ee9dc8a93e95415361f8aeafcda3060497935\n";
    let o = netminer(
        &[
            "hash",
            "--bits",
            "10",
            "--table-dir",
            d,
            "",
            "616263",
            "666F6F",
        ],
        None,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), expected);
    let o = netminer(
        &["hash", "--bits", "10", "--table-dir", d],
        Some("\n616263\r\n666f6f\n"),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), expected);
}

#[test]
fn bad_hex_names_the_line() {
    let dir = tmpdir("badhex");
    let o = netminer(
        &["hash", "--bits", "10", "--table-dir", dir.to_str().unwrap()],
        Some("00\nabc\n"),
    );
    assert!(!o.status.success());
    assert!(stdout(&o).is_empty(), "nothing printed for a bad batch");
    let e = stderr(&o);
    assert!(e.contains("stdin line 2") && e.contains("odd"), "{e}");
    let o = netminer(&["hash", "--bits", "10", "00", "zz"], None);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("argument 2"), "{}", stderr(&o));
}

#[test]
fn bad_sizes_are_clear_errors() {
    let o = netminer(&["table", "--bits", "31"], None);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("8 to 30"), "{}", stderr(&o));
    let o = Command::new(env!("CARGO_BIN_EXE_netminer"))
        .args(["table"])
        .env("LXRBITSIZE", "banana")
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(stderr(&o).contains("LXRBITSIZE"), "{}", stderr(&o));
}

#[test]
fn table_reports_path_size_digest_and_huge_pages() {
    let dir = tmpdir("table");
    let o = netminer(
        &[
            "table",
            "--bits",
            "10",
            "--table-dir",
            dir.to_str().unwrap(),
        ],
        None,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("lxrhash-seed-fafaececfafaecec-passes-5-size-10.dat"));
    assert!(out.contains("size: 1024 bytes"));
    assert!(
        out.contains("sha256: c1e50b47f68732bce96e3a01bf53d889071ef31b5732c3f07f460c6aa4adf204")
    );
    assert!(out.contains("huge pages:"));
}

#[test]
fn bench_json_checksum_is_independent_of_threads_and_duration() {
    let dir = tmpdir("bench");
    let d = dir.to_str().unwrap();
    let run = |threads: &str, secs: &str| -> serde_json::Value {
        let o = netminer(
            &[
                "bench",
                "--bits",
                "12",
                "--table-dir",
                d,
                "--threads",
                threads,
                "--seconds",
                secs,
                "--json",
            ],
            None,
        );
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_str(stdout(&o).trim()).unwrap()
    };
    let a = run("1", "0.2");
    let b = run("2", "0.4");
    for key in [
        "bits",
        "threads",
        "seconds",
        "hashes",
        "hashes_per_sec",
        "input_len",
        "checksum",
    ] {
        assert!(a.get(key).is_some(), "missing {key}");
    }
    assert_eq!(a["checksum"], b["checksum"]);
    assert_eq!(a["threads"], 1);
    assert_eq!(b["per_thread"].as_array().unwrap().len(), 2);
    assert!(a["hashes"].as_u64().unwrap() > 0);
    assert!(a["input_len"].as_u64().unwrap() >= 34);
    // The checksum is the documented one: sha256 over the hashes of miner 0's first 1024 nonces.
    let table = hashcore::Table::generate(12, &mut |_, _| {}).unwrap();
    let prefix = hashcore::bench::bench_prefix();
    let mut h = Vec::new();
    for n in hashcore::bench::checksum_nonces() {
        let mut input = prefix.to_vec();
        input.extend_from_slice(n.as_bytes());
        h.push(table.hash(&input));
    }
    assert_eq!(a["checksum"], hashcore::bench::checksum(&h));
}

#[test]
fn opencl_falls_back_to_cpu_without_any_driver() {
    let empty = tmpdir("no-icd");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_netminer"));
    let o = cmd
        .args([
            "bench",
            "--bits",
            "10",
            "--table-dir",
            empty.to_str().unwrap(),
            "--backend",
            "opencl",
            "--seconds",
            "0.2",
            "--json",
        ])
        .env("OCL_ICD_VENDORS", &empty)
        .env_remove("LXRBITSIZE")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["backend"], "cpu");
    assert!(
        stderr(&o).contains("falling back to the CPU backend"),
        "{}",
        stderr(&o)
    );
    let o = Command::new(env!("CARGO_BIN_EXE_netminer"))
        .arg("--list-devices")
        .env("OCL_ICD_VENDORS", &empty)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("no OpenCL platform found"),
        "{}",
        stderr(&o)
    );
}

#[test]
#[ignore = "needs an OpenCL device (CI installs PoCL: apt install pocl-opencl-icd): cargo test -- --include-ignored"]
fn opencl_bench_checksum_equals_the_cpus() {
    let list = Command::new(env!("CARGO_BIN_EXE_netminer"))
        .arg("--list-devices")
        .output()
        .unwrap();
    assert!(
        list.status.success(),
        "no OpenCL device: install an OpenCL driver (e.g. pocl-opencl-icd) to run this test: {}",
        stderr(&list)
    );
    assert!(stdout(&list).contains("compute units"));
    let dir = tmpdir("oclbench");
    let run = |backend: &str| -> serde_json::Value {
        let o = netminer(
            &[
                "bench",
                "--bits",
                "12",
                "--table-dir",
                dir.to_str().unwrap(),
                "--backend",
                backend,
                "--seconds",
                "0.3",
                "--json",
            ],
            None,
        );
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_str(stdout(&o).trim()).unwrap()
    };
    let gpu = run("opencl");
    assert_eq!(gpu["backend"], "opencl");
    assert_eq!(gpu["checksum"], run("cpu")["checksum"]);
    let all = run("all");
    assert_eq!(all["backend"], "all");
    assert!(all["workers"].as_array().unwrap().len() >= 2);
}

#[test]
fn an_identity_whose_records_cost_more_than_1_ec_is_refused_before_connecting() {
    let long = "x".repeat(9000);
    let o = netminer(
        &[
            "--caddr",
            "127.0.0.1:1",
            "--secret",
            "sixteen-chars-ok",
            "--identity",
            &long,
            "--coinbase",
            "FA2jK2HcLnRdS94dEcU27rF3meoJfpUcZPSinpb7AwQvPRY6RL1Q",
            "--bits",
            "10",
        ],
        None,
    );
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("1-EC entry"), "{err}");
    assert!(!err.contains("connect"), "{err}");
}

#[test]
fn check_config_prints_the_settings_or_every_problem() {
    let dir = tmpdir("check-config");
    let good = dir.join("good.toml");
    std::fs::write(
        &good,
        "caddr = [\"coordinator.lan:1234\", \"wss://backup.example:443\"]\nsecret = \"a-very-long-farm-secret-123\"\nidentity = \"rig01\"\ncoinbase = \"FA2jK2HcLnRdS94dEcU27rF3meoJfpUcZPSinpb7AwQvPRY6RL1Q\"\n",
    )
    .unwrap();
    let o = netminer(&["check-config", "--config", good.to_str().unwrap()], None);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("config ok"));
    assert!(stdout(&o).contains("secret = \"***\""), "{}", stdout(&o));
    assert!(!stdout(&o).contains("a-very-long-farm-secret-123"));

    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "caddr = [\"nohost\"]\nidentity = \"rig 01\"\ncoinbase = \"FAnope\"\ntop = 0\n",
    )
    .unwrap();
    let o = netminer(&["check-config", "--config", bad.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    for want in ["caddr", "identity", "coinbase", "top", "5 problem"] {
        assert!(err.contains(want), "{want} missing from {err}");
    }
}

#[test]
fn a_short_secret_is_refused_at_start_naming_the_rule() {
    let o = netminer(
        &[
            "--caddr",
            "127.0.0.1:1",
            "--identity",
            "rig1",
            "--coinbase",
            "FA2jK2HcLnRdS94dEcU27rF3meoJfpUcZPSinpb7AwQvPRY6RL1Q",
            "--bits",
            "10",
        ],
        None,
    );
    assert!(!o.status.success());
    // Without any secret: says where to give one.
    assert!(stderr(&o).contains("no shared secret"), "{}", stderr(&o));
    let o = Command::new(env!("CARGO_BIN_EXE_netminer"))
        .args([
            "--caddr",
            "127.0.0.1:1",
            "--identity",
            "rig1",
            "--coinbase",
            "FA2jK2HcLnRdS94dEcU27rF3meoJfpUcZPSinpb7AwQvPRY6RL1Q",
            "--bits",
            "10",
        ])
        .env("NETMINE_SECRET", "farmsecret")
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("at least 16"), "{err}");
    assert!(err.contains("gen-secret"), "{err}");
    assert!(
        !err.contains("farmsecret"),
        "the secret is never printed: {err}"
    );
}

#[test]
fn the_secret_flag_warns_that_the_process_list_shows_it() {
    // A valid secret given as a flag: the warning, then the next check (a bad table size) fails.
    let o = netminer(
        &[
            "--caddr",
            "127.0.0.1:1",
            "--secret",
            "sixteen-chars-ok",
            "--identity",
            "rig1",
            "--coinbase",
            "FA2jK2HcLnRdS94dEcU27rF3meoJfpUcZPSinpb7AwQvPRY6RL1Q",
            "--bits",
            "31",
        ],
        None,
    );
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("process list") && err.contains("NETMINE_SECRET"),
        "{err}"
    );
    assert!(err.contains("8 to 30"), "{err}");
    assert!(!err.contains("sixteen-chars-ok"), "{err}");
}

#[test]
fn a_bad_tls_fingerprint_is_a_clear_error() {
    let o = netminer(
        &[
            "--caddr",
            "wss://127.0.0.1:1",
            "--secret",
            "sixteen-chars-ok",
            "--identity",
            "rig1",
            "--coinbase",
            "FA2jK2HcLnRdS94dEcU27rF3meoJfpUcZPSinpb7AwQvPRY6RL1Q",
            "--tls-fingerprint",
            "sha256:nothex",
            "--bits",
            "10",
        ],
        None,
    );
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("--tls-fingerprint") && err.contains("64 hex"),
        "{err}"
    );
}

#[test]
fn a_missing_table_is_asked_of_the_coordinator_then_generated_when_none_serves_it() {
    for (source, asks) in [("coordinator", true), ("generate", false)] {
        let dir = tmpdir(&format!("source-{source}"));
        let _ = std::fs::remove_dir_all(&dir);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_netminer"));
        cmd.args([
            "--caddr",
            "127.0.0.1:1",
            "--identity",
            "newbox",
            "--bits",
            "10",
        ])
        .args([
            "--coinbase",
            "FA2jK2HcLnRdS94dEcU27rF3meoJfpUcZPSinpb7AwQvPRY6RL1Q",
        ])
        .args(["--table-source", source, "--miners", "1"])
        .arg("--table-dir")
        .arg(&dir)
        .env("NETMINE_SECRET", "sixteen-chars-ok")
        .env("NO_COLOR", "1")
        .env_remove("LXRBITSIZE");
        let mut child = Spawned::start("netminer", &mut cmd);
        // Past the table (copied or generated), the miner tries the coordinator, where nothing
        // listens: by then it has said everything it does about the table.
        child.line_blocking("reconnecting in", Duration::from_secs(30));
        child.kill();
        let table = dir.join("lxrhash-seed-fafaececfafaecec-passes-5-size-10.dat");
        let err = child.output();
        assert!(table.exists(), "{source}: no table was made:\n{err}");
        assert_eq!(
            err.contains("copying it from the coordinator"),
            asks,
            "{source}:\n{err}"
        );
        assert_eq!(
            err.contains("generating the table here instead"),
            asks,
            "{source}:\n{err}"
        );
        assert!(!err.contains("sixteen-chars-ok"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
