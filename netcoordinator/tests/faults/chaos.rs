//! Chaos, from outside: a primary and a standby coordinator (processes, default settings) and two
//! `netminer` processes listing both, on a simulated factomd, while the test SIGKILLs the
//! coordinators (restarting them after a random part of a block), takes factomd down for seconds
//! and makes its minute go back, at random moments.
//!
//! Through all of it: no identity is paid beyond its top in a block, no entry twice, the EC spent
//! is the entries that landed (one cut-off commit per kill aside), and every block that paid
//! nothing had a fault in it.
//!
//! `NETMINE_CHAOS_KILLS` sets the number of SIGKILLs (default 4, about a minute and a half; the
//! outages and rewinds come between them, about one fault in five); `NETMINE_CHAOS_SEED` replays
//! a run. The figures of a 100-kill run are in `benches/results/2026-12-03-chaos.md`.

use crate::common::scratch;
use crate::farm::*;
use factom::EcSecret;
use rand::{RngExt, SeedableRng};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// 12 s blocks: a 1.2 s minute, the default window 0.4 s, the standby's extra wait 0.5 s (the
/// primary's 0.2 s to commit and a 0.3 s poll interval, counted from when minute 9 began).
const BLOCK_SECS: u64 = 12;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn building(node: &factom::FactomdClient) -> u32 {
    loop {
        if let Ok(cm) = node.current_minute().await {
            return cm.directoryblockheight as u32 + 1;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kills_outages_and_rewinds_never_pay_twice_and_cost_only_the_blocks_they_hit() {
    let wanted: usize = env_or("NETMINE_CHAOS_KILLS", 4);
    let seed: u64 = env_or("NETMINE_CHAOS_SEED", rand::random());
    println!("chaos: {wanted} kills, seed {seed} (NETMINE_CHAOS_SEED={seed} replays it)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let miner_bin = tokio::task::spawn_blocking(netminer_bin).await.unwrap();
    let d = scratch("chaos", "farm");
    let key = EcSecret::generate();
    let start = 7000;
    let (sim, node) = node(BLOCK_SECS, start, &key).await;
    let (p, ph, s, sh) = (free_port(), free_port(), free_port(), free_port());
    let url = sim.url();
    let mut primary = coordinator(&url, &key, &d, "primary", (p, ph), &[]);
    let mut standby = coordinator(&url, &key, &d, "standby", (s, sh), &["--standby"]);
    let caddr = format!("127.0.0.1:{p},127.0.0.1:{s}");
    let _miners: Vec<_> = (0..2)
        .map(|k| netminer(&miner_bin, &d, k, &caddr, &[]))
        .collect();
    let block = Duration::from_secs(BLOCK_SECS);
    wait_status(ph, "both miners on the primary", block * 2, |v| {
        v["miners_connected"] == 2
    })
    .await;

    // The blocks each fault was active in (from the block it began in to the one after it
    // ended: a coordinator back at minute 2 has no job until the next block).
    let mut hit = BTreeSet::new();
    let (mut kills, mut outages, mut rewinds) = (0, 0, 0);
    let started = Instant::now();
    while kills < wanted {
        tokio::time::sleep(block.mul_f64(rng.random_range(0.3..1.5))).await;
        let from = building(&node).await;
        let lasting = block.mul_f64(rng.random_range(0.05..1.5));
        match rng.random_range(0..10) {
            0..=5 => {
                primary.0.kill().unwrap();
                primary.0.wait().unwrap();
                tokio::time::sleep(lasting).await;
                primary = coordinator(&url, &key, &d, "primary", (p, ph), &[]);
                kills += 1;
            }
            6..=7 => {
                standby.0.kill().unwrap();
                standby.0.wait().unwrap();
                tokio::time::sleep(lasting).await;
                standby = coordinator(&url, &key, &d, "standby", (s, sh), &["--standby"]);
                kills += 1;
            }
            8 => {
                sim.sim().set_http_500(true);
                tokio::time::sleep(lasting.min(Duration::from_secs(6))).await;
                sim.sim().set_http_500(false);
                outages += 1;
            }
            _ => {
                sim.sim().set_minute_rewind(Some(rng.random_range(0..9)));
                tokio::time::sleep(Duration::from_secs(2)).await;
                sim.sim().set_minute_rewind(None);
                rewinds += 1;
            }
        }
        let to = building(&node).await;
        hit.extend(from..=to + 1);
    }
    let chaos = started.elapsed();

    // Calm: both coordinators up, two more blocks saved.
    wait_status(ph, "both miners back on the primary", block * 4, |v| {
        v["miners_connected"] == 2
    })
    .await;
    let last = building(&node).await + 1;
    saved(&node, BLOCK_SECS, last).await;
    let spent = (CREDITS - node.ec_balance(&key.public()).await.unwrap()) as usize;

    let Audit {
        per_block,
        landed,
        unpaid,
    } = audit(&node, start, last).await;
    let clean: Vec<_> = unpaid.iter().filter(|h| !hit.contains(h)).collect();
    let first = *per_block.iter().find(|(_, r)| !r.is_empty()).unwrap().0;
    let blocks = (last - first + 1) as usize;
    println!(
        "chaos figures: {kills} kills, {outages} outages, {rewinds} rewinds in {:.0} s; blocks \
         {first}..={last}: {blocks}, paid {}, unpaid {} (all hit by a fault: {unpaid:?}); \
         entries {landed}, EC spent {spent}",
        chaos.as_secs_f64(),
        blocks - unpaid.len(),
        unpaid.len(),
    );
    assert!(
        clean.is_empty(),
        "blocks with no fault paid nothing: {clean:?} (faults hit {hit:?}): {per_block:?}"
    );
    assert!(
        spent >= landed && spent <= landed + kills,
        "EC spent {spent}, entries landed {landed}, kills {kills}"
    );
    drop((primary, standby));
    let _ = std::fs::remove_dir_all(&d);
}
