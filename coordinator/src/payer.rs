//! Paying for stored entries: commit, then reveal, recording each confirmed step. Safe to run again
//! at any time (after a crash, a node outage, or for the rest of a block): entries already revealed
//! are skipped, and a commit factomd already holds comes back as "reveal only". Entries are paid
//! concurrently, so a block's payments take a few round trips whatever their number.

use crate::store::{EntryState, Store, StoreError, StoredEntry};
use factom::{compose, CommitOutcome, EcSecret, Entry, FactomdClient};

/// What one payment round did.
#[derive(Debug, Default)]
pub struct PayReport {
    /// Entries revealed in this round (hex hashes).
    pub revealed: Vec<String>,
    /// Entries whose commit factomd already held (re-sent after a crash or a lost answer).
    pub already_committed: usize,
    /// Entries that could not be paid now, with the error (they stay in the store).
    pub failed: Vec<(String, String)>,
    /// Entries not paid because their block was already over (they could never land).
    pub expired: usize,
}

/// Payment failures that stop the round.
#[derive(Debug, thiserror::Error)]
pub enum PayError {
    /// The store failed: stop before any money moves without a record of it.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

enum Outcome {
    Revealed { already_committed: bool },
    Failed(String),
}

/// Pays for every unfinished entry of `height`.
pub async fn pay(
    client: &FactomdClient,
    store: &Store,
    key: &EcSecret,
    height: u32,
) -> Result<PayReport, PayError> {
    let mut report = PayReport::default();
    let todo: Vec<StoredEntry> = store
        .entries(height)?
        .into_iter()
        .filter(|e| matches!(e.state, EntryState::Accepted | EntryState::Committed))
        .collect();
    if todo.is_empty() {
        return Ok(report);
    }
    // Never pay for entries that can no longer land: their content names their block. Entries
    // already committed are revealed anyway (their credits are spent either way).
    let block_over = match client.current_minute_once().await {
        Ok(cm) => cm.directoryblockheight + 1 != height as i64,
        Err(_) => false, // the commits below will report the node's trouble
    };
    let mut payable = Vec::with_capacity(todo.len());
    for e in &todo {
        if block_over && e.state == EntryState::Accepted {
            store.set_state(&e.entry_hash, EntryState::Expired)?;
            report.expired += 1;
        } else {
            payable.push(e);
        }
    }
    let todo = payable;
    let outcomes =
        futures_util::future::join_all(todo.iter().map(|e| pay_one(client, store, key, e))).await;
    for (e, outcome) in todo.iter().zip(outcomes) {
        let hex_hash = hex::encode(e.entry_hash);
        match outcome? {
            Outcome::Revealed { already_committed } => {
                report.already_committed += already_committed as usize;
                report.revealed.push(hex_hash);
            }
            Outcome::Failed(why) => report.failed.push((hex_hash, why)),
        }
    }
    Ok(report)
}

async fn pay_one(
    client: &FactomdClient,
    store: &Store,
    key: &EcSecret,
    e: &StoredEntry,
) -> Result<Outcome, StoreError> {
    let composed = match Entry::unmarshal(&e.entry).and_then(|entry| compose(&entry, key, now_ms()))
    {
        Ok(c) if c.entry_hash == e.entry_hash => c,
        Ok(_) => {
            return Ok(Outcome::Failed(
                "stored entry does not match its hash".into(),
            ))
        }
        Err(err) => return Ok(Outcome::Failed(err.to_string())),
    };
    let mut already_committed = false;
    if e.state == EntryState::Accepted {
        match client.commit_entry(&composed.commit).await {
            Ok(outcome) => {
                already_committed = outcome == CommitOutcome::AlreadyCommitted;
                store.set_state(&e.entry_hash, EntryState::Committed)?;
            }
            Err(err) => return Ok(Outcome::Failed(err.to_string())),
        }
    }
    match client.reveal_entry(&composed.reveal).await {
        Ok(_) => {
            store.set_state(&e.entry_hash, EntryState::Revealed)?;
            Ok(Outcome::Revealed { already_committed })
        }
        Err(err) => Ok(Outcome::Failed(err.to_string())),
    }
}
