//! `netminer check-config --config FILE`: load and validate a miner config, print the effective
//! settings (the secret as `***`) and exit 1 listing every problem. Loads no table and connects
//! to nothing.

use crate::cli::CheckConfigArgs;
use crate::mine_cmd::load;
use anyhow::Result;
use netmine_link::CoordinatorAddr;
use netminer::config::MinerFile;
use secrecy::ExposeSecret;

/// Every problem of a miner config (empty when the miner can start with it).
pub fn problems(file: &MinerFile) -> Vec<String> {
    let mut out = Vec::new();
    if file.caddr.is_empty() {
        out.push("caddr: no coordinator address (e.g. caddr = [\"coordinator.lan:1234\"])".into());
    }
    for a in &file.caddr {
        if let Err(e) = CoordinatorAddr::parse(a) {
            out.push(format!("caddr: {e}"));
        }
    }
    match &file.identity {
        None => out.push("identity: missing (every box needs its own)".into()),
        Some(id) if !pegnet::validate::valid_identity(id.as_bytes()) => out.push(format!(
            "identity {id:?}: use ASCII letters, digits and commas only"
        )),
        Some(id) => {
            if let Err(e) = pegnet::record::check_identity_cost(id) {
                out.push(format!("identity: {e}"));
            }
        }
    }
    match &file.coinbase {
        None => out.push("coinbase: missing (the FA address that receives the rewards)".into()),
        Some(c) if !pegnet::validate::valid_coinbase(c.as_bytes()) => {
            out.push(format!("coinbase {c:?} is not a valid FA address"))
        }
        Some(_) => {}
    }
    if file
        .secret
        .as_ref()
        .is_none_or(|s| s.expose_secret().is_empty())
    {
        out.push("secret: missing (set it here or in NETMINE_SECRET)".into());
    }
    if file.miners == Some(0) {
        out.push("miners: must be at least 1".into());
    }
    if file.top == Some(0) {
        out.push("top: must be at least 1".into());
    }
    if file
        .stats_interval_secs
        .is_some_and(|s| !(s.is_finite() && s >= 1.0))
    {
        out.push("stats_interval_secs: must be a number of seconds >= 1".into());
    }
    out
}

/// Prints the effective settings and `config ok`, or every problem (and exits non-zero).
pub fn run(args: &CheckConfigArgs) -> Result<()> {
    let mut file = load(&args.config)?;
    if file.secret.is_none() {
        file.secret = std::env::var("NETMINE_SECRET")
            .ok()
            .filter(|s| !s.is_empty())
            .map(Into::into);
    }
    print!(
        "{}",
        toml::to_string_pretty(&file)
            .unwrap_or_else(|e| format!("# the settings cannot be written as TOML: {e}\n"))
    );
    let problems = problems(&file);
    netmine_cli::report_problems(&args.config, &problems)
}
