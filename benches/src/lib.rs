//! Criterion benchmarks of netmine's hash kernels live in `benches/`; run them with
//! `cargo bench -p netmine-benches`. This library only hosts the shared setup.

use hashcore::{Table, TableOptions};
use std::sync::Arc;

/// Table sizes to benchmark: `NETMINE_BENCH_BITS` (comma-separated), default `20,25,30`.
pub fn bench_bits() -> Vec<u32> {
    std::env::var("NETMINE_BENCH_BITS")
        .unwrap_or_else(|_| "20,25,30".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

/// The table of `bits` bits from the usual cache (~/.lxrhash), built there if missing.
pub fn table(bits: u32) -> Arc<Table> {
    match hashcore::load_or_build(&TableOptions {
        bits,
        dir: None,
        progress: netmine_cli::progress_bar(bits),
    }) {
        Ok((t, _)) => t,
        Err(e) => panic!("cannot get the {bits}-bit table: {e}"),
    }
}
