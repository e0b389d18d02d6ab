//! `netmine-load verify`: minute 9's verification alone, the old way and the new way side by side
//! in one run. The records are what the hub verifies at minute 9: each miner's record rebuilt
//! from the job with its own identity and coinbase (its OPR hash), `records` nonces each, hashed
//! on a rayon pool of `threads` (the coordinator's verification pool):
//!
//! * `one at a time`: each record's LXRHash alone ([`Table::hash`] through `pegnet::Pow`, what
//!   the coordinator did before 2026-12-03);
//! * `batched`: records taken in the queue's order (every miner's first record, then every
//!   miner's second, …) [`RecordHasher::LANES`] at a time, one per identity, hashed together by
//!   [`RecordHasher`] (what the coordinator's pool does now).
//!
//! The two alternate, `rounds` times each; both must agree on every difficulty.

use crate::{template, COINBASES};
use anyhow::{bail, Result};
use coordinator::verify::MinerRecord;
use hashcore::{RecordHasher, Table};
use pegnet::Pow;
use rayon::prelude::*;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// What to measure.
#[derive(Debug, Clone, clap::Args)]
pub struct VerifyArgs {
    /// Table size in bits (30 is the network's).
    #[arg(long, default_value_t = 30)]
    pub bits: u32,
    /// Table cache directory (default ~/.lxrhash).
    #[arg(long, value_name = "DIR")]
    pub table_dir: Option<PathBuf>,
    /// Miners whose records are verified.
    #[arg(long, default_value_t = 1000)]
    pub miners: usize,
    /// Records per miner.
    #[arg(long, default_value_t = 3)]
    pub records: usize,
    /// Rounds of each path (alternating); the figures are medians.
    #[arg(long, default_value_t = 7)]
    pub rounds: usize,
    /// Verification threads (0: one per CPU, the coordinator's default).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

/// One record to verify: its miner's OPR hash and its nonce.
struct Rec {
    opr_hash: [u8; 32],
    nonce: Vec<u8>,
}

pub fn run(a: VerifyArgs) -> Result<()> {
    let (table, _) = hashcore::cache::open(Some(a.bits), a.table_dir.clone())?;
    let threads = match a.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    // In the queue's order: round r holds every miner's record r.
    let job = template();
    let mut miners = Vec::with_capacity(a.miners);
    for m in 0..a.miners {
        let id = format!("load{m:05}");
        miners.push(MinerRecord::new(&job, 1, &id, COINBASES[m % 2])?.opr_hash);
    }
    let mut recs = Vec::with_capacity(a.miners * a.records);
    for r in 0..a.records {
        for (m, h) in miners.iter().enumerate() {
            let mut nonce = vec![0u8; 9];
            nonce[1..5].copy_from_slice(&(m as u32).to_be_bytes());
            nonce[5..].copy_from_slice(&(r as u32).to_be_bytes());
            recs.push(Rec {
                opr_hash: *h,
                nonce,
            });
        }
    }
    let (mut old, mut new) = (Vec::new(), Vec::new());
    let mut first: Option<Vec<u64>> = None;
    for _ in 0..a.rounds.max(1) {
        let t = Instant::now();
        let d_old = pool.install(|| one_at_a_time(&table, &recs));
        old.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let d_new = pool.install(|| batched(&table, &recs));
        new.push(t.elapsed().as_secs_f64());
        if d_old != d_new {
            bail!("the batched hasher disagrees with the reference");
        }
        match &first {
            Some(f) if *f != d_new => bail!("a round's difficulties differ from the first's"),
            Some(_) => {}
            None => first = Some(d_new),
        }
    }
    let n = recs.len();
    let (mo, mn) = (
        crate::report::median(old.clone()),
        crate::report::median(new.clone()),
    );
    let ms = |v: &[f64]| {
        v.iter()
            .map(|s| format!("{:.0}", s * 1e3))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "netmine-load verify: {}-bit table, {} records ({} miners × {}), {threads} threads, {} rounds each (medians), {} CPUs",
        a.bits,
        n,
        a.miners,
        a.records,
        a.rounds.max(1),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "command: netmine-load {}",
        std::env::args().skip(1).collect::<Vec<_>>().join(" ")
    );
    println!();
    println!("| path | median (ms) | records/s | µs a record per thread | rounds (ms) |");
    println!("|---|---|---|---|---|");
    for (name, m, v) in [("one at a time", mo, &old), ("batched", mn, &new)] {
        println!(
            "| {name} | {:.0} | {:.0} | {:.1} | {} |",
            m * 1e3,
            n as f64 / m,
            m * threads as f64 / n as f64 * 1e6,
            ms(v)
        );
    }
    println!();
    println!(
        "batched / one at a time: {:.3} of the time ({:.1}× faster); all {n} difficulties agree",
        mn / mo,
        mo / mn
    );
    Ok(())
}

/// Each record's LXRHash alone, one pool task a record.
fn one_at_a_time(table: &Arc<Table>, recs: &[Rec]) -> Vec<u64> {
    recs.par_iter()
        .with_max_len(1)
        .map(|r| table.difficulty(&r.opr_hash, &r.nonce))
        .collect()
}

/// [`RecordHasher::LANES`] records at a time, one pool task a batch.
fn batched(table: &Arc<Table>, recs: &[Rec]) -> Vec<u64> {
    let mut out = vec![0u64; recs.len()];
    out.par_chunks_mut(RecordHasher::LANES)
        .zip(recs.par_chunks(RecordHasher::LANES))
        .with_max_len(1)
        .for_each_init(
            || RecordHasher::new(table.clone()),
            |h, (out, recs)| {
                let inputs: Vec<(&[u8], &[u8])> = recs
                    .iter()
                    .map(|r| (&r.opr_hash[..], &r.nonce[..]))
                    .collect();
                h.difficulties(&inputs, out);
            },
        );
    out
}
