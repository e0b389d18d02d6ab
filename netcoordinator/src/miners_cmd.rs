//! `netcoordinator miners list|add|remove`: the farm's roster (which box key is which identity),
//! kept in the coordinator's store; and `miners pause|resume|restart`, remote control of running
//! miners through the HTTP API (`control_cmd.rs`). It works on the data dir directly; a running coordinator
//! (or relay) on that data dir notices the change within seconds, and a revoked identity's session
//! ends at once while every other box keeps mining. The same operations are in the HTTP API
//! (`/api/roster`), for a coordinator on another box.

use anyhow::{bail, Context, Result};
use coordinator::config::CoordinatorConfig;
use coordinator::store::{Origin, Store};
use std::path::PathBuf;

/// Arguments of `netcoordinator miners`.
#[derive(Debug, clap::Args)]
pub struct MinersArgs {
    /// The coordinator's config, for its data_dir.
    #[arg(long, value_name = "FILE", global = true)]
    config: Option<PathBuf>,
    /// The data dir holding the store (default: the config's, else ~/.netmine). For a relay's
    /// roster of its own miners, its data dir with --relay-store.
    #[arg(long, value_name = "DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// Work on a relay's store (relay.db) instead of a coordinator's (coordinator.db).
    #[arg(long, global = true)]
    relay_store: bool,
    #[command(subcommand)]
    command: MinersCommand,
}

/// What to do with the roster.
#[derive(Debug, clap::Subcommand)]
enum MinersCommand {
    /// List every identity of the roster: its key (or relay), allowed coinbases, where the entry
    /// came from (first-use or operator), when, and whether it is revoked.
    List {
        /// One JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Add (or replace) an identity: the box key `netminer key` printed on that box, or the relay
    /// it comes through. Replacing a revoked identity lets it in again.
    Add {
        /// The identity (what the box's records carry).
        identity: String,
        /// The box's public key, ed25519:<64 hex digits> (not with --relay).
        key: Option<String>,
        /// The identity comes through this relay (its key is checked by the relay).
        #[arg(long, value_name = "NAME", conflicts_with = "key")]
        relay: Option<String>,
        /// A coinbase (FA address) this identity may be paid to; repeat for several. None: any.
        #[arg(long, value_name = "FA")]
        coinbase: Vec<String>,
        /// Who adds it, for the record (default: the user running this).
        #[arg(long, value_name = "TEXT")]
        by: Option<String>,
    },
    /// Revoke identities: they may not log in (nor be pinned again at first use) until added
    /// again; their sessions on a running coordinator end within seconds.
    Remove {
        /// The identities.
        #[arg(required = true)]
        identities: Vec<String>,
    },
    /// Pause running miners (remote control through the coordinator's HTTP API, with its token;
    /// the miners need protocol 3): they stay connected and hash nothing until resumed.
    Pause(crate::control_cmd::ControlArgs),
    /// Resume paused miners.
    Resume(crate::control_cmd::ControlArgs),
    /// Restart running miners' hashing backends (a hung GPU).
    Restart(crate::control_cmd::ControlArgs),
}

fn who(by: Option<String>) -> String {
    by.unwrap_or_else(|| {
        let user = std::env::var("USER").unwrap_or_else(|_| "operator".into());
        format!("{user} (netcoordinator miners)")
    })
}

/// Runs `netcoordinator miners …`.
pub fn run(a: MinersArgs) -> Result<()> {
    let config = a.config.as_deref();
    let (action, c) = match a.command {
        MinersCommand::Pause(c) => ("pause", c),
        MinersCommand::Resume(c) => ("resume", c),
        MinersCommand::Restart(c) => ("restart", c),
        command => return roster(a.config.as_deref(), a.data_dir, a.relay_store, command),
    };
    crate::control_cmd::run(config, action, c)
}

/// The roster's commands, on the store in the data dir.
fn roster(
    config: Option<&std::path::Path>,
    data_dir: Option<PathBuf>,
    relay_store: bool,
    command: MinersCommand,
) -> Result<()> {
    let cfg = CoordinatorConfig::load_or_default(config)?;
    let dir = match data_dir {
        Some(d) => d,
        None => cfg.data_dir()?,
    };
    let file = dir.join(if relay_store {
        "relay.db"
    } else {
        "coordinator.db"
    });
    if !file.exists() {
        bail!(
            "no store at {}: give the coordinator's --data-dir (or --config), as the user it runs as",
            file.display()
        );
    }
    let store = Store::open(&file)?;
    match command {
        MinersCommand::List { json } => list(&store, json),
        MinersCommand::Add {
            identity,
            key,
            relay,
            coinbase,
            by,
        } => {
            let entry = coordinator::roster::operator_entry(
                &identity,
                key.as_deref(),
                relay.as_deref(),
                coinbase,
                &who(by),
            )?;
            store.roster_put(&entry)?;
            println!(
                "{} added{}",
                entry.identity,
                entry
                    .key
                    .map(|k| format!(" with key {k}"))
                    .or(entry.relay.map(|r| format!(" behind relay {r}")))
                    .unwrap_or_default()
            );
            Ok(())
        }
        MinersCommand::Remove { identities } => {
            let now = coordinator::telemetry::unix_now();
            let by = who(None);
            for id in identities {
                match store.roster_revoke(&id, &by, now)? {
                    true => println!("{id} revoked"),
                    false => println!("{id} was revoked already"),
                }
            }
            Ok(())
        }
        MinersCommand::Pause(c) => crate::control_cmd::run(config, "pause", c),
        MinersCommand::Resume(c) => crate::control_cmd::run(config, "resume", c),
        MinersCommand::Restart(c) => crate::control_cmd::run(config, "restart", c),
    }
}

fn list(store: &Store, json: bool) -> Result<()> {
    let entries = store.roster().context("reading the roster")?;
    if json {
        println!("{}", serde_json::to_string_pretty(&entries)?);
        return Ok(());
    }
    if entries.is_empty() {
        println!("the roster is empty (in first-use mode each identity's first key is pinned when it logs in)");
        return Ok(());
    }
    println!(
        "{:<20} {:<10} {:<74} {:<10} COINBASES",
        "IDENTITY", "STATE", "KEY / RELAY", "ORIGIN"
    );
    for e in entries {
        let state = if e.revoked { "revoked" } else { "active" };
        let who = match (&e.key, &e.relay) {
            (Some(k), _) => k.to_string(),
            (None, Some(r)) => format!("via relay {r}"),
            (None, None) => "-".into(),
        };
        let origin = match e.origin {
            Origin::FirstUse => "first-use",
            Origin::Operator => "operator",
        };
        let coinbases = if e.coinbases.is_empty() {
            "any".to_string()
        } else {
            e.coinbases.join(",")
        };
        println!(
            "{:<20} {:<10} {:<74} {:<10} {}",
            protocol::text::sanitize(&e.identity),
            state,
            who,
            origin,
            coinbases
        );
    }
    Ok(())
}
