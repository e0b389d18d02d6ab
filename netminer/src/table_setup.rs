//! Getting the table for a subcommand.

use crate::cli::TableFlags;
use anyhow::{Context, Result};
use hashcore::{Table, TableReport};
use std::sync::Arc;

/// Loads (or builds) the table chosen by the flags.
pub fn load(flags: &TableFlags) -> Result<(Arc<Table>, TableReport)> {
    hashcore::cache::open(flags.bits, flags.table_dir.clone()).context("getting the LXRHash table")
}

/// The huge-page share of the table as a percentage, if known.
pub fn huge_percent(table: &Table) -> Option<f64> {
    table.huge_page_share().map(|s| s.percent())
}
