//! A compromised box, from outside: a coordinator and two honest `netminer`s as processes with
//! default settings (first-use enrollment pins each box's key at its first login). Every block, a
//! third box that knows the farm secret logs in under both honest boxes' names, once with its own
//! coinbase and once with theirs. It is refused each time (the names are pinned to other keys,
//! then its address is banned), the honest boxes keep their sessions and are paid in every
//! block, and no entry pays the attacker.

use crate::common::scratch;
use crate::farm::*;
use factom::EcSecret;
use std::time::{Duration, Instant};

const BLOCK_SECS: u64 = 12;
/// The attacker's own payout address.
const ATTACKER: &str = "FA1zT4aFpEvcnPqPCigB3fvGu4Q4mTXY22iiuV69DqE1pNhdF2MC";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_box_logging_in_under_honest_names_changes_nothing() {
    let miner_bin = tokio::task::spawn_blocking(netminer_bin).await.unwrap();
    let d = scratch("compromised", "farm");
    let key = EcSecret::generate();
    let start = 6000;
    let (sim, node) = node(BLOCK_SECS, start, &key).await;
    let (p, ph) = (free_port(), free_port());
    let _coord = coordinator(&sim.url(), &key, &d, "coordinator", (p, ph), &[]);
    let caddr = format!("127.0.0.1:{p}");
    let _honest: Vec<_> = (0..2)
        .map(|k| netminer(&miner_bin, &d, k, &caddr, &[]))
        .collect();
    let block = Duration::from_secs(BLOCK_SECS);
    // Both boxes in, and the coordinator past its first minute (the boxes can log in before it).
    let honest = wait_status(ph, "both honest boxes and a minute", block * 2, |v| {
        v["miners_connected"] == 2 && v["height"].is_u64()
    })
    .await;
    let first = honest["height"].as_u64().unwrap() as u32 + 1;

    // Three blocks: in each, the attacker logs in as rig0 with its own coinbase and as rig1 with
    // rig1's, from its own box (its own key), in the middle of the block.
    for h in first..first + 3 {
        mid_block(&node, BLOCK_SECS, h).await;
        for (identity, coinbase) in [("rig0", ATTACKER), ("rig1", FA)] {
            let mut attacker = netminer_as(
                &miner_bin,
                &d,
                &format!("attacker-{h}-{identity}"),
                identity,
                coinbase,
                &caddr,
                &[],
            );
            // Refused by the only coordinator it knows, the netminer exits non-zero; after a few
            // refusals its address is banned (all the boxes here share 127.0.0.1: the honest
            // ones keep their sessions, and would be refused a new one until the ban ends).
            let log = d.join(format!("attacker-{h}-{identity}.log"));
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                if let Some(status) = attacker.0.try_wait().unwrap() {
                    assert!(!status.success());
                    assert!(text.contains("pinned to another box's key"), "{text}");
                    break;
                }
                if text.contains("(Banned)") {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "the attacker was never refused: {text}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        let st = status(ph).await.unwrap();
        assert_eq!(st["miners_connected"], 2, "an honest box lost its session");
    }
    saved(&node, BLOCK_SECS, first + 2).await;

    let Audit {
        per_block, unpaid, ..
    } = audit(&node, start, first + 2).await;
    assert!(unpaid.is_empty(), "blocks paid nothing: {unpaid:?}");
    for h in first..first + 3 {
        let ids = paid(&per_block[&h]);
        assert_eq!(ids, both(), "block {h}: {:?}", per_block[&h]);
        let paid_to = coinbases(&node, h).await;
        assert!(
            paid_to.iter().all(|c| c == FA),
            "block {h} paid {paid_to:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&d);
}
