//! `netminer bench`: hash rate per thread and in total, the checksum, and optionally the machine's
//! random-read ceiling.

use crate::cli::BenchArgs;
use crate::table_setup;
use anyhow::{bail, Result};
use hashcore::bench::{self, bench_prefix, checksum, checksum_nonces};
use hashcore::Job;
use serde::Serialize;
use std::time::{Duration, Instant};

#[derive(Serialize)]
struct Report {
    backend: String,
    bits: u32,
    threads: usize,
    seconds: f64,
    hashes: u64,
    hashes_per_sec: f64,
    per_thread: Vec<f64>,
    workers: Vec<String>,
    input_len: usize,
    checksum: String,
    huge_pages_percent: Option<f64>,
    rss_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ceiling: Option<Ceiling>,
}

#[derive(Serialize)]
struct Ceiling {
    reads_per_sec: f64,
    reads_per_hash: u64,
    hashes_per_sec: f64,
    ratio: f64,
}

const WARMUP: Duration = Duration::from_millis(500);

pub fn run(args: &BenchArgs) -> Result<()> {
    if !(args.seconds.is_finite() && args.seconds > 0.0 && args.seconds <= 86_400.0) {
        bail!(
            "--seconds must be a positive number of seconds (at most a day), not {}",
            args.seconds
        );
    }
    let threads = match args.threads {
        Some(0) => bail!("--threads must be at least 1"),
        Some(t) => t,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let (table, _) = table_setup::load(&args.table)?;
    let backend = crate::backends::start(&table, &args.backend, &Default::default(), threads)?;

    let prefix = bench_prefix();
    let sum = checksum(&backend.hash_nonces(&prefix, &checksum_nonces()));

    // min_difficulty = MAX: nothing is ranked, only hashed.
    backend.set_job(Some(Job {
        id: 1,
        prefix: prefix.to_vec(),
        min_difficulty: u64::MAX,
        keep: 0,
    }));
    std::thread::sleep(WARMUP);
    let before = backend.hash_counts();
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(args.seconds));
    let after = backend.hash_counts();
    let elapsed = started.elapsed().as_secs_f64();
    backend.set_job(None);
    let rss_bytes = rss_bytes();
    // Measured while paused, on the same memory the hashing used (host RAM or device memory).
    let ceiling_reads = if args.ceiling {
        backend.random_read_ceiling(args.seconds)
    } else {
        None
    };
    let backend_name = backend.name().to_string();
    let workers = backend.worker_labels();
    drop(backend);

    let per_thread: Vec<f64> = after
        .iter()
        .zip(&before)
        .map(|(a, b)| (a - b) as f64 / elapsed)
        .collect();
    let hashes: u64 = after.iter().zip(&before).map(|(a, b)| a - b).sum();
    let hashes_per_sec = hashes as f64 / elapsed;
    // Each worker's counter reached about after[k]; its nonces are now 1 + that many bytes long.
    let max_counter = after.iter().copied().max().unwrap_or(1);
    let input_len = prefix.len() + hashcore::Nonce::new(0, max_counter.max(1)).len();

    let ceiling = ceiling_reads.map(|reads_per_sec| {
        let reads_per_hash = bench::reads_per_hash(input_len);
        let ceiling_hps = reads_per_sec / reads_per_hash as f64;
        Ceiling {
            reads_per_sec,
            reads_per_hash,
            hashes_per_sec: ceiling_hps,
            ratio: hashes_per_sec / ceiling_hps,
        }
    });

    let report = Report {
        backend: backend_name,
        workers,
        bits: table.bits(),
        threads,
        seconds: elapsed,
        hashes,
        hashes_per_sec,
        per_thread,
        input_len,
        checksum: sum,
        huge_pages_percent: table_setup::huge_percent(&table),
        rss_bytes,
        ceiling,
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_text(&report);
    }
    Ok(())
}

fn print_text(r: &Report) {
    println!(
        "backend {}  table {} bits  threads {}  input {} bytes",
        r.backend, r.bits, r.threads, r.input_len
    );
    println!(
        "hash rate: {:.0} hashes/s over {:.1} s ({} hashes)",
        r.hashes_per_sec, r.seconds, r.hashes
    );
    for (label, rate) in r.workers.iter().zip(&r.per_thread) {
        println!("  {label}: {rate:.0} hashes/s");
    }
    if let Some(c) = &r.ceiling {
        println!(
            "random-read ceiling: {:.0} reads/s = {:.0} hashes/s at {} reads/hash; hash rate is {:.2} of it",
            c.reads_per_sec, c.hashes_per_sec, c.reads_per_hash, c.ratio
        );
    }
    if let Some(p) = r.huge_pages_percent {
        println!("huge pages: {p:.1}% of the table");
    }
    if let Some(rss) = r.rss_bytes {
        println!("resident memory: {} MiB", rss >> 20);
    }
    println!("checksum: {}", r.checksum);
}

/// Resident set size of this process, from /proc (Linux).
fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
