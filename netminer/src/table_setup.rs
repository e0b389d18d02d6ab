//! Getting the table for a subcommand.

use anyhow::Result;
use hashcore::{Table, TableReport};
use netmine_cli::TableFlags;
use netmine_link::LinkConfig;
use std::sync::Arc;

/// Loads (or builds) the table chosen by the flags.
pub fn load(flags: &TableFlags) -> Result<(Arc<Table>, TableReport)> {
    flags.open()
}

/// The huge-page share of the table as a percentage, if known.
pub fn huge_percent(table: &Table) -> Option<f64> {
    table.huge_page_share().map(|s| s.percent())
}

/// Copies the table the flags name from the coordinators when the cache does not hold it
/// (`--table-source coordinator`, the default). If none serves it, or the copy fails, the table is
/// generated as before (by [`load`]), with a warning saying why.
pub async fn copy_from_coordinator(cfg: &LinkConfig, flags: &TableFlags) -> Result<()> {
    let bits = hashcore::params::resolve_bits(flags.bits)?;
    let Some(dir) = flags
        .table_dir
        .clone()
        .or_else(hashcore::cache::default_dir)
    else {
        return Ok(());
    };
    let dest = dir.join(hashcore::cache::file_name(bits));
    if std::fs::metadata(&dest).is_ok_and(|m| m.len() == 1u64 << bits) {
        // The table is here: only make sure it is the size the coordinator mines with.
        return netmine_link::table_fetch::check_size(cfg, bits)
            .await
            .map_err(anyhow::Error::from);
    }
    tracing::info!(
        "no {bits}-bit table in {}: copying it from the coordinator",
        dir.display()
    );
    match netmine_link::table_fetch::fetch(cfg, bits, &dest).await {
        Ok(Some(f)) => {
            let mib = f.received as f64 / (1 << 20) as f64;
            let secs = f.elapsed.as_secs_f64();
            tracing::info!(
                coordinator = %f.from,
                "table copied: {mib:.0} MiB in {secs:.1} s ({:.0} MiB/s)",
                mib / secs.max(1e-9)
            );
        }
        Ok(None) => {}
        Err(e @ netmine_link::table_fetch::FetchError::WrongSize { .. }) => return Err(e.into()),
        Err(e) => tracing::warn!("{e}; generating the table here instead"),
    }
    Ok(())
}
