//! Getting the table for a subcommand.

use anyhow::Result;
use hashcore::{Table, TableReport};
use netmine_cli::TableFlags;
use std::sync::Arc;

/// Loads (or builds) the table chosen by the flags.
pub fn load(flags: &TableFlags) -> Result<(Arc<Table>, TableReport)> {
    flags.open()
}

/// The huge-page share of the table as a percentage, if known.
pub fn huge_percent(table: &Table) -> Option<f64> {
    table.huge_page_share().map(|s| s.percent())
}
