//! Makes sure the LXRHash table is in the cache (`~/.lxrhash`): loads and checks
//! it, or generates it (7–10 minutes for the 30-bit table on 2 cores) and saves it there.
//!
//! It does what `netminer table` does without building the miner (hashcore and its few
//! dependencies build in about a minute), so CI can start the 30-bit table first and build
//! everything else beside it (see `.ci/run`):
//!
//! ```sh
//! cargo run --release -p hashcore --example table        # the network's 30-bit table
//! cargo run --release -p hashcore --example table -- 20  # a small one, for trying things
//! ```
//!
//! Exits 0 once the table is checked and saved in the cache, 1 (saying why) when it cannot be: a
//! table only in memory would leave the next program to generate it again.

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

fn main() -> ExitCode {
    let bits = match std::env::args().nth(1).map(|a| a.parse::<u32>()) {
        None => None,
        Some(Ok(bits)) => Some(bits),
        Some(Err(_)) => {
            eprintln!("usage: table [BITS]   (BITS: the table size in bits, 8 to 30; default 30)");
            return ExitCode::FAILURE;
        }
    };
    // A line at every tenth of the work: a CI log stays short and still shows it moving.
    let reported = Arc::new(AtomicU64::new(0));
    let progress: hashcore::cache::Progress = Arc::new(move |done, total| {
        let tenth = done * 10 / total.max(1);
        if reported.fetch_max(tenth, Ordering::Relaxed) < tenth {
            println!("generating: {}%", tenth * 10);
        }
    });
    match hashcore::cache::open_with_progress(bits, None, Some(progress)) {
        Ok((table, report)) => match &report.save_warning {
            Some(why) => {
                eprintln!("table: generated but not cached: {why}");
                ExitCode::FAILURE
            }
            None => {
                println!(
                    "{}-bit table ready at {} ({:.1} s)",
                    table.bits(),
                    report.path.display(),
                    report.elapsed.as_secs_f64()
                );
                ExitCode::SUCCESS
            }
        },
        Err(e) => {
            eprintln!("table: {e}");
            ExitCode::FAILURE
        }
    }
}
