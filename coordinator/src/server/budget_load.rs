//! The verification budget under load, through the hub's own submission path (the book, the
//! standing from the roster, the queue, the pool): at minute 9, 200 fresh identities (unknown to
//! the roster) hand in their records first, then the farm's enrolled boxes hand in theirs. Every
//! enrolled record is verified, as fast as without the junk (a baseline measured in the same
//! run), and with a budget too small for everyone the junk is refused `over_budget` unhashed.
//!
//! `NETMINE_LOAD_BITS` (default 16) sizes the table of the quick test; the ignored one runs on the
//! real 30-bit table. `NETMINE_LOAD_ROUNDS` (default 3) sets the rounds. The figures are printed
//! (`--nocapture`); see `benches/results/2026-12-03-budgets.md`.

use super::budget::Standing;
use super::hub::Hub;
use super::submission::submission;
use super::{CurrentJob, ServerConfig};
use crate::verify::MinerRecord;
use hashcore::Table;
use pegnet::{Network, OprTemplate, Pow};
use protocol::{Difficulty, HexBytes, Message, MinerHello, RefusalCode, SubmittedRecord};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ENROLLED: usize = 20;
const JUNK: usize = 200;
const PER_MINER: usize = 10;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn template() -> OprTemplate {
    OprTemplate {
        network: Network::DevNet,
        height: 1000,
        winners: vec![String::new(); 25],
        prices: (1..=62).map(|k| k * 1000).collect(),
    }
}

/// A hub whose roster lists `ENROLLED` boxes (operator entries, each with its key), all
/// connected.
async fn farm(
    table: Arc<Table>,
    threads: usize,
) -> (Arc<Hub>, Vec<MinerHello>, Vec<super::hub::Registration>) {
    let roster = Arc::new(crate::roster::RosterBook::in_memory());
    let hub = Hub::with_roster(
        ServerConfig {
            records_per_miner: PER_MINER,
            verify_threads: threads,
            ..ServerConfig::default()
        },
        table,
        Arc::new(crate::telemetry::Telemetry::new(1024)),
        roster.clone(),
    );
    let (mut boxes, mut held) = (Vec::new(), Vec::new());
    for k in 0..ENROLLED {
        let identity = format!("rig{k}");
        let key = protocol::BoxKey::generate().public();
        let entry = crate::roster::operator_entry(
            &identity,
            Some(&key.to_string()),
            None,
            Vec::new(),
            "test",
        )
        .unwrap();
        assert!(roster.pin(entry).await.unwrap());
        let addr = format!("10.0.0.{k}:1").parse().unwrap();
        held.push(hub.register(&identity, addr, Some(key), 2).unwrap());
        boxes.push(MinerHello {
            identity,
            coinbase: factom::FactoidSecret::generate().public().to_string(),
        });
    }
    (hub, boxes, held)
}

/// `PER_MINER` records of `miner` for job `job_id`, each claiming its real difficulty (the
/// worst case: each costs the pool a whole LXRHash).
fn records(table: &Table, miner: &MinerHello, job_id: u64) -> Vec<SubmittedRecord> {
    let r = MinerRecord::new(&template(), job_id, &miner.identity, &miner.coinbase).unwrap();
    (0..PER_MINER as u64)
        .map(|n| {
            let nonce = n.to_be_bytes().to_vec();
            SubmittedRecord {
                difficulty: Difficulty(table.difficulty(&r.opr_hash, &nonce)),
                nonce: HexBytes(nonce),
            }
        })
        .collect()
}

type Batch = Vec<(MinerHello, Vec<SubmittedRecord>)>;

