//! The `factomd-sim` binary as a user runs it: it serves on its address, funds the keys it is told
//! to, prints a fresh funded key with `--fund-new`, and refuses bad flags.

use factom::{EcSecret, FactomdClient, RpcConfig};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[tokio::test]
async fn factomd_sim_binary_serves_and_funds() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let key = EcSecret::generate();
    let mut child = Command::new(env!("CARGO_BIN_EXE_factomd-sim"))
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--block-seconds",
            "60",
            "--start-height",
            "777",
            "--fund-ec",
            &format!("{}=25", key.public()),
            "--fund-new",
            "9",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut new_secret = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(s) = line.strip_prefix("its secret (give it to the coordinator): ") {
            new_secret = Some(s.to_string());
        }
        if line.contains("listening on") {
            break;
        }
    }
    let c = FactomdClient::new(RpcConfig::new(&format!("127.0.0.1:{port}"))).unwrap();
    let cm = c.current_minute().await.unwrap();
    assert_eq!(
        (cm.directoryblockheight, cm.directoryblockinseconds),
        (776, 60)
    );
    assert_eq!(c.ec_balance(&key.public()).await.unwrap(), 25);
    let fresh: EcSecret = new_secret.expect("secret printed").parse().unwrap();
    assert_eq!(c.ec_balance(&fresh.public()).await.unwrap(), 9);
    child.kill().unwrap();
    let _ = child.wait();

    let bad = Command::new(env!("CARGO_BIN_EXE_factomd-sim"))
        .args(["--fund-ec", "ECnope=5"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--fund-ec"));
}
