//! `prices-fixture`, run as docs/prices.md runs it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn prints_a_config_that_plans_and_refuses_bad_faults() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_prices-fixture"))
        .args(["--listen", "127.0.0.1:0", "--fault", "CoinGecko=500"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut text = String::new();
    let mut line = String::new();
    // The config ends with the last source's block.
    while out.read_line(&mut line).unwrap() > 0 {
        text.push_str(&line);
        line.clear();
        if text.contains("[prices.sources.Fixed]\npriority = -1") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        text.starts_with("# prices-fixture listening on http://127.0.0.1:"),
        "{text}"
    );
    let cfg: toml::Value = toml::from_str(&text).unwrap();
    let prices: prices::PricesConfig = cfg["prices"].clone().try_into().unwrap();
    let plan = prices.plan(pegnet::Network::MainNet).unwrap();
    assert_eq!(plan.sources.len(), 10, "every source but Fixed");

    let bad = Command::new(env!("CARGO_BIN_EXE_prices-fixture"))
        .args(["--listen", "127.0.0.1:0", "--fault", "CoinGecko=sometimes"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("FAULT is an HTTP status"));
}
