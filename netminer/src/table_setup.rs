//! Getting the table for a subcommand: resolve the size, load or build it, log what happened.

use crate::cli::TableFlags;
use anyhow::{Context, Result};
use hashcore::{Table, TableOptions, TableOrigin, TableReport};
use std::io::IsTerminal;
use std::sync::Arc;

/// Loads (or builds) the table chosen by the flags.
pub fn load(flags: &TableFlags) -> Result<(Arc<Table>, TableReport)> {
    let bits = hashcore::params::resolve_bits(flags.bits)?;
    if bits != hashcore::params::DEFAULT_BITS {
        tracing::warn!(
            bits,
            "using a {bits}-bit LXRHash table: fine for tests, but the network only accepts records hashed with the 30-bit table"
        );
    }
    let opts = TableOptions {
        bits,
        dir: flags.table_dir.clone(),
        progress: std::io::stderr().is_terminal(),
    };
    let (table, report) = hashcore::load_or_build(&opts)
        .with_context(|| format!("getting the {bits}-bit LXRHash table"))?;
    let origin = match &report.origin {
        TableOrigin::Loaded => "loaded".to_string(),
        TableOrigin::Generated => "generated".to_string(),
        TableOrigin::Rebuilt(why) => format!("rebuilt ({why})"),
    };
    tracing::info!(
        path = %report.path.display(),
        seconds = format!("{:.1}", report.elapsed.as_secs_f64()),
        "LXRHash table {origin}"
    );
    match table.huge_page_share() {
        Some(s) if table.len() >= 2 << 20 => tracing::info!(
            "huge pages: {:.1}% of the table ({} of {} MiB)",
            s.percent(),
            s.huge_bytes >> 20,
            s.total_bytes >> 20
        ),
        _ => {}
    }
    Ok((table, report))
}

/// The huge-page share of the table as a percentage, if known.
pub fn huge_percent(table: &Table) -> Option<f64> {
    table.huge_page_share().map(|s| s.percent())
}
