//! A misbehaving node cannot make the coordinator start a second job or pay a second round for a
//! block: its minute going back (rewind) or its height jumping are ignored, and the store remembers
//! which heights were planned and paid. A node reporting height 0 (or -1) is survived.
//!
//! The node runs on a manual clock (the first two tests): the test steps it through the minutes
//! and waits for the coordinator to have seen each, so no fault can straddle a real minute.

mod common;

use common::{miner, miner_cfg, until, FarmBuilder, FA, PATIENCE};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_minute_rewind_starts_no_second_job_and_pays_no_second_round() {
    let mut f = FarmBuilder::new("rewind", 7000).build().await;
    let miners: Vec<_> = ["rig0", "rig1"]
        .iter()
        .map(|id| miner(&common::table(10), miner_cfg(&[&f.addr()], id, FA)))
        .collect();
    until("both miners", PATIENCE, || f.hub().miners().len() == 2).await;
    // A block with a job and a payment.
    let h = 7000;
    let job = f.job(h).await;
    until("the miners' records", PATIENCE, || {
        miners.iter().all(|m| m.holds(job, 3))
    })
    .await;
    let paid = f.finish(h).await;
    assert_eq!(paid.block.height, h);
    assert!(paid.block.entries_paid > 0, "{paid:?}");
    // Still in minute 9 of h: the node's minute goes back to 1, then forward to 9 again.
    f.sim.sim().set_minute_rewind(Some(1));
    f.polled().await;
    f.sim.sim().set_minute_rewind(None);
    f.polled().await;
    // And once more in the next block, after its job went out.
    let next = f.job(h + 1).await;
    f.step_to(h + 1, 3).await;
    f.sim.sim().set_minute_rewind(Some(1));
    f.polled().await;
    f.sim.sim().set_minute_rewind(None);
    until("the miners' records", PATIENCE, || {
        miners.iter().all(|m| m.holds(next, 3))
    })
    .await;
    f.finish(h + 1).await;
    // Minute 1 of h + 2: whatever the rewinds caused was broadcast before it.
    f.job(h + 2).await;
    assert!(f.records_in(h).await <= 3);
    assert!(f.records_in(h + 1).await <= 3);
    assert_eq!(f.jobs.get(&h), Some(&1), "{:?}", f.jobs);
    assert_eq!(f.jobs.get(&(h + 1)), Some(&1), "{:?}", f.jobs);
    assert!(!f.running.engine.is_finished());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_height_jump_starts_no_second_job_for_a_height() {
    let mut f = FarmBuilder::new("jump", 8000).build().await;
    let rig = miner(&common::table(10), miner_cfg(&[&f.addr()], "rig0", FA));
    until("the miner", PATIENCE, || f.hub().miners().len() == 1).await;
    let h = 8000;
    f.job(h).await;
    // At minute 1 the node claims to be a block ahead (the coordinator follows it to minute 1
    // of h + 1: it plans that block, or skips it), then comes back.
    f.sim.sim().set_height_offset(1);
    f.minute(h + 1, 1).await;
    f.sim.sim().set_height_offset(0);
    f.polled().await;
    // The real minute 1 of h + 1 (nothing new for the coordinator), then the rest of h + 1 and
    // the start of h + 2.
    f.sim.advance_to(h + 1, 1);
    f.step_to(h + 1, 2).await;
    f.step_to(h + 1, 9).await;
    f.job(h + 2).await;
    f.step_to(h + 2, 3).await;
    assert!(
        f.jobs.contains_key(&(h + 1)) || f.skips.iter().any(|(s, _)| *s == h + 1),
        "the coordinator did not follow the jump: {:?} {:?}",
        f.jobs,
        f.skips
    );
    assert!(f.jobs.values().all(|n| *n == 1), "{:?}", f.jobs);
    assert!(f.records_in(h + 1).await <= 3);
    assert!(!f.running.engine.is_finished());
    drop(rig);
}

/// On the real clock: the monitor follows a node that stays behind only after a whole block of
/// real time, so this test keeps short (2 s) real blocks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_at_height_0_or_minus_1_is_survived() {
    // The simulator's first block being built is 1 (saved height 0); shifting by -1 makes the node
    // report a saved height of -1, so the block being built is 0.
    let block = Duration::from_secs(2);
    let mut b = FarmBuilder::new("zero", 1);
    b.real_blocks = Some(block);
    b.poll = block / 60;
    b.engine.submit_window = block / 60;
    let mut f = b.build().await;
    f.sim.sim().set_height_offset(-1);
    // The monitor first ignores the height going back, then follows a node that stays behind
    // for a whole block: a few blocks at most, with room for a busy machine.
    let why = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if let protocol::Message::Skip { height: 0, reason } = f.next().await {
                return reason;
            }
        }
    })
    .await
    .expect("a skip for block 0");
    assert!(why.contains("block 0"), "{why}");
    f.sim.sim().set_height_offset(0);
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let protocol::Message::Job { opr, .. } = f.next().await {
                if opr.height >= 1 {
                    return;
                }
            }
        }
    })
    .await
    .expect("a job once the node recovered");
    assert!(!f.running.engine.is_finished());
}
