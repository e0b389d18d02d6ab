//! Paying for stored entries: commit, then reveal, recording each confirmed step. Safe to run again
//! at any time (after a crash, a node outage, or for the rest of a block): entries already revealed
//! are skipped, and a commit factomd already holds comes back as "reveal only".

use crate::store::{EntryState, Store, StoreError};
use factom::{compose, ClientError, CommitOutcome, EcSecret, Entry, FactomdClient};

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

/// Pays for every unfinished entry of `height`.
pub async fn pay(
    client: &FactomdClient,
    store: &Store,
    key: &EcSecret,
    height: u32,
) -> Result<PayReport, PayError> {
    let mut report = PayReport::default();
    for e in store.entries(height)? {
        let hex_hash = hex::encode(e.entry_hash);
        if matches!(e.state, EntryState::Revealed | EntryState::Expired) {
            continue;
        }
        let composed =
            match Entry::unmarshal(&e.entry).and_then(|entry| compose(&entry, key, now_ms())) {
                Ok(c) if c.entry_hash == e.entry_hash => c,
                Ok(_) => {
                    report
                        .failed
                        .push((hex_hash, "stored entry does not match its hash".into()));
                    continue;
                }
                Err(err) => {
                    report.failed.push((hex_hash, err.to_string()));
                    continue;
                }
            };
        if e.state == EntryState::Accepted {
            // Never pay for an entry that can no longer land: its content names its block.
            if let Ok(cm) = client.current_minute_once().await {
                if cm.directoryblockheight + 1 != height as i64 {
                    store.set_state(&e.entry_hash, EntryState::Expired)?;
                    report.expired += 1;
                    continue;
                }
            }
            match client.commit_entry(&composed.commit).await {
                Ok(outcome) => {
                    if outcome == CommitOutcome::AlreadyCommitted {
                        report.already_committed += 1;
                    }
                    store.set_state(&e.entry_hash, EntryState::Committed)?;
                }
                Err(err) => {
                    report.failed.push((hex_hash, describe(&err)));
                    continue;
                }
            }
        }
        match client.reveal_entry(&composed.reveal).await {
            Ok(_) => {
                store.set_state(&e.entry_hash, EntryState::Revealed)?;
                report.revealed.push(hex_hash);
            }
            Err(err) => report.failed.push((hex_hash, describe(&err))),
        }
    }
    Ok(report)
}

fn describe(e: &ClientError) -> String {
    e.to_string()
}
