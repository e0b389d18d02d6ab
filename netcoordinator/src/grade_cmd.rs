//! `netcoordinator grade`: grade a block file and print the result as JSON.

use anyhow::{Context, Result};
use netmine_cli::TableFlags;
use pegnet::block_file;
use pegnet::{Grader, Network};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `netcoordinator grade`: which block file to grade, with which version and table.
#[derive(Debug, clap::Args)]
pub struct GradeArgs {
    /// The block file (the shape of `testdata/pegnet/block-*.json`).
    pub block: PathBuf,
    /// Grade with this version's algorithm (validation stays that of the block's height).
    #[arg(long, value_name = "V")]
    pub version: Option<u8>,
    /// Network whose activation heights decide the version.
    #[arg(long, default_value = "mainnet")]
    pub network: Network,
    #[command(flatten)]
    pub table: TableFlags,
}

#[derive(Serialize)]
struct Out {
    height: u32,
    version: u8,
    valid: usize,
    graded: Vec<OutRecord>,
    winners: Vec<String>,
}

#[derive(Serialize)]
struct OutRecord {
    shorthash: String,
    difficulty: String,
    grade: f64,
}

pub fn run(args: &GradeArgs) -> Result<()> {
    let block = block_file::read(&args.block)?;
    let version = args.network.version(block.height);
    let mut grader = Grader::new(version, block.height, &block.previous_winners)
        .with_context(|| format!("block {}", block.height))?;
    if let Some(v) = args.version {
        grader = grader.with_algorithm(v)?;
    }
    let (table, _) = args.table.open()?;
    let started = Instant::now();
    for (k, e) in block.entries.iter().enumerate() {
        if let Err(why) = grader.add(&e.hash, &e.ext_ids, &e.content) {
            tracing::debug!(entry = k, hash = %hex::encode(&e.hash), "invalid: {why}");
        }
    }
    let graded = grader.grade(table.as_ref());
    tracing::info!(
        entries = block.entries.len(),
        valid = graded.valid,
        ms = format!("{:.1}", started.elapsed().as_secs_f64() * 1e3),
        "graded block {}",
        block.height
    );
    let out = Out {
        height: graded.height,
        version: graded.version,
        valid: graded.valid,
        graded: graded
            .graded
            .iter()
            .map(|r| OutRecord {
                shorthash: r.short_hash(),
                difficulty: format!("{:016x}", r.srd),
                grade: r.grade,
            })
            .collect(),
        winners: graded.winners.clone(),
    };
    println!("{}", serde_json::to_string(&out)?);
    Ok(())
}