/// Submits every batch at once; returns (accepted, refused over budget) per submission and when
/// each answer came.
async fn submit_all(hub: &Arc<Hub>, job_id: u64, batch: Batch) -> Vec<(u32, u32, Instant)> {
    let tasks: Vec<_> = batch
        .into_iter()
        .map(|(m, recs)| {
            let hub = hub.clone();
            tokio::spawn(async move {
                let answer = submission(&hub, &m, None, job_id, recs).await;
                let Message::SubmissionResult {
                    accepted, rejected, ..
                } = answer
                else {
                    panic!("{answer:?}")
                };
                let over = rejected
                    .iter()
                    .filter(|r| r.code == RefusalCode::OverBudget)
                    .map(|r| r.count)
                    .sum();
                (accepted, over, Instant::now())
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// One round: the junk (if any) first, then the enrolled boxes once the junk is all queued or
/// done. Returns ms until every enrolled record was answered, junk records hashed, junk refused.
async fn round(table: &Arc<Table>, junk: bool, window: Duration, job_id: u64) -> (f64, u64, u64) {
    let (hub, boxes, _held) = farm(table.clone(), 1).await;
    hub.set_submit_window(window);
    // Wait for the pool's calibration, so the budget is sized from a measured rate.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !hub.verifier.calibrated() {
        assert!(Instant::now() < deadline, "never calibrated");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    hub.start_job(CurrentJob {
        job_id,
        template: template(),
        min_difficulty: 0,
        records_wanted: 3,
    });
    assert_eq!(
        hub.standing(&boxes[0].identity, None, job_id),
        Standing::Enrolled
    );
    let junk_batch: Batch = if junk {
        (0..JUNK)
            .map(|k| {
                let m = MinerHello {
                    identity: format!("junk{k}"),
                    coinbase: boxes[0].coinbase.clone(),
                };
                let r = records(table, &m, job_id);
                (m, r)
            })
            .collect()
    } else {
        Vec::new()
    };
    let farm_batch: Batch = boxes
        .iter()
        .map(|m| (m.clone(), records(table, m, job_id)))
        .collect();
    let junk_task = {
        let hub = hub.clone();
        tokio::spawn(async move { submit_all(&hub, job_id, junk_batch).await })
    };
    // Minute 9: the junk is in the queue (or done) before the farm's first record.
    let junk_records = if junk { (JUNK * PER_MINER) as u64 } else { 0 };
    while hub.verify_stats().queued as u64 + budget_spent(&hub) < junk_records {
        assert!(Instant::now() < deadline, "the junk never queued");
        tokio::task::yield_now().await;
    }
    let t0 = Instant::now();
    let answers = submit_all(&hub, job_id, farm_batch).await;
    let last = answers.iter().map(|a| a.2).max().unwrap();
    let ms = last.duration_since(t0).as_secs_f64() * 1e3;
    for (accepted, over, _) in &answers {
        assert_eq!(
            (*accepted as usize, *over),
            (PER_MINER, 0),
            "an enrolled box's records"
        );
    }
    let junk_answers = junk_task.await.unwrap();
    let refused: u64 = junk_answers.iter().map(|a| u64::from(a.1)).sum();
    let b = hub.verify_stats().budget.unwrap();
    (ms, b.used_unknown, refused)
}

fn budget_spent(hub: &Hub) -> u64 {
    hub.verify_stats().budget.map_or(0, |b| b.used + b.refused)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_fresh_identities_of_junk_do_not_delay_the_enrolled_boxes() {
    let bits = env("NETMINE_LOAD_BITS", 16) as u32;
    load(Arc::new(Table::generate(bits, &mut |_, _| {}).unwrap())).await;
}

/// The same at the network's size, on the real table (`~/.lxrhash`, generated there first if
/// missing): the figures in `benches/results/` come from this one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the 30-bit table (1 GiB; generated into ~/.lxrhash on first use, 7-10 minutes)"]
async fn two_hundred_fresh_identities_of_junk_at_30_bits() {
    let (table, _) = hashcore::load_or_build(&hashcore::TableOptions {
        bits: 30,
        dir: None,
        progress: None,
    })
    .expect("30-bit table");
    load(table).await;
}

async fn load(table: Arc<Table>) {
    let bits = table.bits();
    let rounds = env("NETMINE_LOAD_ROUNDS", 3).max(1);
    let window = Duration::from_secs(20);
    let (mut base, mut with_junk, mut tight) = (Vec::new(), Vec::new(), Vec::new());
    let mut tight_refused = Vec::new();
    for r in 0..rounds {
        let job = 10 + 3 * r;
        base.push(round(&table, false, window, job).await.0);
        let (ms, hashed, refused) = round(&table, true, window, job + 1).await;
        assert_eq!(
            (hashed, refused),
            ((JUNK * PER_MINER) as u64, 0),
            "a roomy budget verifies the junk too, after the farm"
        );
        with_junk.push(ms);
        // A budget of about one enrolled box's records beyond the farm's reserve: the junk is
        // refused unhashed, the farm is not.
        let (ms, hashed, refused) = round(&table, true, Duration::from_micros(1), job + 2).await;
        assert!(hashed <= 1, "{hashed} junk records hashed");
        assert_eq!(refused + hashed, (JUNK * PER_MINER) as u64);
        tight.push(ms);
        tight_refused.push(refused as f64);
    }
    eprintln!(
        "verification budget load: {bits}-bit table, 1 verify thread, {ENROLLED} enrolled boxes and \
         {JUNK} fresh identities, {PER_MINER} records each, {rounds} rounds (medians)\n\
         | case | all enrolled records answered (ms after they were handed in) | junk records refused over_budget |\n\
         |---|---|---|\n\
         | baseline: the farm alone | {:.2} | - |\n\
         | 200 fresh identities' junk queued first, 20 s window | {:.2} | 0 |\n\
         | the same, a budget with no room for unknown identities | {:.2} | {:.0} |",
        median(base),
        median(with_junk),
        median(tight),
        median(tight_refused)
    );
}
