//! What the simulator's tests share: a node on a manual clock (stepped, never waited for), a
//! client with short timeouts, and the binary started on port 0.
#![allow(dead_code)] // each test file uses its own part

use factom::{EcSecret, FactomdClient, RpcConfig};
use factomd_sim::{SimConfig, SimServer};
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

pub use netmine_testkit::Spawned;

/// The first block a test node builds.
pub const START: u32 = 1000;

/// A node on its own manual clock at the start of block [`START`], with mainnet's 600 s blocks
/// (the length only sets how far a step moves) and `funded` keys.
pub async fn manual_sim(funded: &[(&EcSecret, i64)]) -> SimServer {
    SimServer::start_manual(
        SimConfig {
            block_time: Duration::from_secs(600),
            start_height: START,
            funded: funded.iter().map(|(k, n)| (k.public(), *n)).collect(),
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap()
}

/// A client with a 2 s timeout that gives up retrying after 300 ms.
pub fn client(url: &str) -> FactomdClient {
    let mut cfg = RpcConfig::new(url);
    cfg.timeout = Duration::from_secs(2);
    cfg.retry_for = Duration::from_millis(300);
    FactomdClient::new(cfg).unwrap()
}

/// The `factomd-sim` binary listening on a port of its choosing (`--listen 127.0.0.1:0`) with
/// `args`; returns it with the address it printed.
pub async fn binary(args: &[&str]) -> (Spawned, SocketAddr) {
    let child = Spawned::start(
        "factomd-sim",
        Command::new(env!("CARGO_BIN_EXE_factomd-sim"))
            .args(["--listen", "127.0.0.1:0"])
            .args(args),
    );
    let addr = child
        .addr("listening on", "http://", Duration::from_secs(20))
        .await;
    (child, addr)
}
