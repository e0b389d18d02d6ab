//! Paying for stored entries: commit, then reveal, recording each confirmed step. Safe to run again
//! at any time (after a crash, a node outage, or for the rest of a block): entries already revealed
//! are skipped, and a commit factomd already holds comes back as "reveal only". Entries are paid
//! concurrently, so a block's payments take a few round trips whatever their number.
//!
//! [`pay`] is one round; [`pay_block`] retries the round (with backoff) until every entry is
//! revealed or the block is over, then counts what was committed but never revealed as credits
//! lost. Both spend at most the block's cap: the real cost of every entry of the block already
//! committed (from the store) plus the ones about to be committed.

use crate::store::{EntryState, Store, StoreError, StoredEntry};
use factom::{compose, CommitOutcome, EcSecret, Entry, FactomdClient};
use std::time::{Duration, Instant};

/// What one payment round (or all of a block's rounds) did.
#[derive(Debug, Default)]
pub struct PayReport {
    /// Entries revealed (hex hashes).
    pub revealed: Vec<String>,
    /// Entries whose commit factomd already held (re-sent after a crash or a lost answer).
    pub already_committed: usize,
    /// Entries that could not be paid in the last round, with the error (they stay in the store).
    pub failed: Vec<(String, String)>,
    /// Entries not paid because their block was already over (they could never land).
    pub expired: usize,
    /// Entries not paid because the block's spending cap was reached.
    pub over_cap: usize,
    /// Entry credits spent on commits whose reveal never went through before the block ended.
    pub credits_lost: u64,
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

/// How paying for one entry ended this round.
enum EntryPayment {
    Revealed { already_committed: bool },
    Failed(String),
}

/// What an entry costs in entry credits (an undecodable one counts as the most an entry can cost).
pub fn entry_cost(marshalled: &[u8]) -> u64 {
    Entry::unmarshal(marshalled)
        .ok()
        .and_then(|e| e.cost().ok())
        .map_or(10, u64::from)
}

/// factomd's `current-minute` answer if the node is building block `height` (`None` if it
/// cannot be asked, or is building another block).
async fn building(client: &FactomdClient, height: u32) -> Option<factom::types::CurrentMinute> {
    let cm = client.current_minute_once().await.ok()?;
    (cm.directoryblockheight + 1 == height as i64).then_some(cm)
}

/// When the block `height` ends, as factomd tells it (`None` if it cannot be asked, or is
/// building another block).
pub async fn block_end(client: &FactomdClient, height: u32) -> Option<Instant> {
    let cm = building(client, height).await?;
    let end_ns = cm
        .currentblockstarttime
        .checked_add(cm.directoryblockinseconds.checked_mul(1_000_000_000)?)?;
    let left = u64::try_from(end_ns.checked_sub(cm.currenttime)?).unwrap_or(0);
    Some(Instant::now() + Duration::from_nanos(left))
}

/// When minute `minute` of block `height` began, as factomd tells it: its answer's `currenttime`
/// less `currentminutestarttime` (both the node's clock, so no clock needs to agree with it),
/// counted back from now and at most a minute back. `None` if the node cannot be asked, is in
/// another minute or block, or does not know (syncing).
pub async fn minute_began(client: &FactomdClient, height: u32, minute: i64) -> Option<Instant> {
    let cm = building(client, height).await?;
    if cm.minute != minute || cm.currentminutestarttime <= 0 {
        return None;
    }
    let minute_ns = cm.directoryblockinseconds.checked_mul(100_000_000)?;
    let ago = cm
        .currenttime
        .checked_sub(cm.currentminutestarttime)?
        .clamp(0, minute_ns);
    Instant::now().checked_sub(Duration::from_nanos(ago as u64))
}

/// One payment round for every unfinished entry of `height`, spending at most `cap_ec` entry
/// credits on the block (counting what its entries already spent).
pub async fn pay(
    client: &FactomdClient,
    store: &Store,
    key: &EcSecret,
    height: u32,
    cap_ec: u64,
) -> Result<PayReport, PayError> {
    let mut report = PayReport::default();
    let all = store.call(move |s| s.entries(height)).await?;
    let mut spent: u64 = all
        .iter()
        .filter(|e| {
            matches!(
                e.state,
                EntryState::Committed | EntryState::Revealed | EntryState::Lost
            )
        })
        .map(|e| entry_cost(&e.entry))
        .sum();
    let todo: Vec<StoredEntry> = all
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
    let mut drop_now = Vec::new();
    // Best difficulty first (the store's order): the cap keeps the best.
    for e in todo {
        if e.state == EntryState::Accepted {
            let cost = entry_cost(&e.entry);
            if block_over {
                report.expired += 1;
                drop_now.push(e.entry_hash);
                continue;
            }
            if spent + cost > cap_ec {
                tracing::warn!(
                    height,
                    entry = %hex::encode(e.entry_hash),
                    "not paying: the block's entries already cost {spent} of its {cap_ec} EC"
                );
                report.over_cap += 1;
                drop_now.push(e.entry_hash);
                continue;
            }
            spent += cost;
        }
        payable.push(e);
    }
    if !drop_now.is_empty() {
        store
            .call(move |s| {
                drop_now
                    .iter()
                    .try_for_each(|h| s.set_state(h, EntryState::Expired))
            })
            .await?;
    }
    let outcomes =
        futures_util::future::join_all(payable.iter().map(|e| pay_one(client, store, key, e)))
            .await;
    for (e, outcome) in payable.iter().zip(outcomes) {
        let hex_hash = hex::encode(e.entry_hash);
        match outcome? {
            EntryPayment::Revealed { already_committed } => {
                report.already_committed += already_committed as usize;
                report.revealed.push(hex_hash);
            }
            EntryPayment::Failed(why) => report.failed.push((hex_hash, why)),
        }
    }
    Ok(report)
}

/// Pays for the entries of `height` until all are revealed or the block is over (factomd builds
/// another block, or `until` passes), retrying with backoff through node outages. Entries still
/// only committed at the end are marked lost, logged, and their credits counted.
pub async fn pay_block(
    client: &FactomdClient,
    store: &Store,
    key: &EcSecret,
    height: u32,
    cap_ec: u64,
    until: Instant,
) -> Result<PayReport, PayError> {
    let mut report = PayReport::default();
    // What was revealed before this call: the report counts what this call revealed, read back
    // from the store at the end, so that a round cut short at the block's end (whose store
    // writes still finish) is counted too.
    let before: std::collections::HashSet<[u8; 32]> = store
        .call(move |s| s.entries(height))
        .await?
        .into_iter()
        .filter(|e| e.state == EntryState::Revealed)
        .map(|e| e.entry_hash)
        .collect();
    let mut delay = Duration::from_millis(100);
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let Ok(round) = tokio::time::timeout(left, pay(client, store, key, height, cap_ec)).await
        else {
            break; // the block is over in the middle of a round
        };
        let round = round?;
        report.revealed.extend(round.revealed);
        report.already_committed += round.already_committed;
        report.expired += round.expired;
        report.over_cap += round.over_cap;
        report.failed = round.failed;
        if report.failed.is_empty() || round.expired > 0 {
            break;
        }
        tracing::debug!(
            height,
            failed = report.failed.len(),
            "retrying payments in {delay:?}: {}",
            report.failed[0].1
        );
        tokio::time::sleep(delay.min(until.saturating_duration_since(Instant::now()))).await;
        delay = (delay * 2).min(Duration::from_secs(2));
    }
    // Whatever is still unfinished can no longer land in its block.
    let left = store.call(move |s| s.entries(height)).await?;
    report.revealed = left
        .iter()
        .filter(|e| e.state == EntryState::Revealed && !before.contains(&e.entry_hash))
        .map(|e| hex::encode(e.entry_hash))
        .collect();
    let unfinished: Vec<StoredEntry> = left
        .into_iter()
        .filter(|e| matches!(e.state, EntryState::Accepted | EntryState::Committed))
        .collect();
    if !unfinished.is_empty() && (Instant::now() >= until || !report.failed.is_empty()) {
        let mut lost = Vec::new();
        for e in &unfinished {
            if e.state == EntryState::Committed {
                let cost = entry_cost(&e.entry);
                report.credits_lost += cost;
                tracing::error!(
                    height,
                    entry = %hex::encode(e.entry_hash),
                    "committed but never revealed before the block ended: {cost} EC lost"
                );
                lost.push((e.entry_hash, EntryState::Lost));
            } else {
                report.expired += 1;
                lost.push((e.entry_hash, EntryState::Expired));
            }
        }
        store
            .call(move |s| lost.iter().try_for_each(|(h, st)| s.set_state(h, *st)))
            .await?;
    }
    Ok(report)
}

