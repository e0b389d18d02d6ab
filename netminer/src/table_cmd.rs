//! `netminer table`: build or load the table and describe it.

use crate::cli::TableArgs;
use crate::table_setup;
use anyhow::Result;

pub fn run(args: &TableArgs) -> Result<()> {
    let (table, report) = table_setup::load(&args.table)?;
    println!("path: {}", report.path.display());
    println!("bits: {}", table.bits());
    println!("size: {} bytes", table.len());
    println!("sha256: {}", report.sha256);
    match table_setup::huge_percent(&table) {
        Some(p) => println!("huge pages: {p:.1}%"),
        None => println!("huge pages: unknown"),
    }
    if let Some(w) = &report.save_warning {
        println!("warning: {w}");
    }
    Ok(())
}
