//! The `factomd-sim` binary as a user runs it: it serves on its address, funds the keys it is told
//! to, prints a fresh funded key with `--fund-new`, and refuses bad flags.

mod common;

use factom::{EcSecret, FactomdClient, RpcConfig};
use std::process::Command;
use std::time::Duration;

#[tokio::test]
async fn factomd_sim_binary_serves_and_funds() {
    let key = EcSecret::generate();
    let fund = format!("{}=25", key.public());
    let (child, addr) = common::binary(&[
        "--block-seconds",
        "60",
        "--start-height",
        "777",
        "--fund-ec",
        &fund,
        "--fund-new",
        "9",
    ])
    .await;
    // The fresh key's secret is printed before the address.
    let line = child.line("its secret", Duration::from_secs(1)).await;
    let new_secret = line
        .strip_prefix("its secret (give it to the coordinator): ")
        .expect("the secret line");
    let c = FactomdClient::new(RpcConfig::new(&addr.to_string())).unwrap();
    let cm = c.current_minute().await.unwrap();
    assert_eq!(
        (cm.directoryblockheight, cm.directoryblockinseconds),
        (776, 60)
    );
    assert_eq!(c.ec_balance(&key.public()).await.unwrap(), 25);
    let fresh: EcSecret = new_secret.parse().unwrap();
    assert_eq!(c.ec_balance(&fresh.public()).await.unwrap(), 9);
    drop(child);

    let bad = Command::new(env!("CARGO_BIN_EXE_factomd-sim"))
        .args(["--fund-ec", "ECnope=5"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--fund-ec"));
}
