//! The block engine's report of each block, for operators: after a block is paid, what goes into its
//! [`BlockRecord`] (store) and into the live [`Telemetry`]; when the next block grades it, which
//! winners were ours; and each miner's effective hash rate from the records it handed in.

use crate::payer::{entry_cost, PayReport};
use crate::server::{JobCounts, MinerWork};
use crate::store::{BlockRecord, EntryState, Store, StoreError};
use crate::telemetry::{effective_hashes, Telemetry};
use std::collections::BTreeMap;

/// What the engine knows when a block's payment round is over.
pub(super) struct Finished<'a> {
    /// The block's height.
    pub height: u32,
    /// Its job.
    pub job_id: u64,
    /// Miners connected at minute 9.
    pub miners: usize,
    /// The farm's reported rate at minute 9.
    pub hash_rate: f64,
    /// The job's counters.
    pub counts: &'a JobCounts,
    /// The payment rounds' report.
    pub report: &'a PayReport,
    /// The EC balance after paying.
    pub ec_balance: Option<i64>,
}

/// Builds the block's record from the store's entries (what was really spent and revealed), saves
/// it (pruning records older than `keep_days`), and reports it to the telemetry with the entries
/// paid per miner.
pub(super) fn record_block(
    store: &Store,
    telemetry: &Telemetry,
    f: Finished<'_>,
    keep_days: u32,
) -> Result<BlockRecord, StoreError> {
    let entries = store.entries(f.height)?;
    let mut paid: BTreeMap<String, u64> = BTreeMap::new();
    let mut ec_spent = 0;
    for e in &entries {
        if matches!(
            e.state,
            EntryState::Committed | EntryState::Revealed | EntryState::Lost
        ) {
            ec_spent += entry_cost(&e.entry);
        }
        if e.state == EntryState::Revealed {
            *paid.entry(e.miner.clone()).or_default() += 1;
        }
    }
    let b = BlockRecord {
        height: f.height,
        job_id: Some(f.job_id),
        miners: f.miners,
        hash_rate: f.hash_rate,
        records_received: f.counts.received,
        records_verified: f.counts.verified,
        records_rejected: f
            .counts
            .rejected
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect(),
        entries_paid: f.report.revealed.len(),
        entry_hashes: f.report.revealed.clone(),
        entries_failed: f.report.failed.len(),
        ec_spent,
        ec_balance: f.ec_balance,
        paused: telemetry.take_paused_in_block(),
        ..BlockRecord::new(f.height)
    };
    store.save_block(&b, keep_days)?;
    telemetry.block_finished(&b, &paid.into_iter().collect::<Vec<_>>());
    Ok(b)
}

/// The longest skip reason kept, logged, stored and sent to the miners (bytes): a few texts from
/// outside of at most 200 bytes each fit, and a `skip` message stays far inside a frame.
pub const MAX_SKIP_REASON: usize = 1024;

/// A block's skip reason as it is logged, stored and broadcast: the texts from outside in it are
/// already sanitized where they came in, and the whole is cut to [`MAX_SKIP_REASON`] bytes without
/// control characters, so a `skip` message always fits a frame and the history stays small.
pub(super) fn skip_reason(reason: String) -> String {
    match protocol::text::sanitize_to(&reason, MAX_SKIP_REASON) {
        std::borrow::Cow::Borrowed(_) => reason,
        std::borrow::Cow::Owned(cut) => cut,
    }
}

/// Records a skipped block.
pub(super) fn record_skip(
    store: &Store,
    telemetry: &Telemetry,
    height: u32,
    reason: &str,
    keep_days: u32,
) -> Result<(), StoreError> {
    telemetry.skipped(reason);
    let b = BlockRecord {
        skipped: Some(reason.to_string()),
        paused: telemetry.take_paused_in_block(),
        ..BlockRecord::new(height)
    };
    store.save_block(&b, keep_days)
}

/// Block `height` was graded with `winners` (short hashes, as the next job carries them): marks
/// its record graded, with the winners that are our entries. Nothing to do for a block this
/// coordinator has no record of. Returns how many winners were ours.
pub(super) fn record_grading(
    store: &Store,
    telemetry: &Telemetry,
    height: u32,
    winners: &[String],
    keep_days: u32,
) -> Result<usize, StoreError> {
    let Some(mut b) = store.block(height)? else {
        return Ok(0);
    };
    if b.graded {
        return Ok(b.our_winners.len());
    }
    let ours: Vec<String> = winners
        .iter()
        .filter(|w| !w.is_empty())
        .filter(|w| b.entry_hashes.iter().any(|h| h.starts_with(w.as_str())))
        .cloned()
        .collect();
    b.graded = true;
    b.winners = winners.iter().filter(|w| !w.is_empty()).cloned().collect();
    b.our_winners = ours;
    store.save_block(&b, keep_days)?;
    telemetry.graded(b.our_winners.len());
    Ok(b.our_winners.len())
}

/// Each miner's proof of work for the job: its accepted records' count and the worst of them
/// give the hashes it must have done ([`effective_hashes`]) over `secs` of mining.
pub(super) fn record_effective_rates(telemetry: &Telemetry, work: &[MinerWork], secs: f64) {
    for w in work {
        let Some(worst) = w.accepted.iter().map(|a| a.difficulty).min() else {
            continue;
        };
        let hashes = effective_hashes(w.accepted.len(), worst);
        telemetry.miner_effective(&w.record.identity, hashes, secs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_winners_are_the_winners_among_our_entry_hashes() {
        let dir = std::env::temp_dir().join(format!("netmine-grading-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let store = Store::open(&dir.join("c.db")).unwrap();
        let telemetry = Telemetry::new(4);
        let ours = "aaaaaaaaaaaaaaaa".to_string() + &"1".repeat(48);
        let b = BlockRecord {
            entry_hashes: vec![ours.clone(), "b".repeat(64)],
            entries_paid: 2,
            ..BlockRecord::new(9)
        };
        store.save_block(&b, 0).unwrap();
        let winners = vec![
            "cccccccccccccccc".to_string(),
            "aaaaaaaaaaaaaaaa".to_string(),
            String::new(),
        ];
        assert_eq!(
            record_grading(&store, &telemetry, 9, &winners, 0).unwrap(),
            1
        );
        let got = store.block(9).unwrap().unwrap();
        assert!(got.graded);
        assert_eq!(got.our_winners, vec!["aaaaaaaaaaaaaaaa".to_string()]);
        assert_eq!(got.winners.len(), 2);
        // Grading again counts nothing twice.
        assert_eq!(
            record_grading(&store, &telemetry, 9, &winners, 0).unwrap(),
            1
        );
        assert_eq!(telemetry.take_period().winners, 1);
        // A block we never ran is left alone.
        assert_eq!(
            record_grading(&store, &telemetry, 8, &winners, 0).unwrap(),
            0
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_skip_always_fits_a_frame() {
        // The worst reason: long, every character escaped in JSON.
        let reason = skip_reason("\"\\\u{1b}[31m".repeat(1_000_000));
        assert!(reason.len() <= MAX_SKIP_REASON);
        assert!(!reason.contains('\u{1b}'));
        // Sealing adds a sequence number and a MAC (about 100 bytes) to this.
        let frame = protocol::encode_plain(&protocol::Message::Skip {
            height: u32::MAX,
            reason,
        });
        assert!(
            frame.len() < protocol::MAX_FRAME / 16,
            "{} bytes",
            frame.len()
        );
        // A reason that is fine is kept as it is.
        let fine = "EC balance 3 does not cover 10 entries (10 EC)".to_string();
        assert_eq!(skip_reason(fine.clone()), fine);
    }
}