async fn pay_one(
    client: &FactomdClient,
    store: &Store,
    key: &EcSecret,
    e: &StoredEntry,
) -> Result<EntryPayment, StoreError> {
    let composed = match Entry::unmarshal(&e.entry).and_then(|entry| compose(&entry, key, now_ms()))
    {
        Ok(c) if c.entry_hash == e.entry_hash => c,
        Ok(_) => {
            return Ok(EntryPayment::Failed(
                "stored entry does not match its hash".into(),
            ))
        }
        Err(err) => return Ok(EntryPayment::Failed(err.to_string())),
    };
    let hash = e.entry_hash;
    let mut already_committed = false;
    if e.state == EntryState::Accepted {
        match client.commit_entry(&composed.commit).await {
            Ok(outcome) => {
                already_committed = outcome == CommitOutcome::AlreadyCommitted;
                store
                    .call(move |s| s.set_state(&hash, EntryState::Committed))
                    .await?;
            }
            Err(err) => return Ok(EntryPayment::Failed(err.to_string())),
        }
    }
    match client.reveal_entry(&composed.reveal).await {
        Ok(_) => {
            store
                .call(move |s| s.set_state(&hash, EntryState::Revealed))
                .await?;
            Ok(EntryPayment::Revealed { already_committed })
        }
        Err(err) => Ok(EntryPayment::Failed(err.to_string())),
    }
}
