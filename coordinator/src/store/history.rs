//! The per-block history: one [`BlockRecord`] per height the coordinator ran (or skipped), kept in
//! the store so `GET /api/blocks`, the dashboard and `netcoordinator status` survive a restart,
//! and pruned after a configurable number of days.

use super::{Store, StoreError};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What happened in one block, as `GET /api/blocks` shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(default)]
pub struct BlockRecord {
    /// The block's height.
    pub height: u32,
    /// Unix seconds when this record was (last) written.
    pub recorded_at: u64,
    /// The job mined for it (absent when the block was skipped).
    pub job_id: Option<u64>,
    /// Why no job ran for it, when it was skipped.
    pub skipped: Option<String>,
    /// Miners connected at minute 9.
    pub miners: usize,
    /// The farm's reported hash rate over the 60 s before minute 9 (hashes per second).
    pub hash_rate: f64,
    /// Records submitted for its job.
    pub records_received: usize,
    /// Records that verified.
    pub records_verified: usize,
    /// Refused records per reason.
    pub records_rejected: BTreeMap<String, usize>,
    /// Entries paid (revealed) for it.
    pub entries_paid: usize,
    /// Their entry hashes (hex), best record first.
    pub entry_hashes: Vec<String>,
    /// Entries that could not be paid.
    pub entries_failed: usize,
    /// Entry credits its commits cost.
    pub ec_spent: u64,
    /// The EC balance after paying.
    pub ec_balance: Option<i64>,
    /// Whether the block was graded yet (at the next block's minute 1).
    pub graded: bool,
    /// Its winners' short hashes (16 hex digits), once graded.
    pub winners: Vec<String>,
    /// Which of them are our entries.
    pub our_winners: Vec<String>,
    /// Miners the operator paused (remote control) at some time while the block was mined:
    /// their missing records are no fault. Empty in records older than this field.
    pub paused: Vec<String>,
}

impl BlockRecord {
    /// An empty record of `height`.
    pub fn new(height: u32) -> BlockRecord {
        BlockRecord {
            height,
            ..BlockRecord::default()
        }
    }
}

impl Store {
    /// Writes (or replaces) the record of `b.height`, stamped now, and deletes the records older
    /// than `keep_days` days (0 keeps everything).
    pub fn save_block(&self, b: &BlockRecord, keep_days: u32) -> Result<(), StoreError> {
        let now = crate::telemetry::unix_now();
        let mut b = b.clone();
        b.recorded_at = now;
        if !b.hash_rate.is_finite() {
            b.hash_rate = 0.0; // JSON has no infinity: it would not read back
        }
        let json = serde_json::to_string(&b).map_err(|e| StoreError(e.to_string()))?;
        let conn = self.conn();
        conn.execute(
            "INSERT INTO block_history (height, recorded_at, record) VALUES (?1, ?2, ?3)
             ON CONFLICT(height) DO UPDATE SET recorded_at = ?2, record = ?3",
            params![b.height, now as i64, json],
        )?;
        if keep_days > 0 {
            let cutoff = now.saturating_sub(u64::from(keep_days) * 86_400);
            conn.execute(
                "DELETE FROM block_history WHERE recorded_at < ?1",
                params![cutoff as i64],
            )?;
        }
        Ok(())
    }

    /// The record of `height`, if kept.
    pub fn block(&self, height: u32) -> Result<Option<BlockRecord>, StoreError> {
        let json: Option<String> = self
            .conn()
            .query_row(
                "SELECT record FROM block_history WHERE height = ?1",
                params![height],
                |r| r.get(0),
            )
            .optional()?;
        // An unreadable record (written by a broken build) is history lost, not a reason to stop
        // paying: it is logged and treated as absent.
        Ok(json.and_then(|j| readable(height, &j)))
    }

    /// The newest `limit` records, newest first.
    pub fn blocks(&self, limit: usize) -> Result<Vec<BlockRecord>, StoreError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT height, record FROM block_history ORDER BY height DESC LIMIT ?1")?;
        let rows = stmt.query_map(params![limit.min(i64::MAX as usize) as i64], |r| {
            Ok((r.get::<_, u32>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (height, json) = row?;
            out.extend(readable(height, &json));
        }
        Ok(out)
    }

    /// The schema version of the open store.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        Ok(self
            .conn()
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }
}

fn readable(height: u32, json: &str) -> Option<BlockRecord> {
    serde_json::from_str(json)
        .map_err(|e| tracing::warn!("the history of block {height} is unreadable, skipped: {e}"))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_store(name: &str) -> (Store, std::path::PathBuf) {
        let dir =
            std::env::temp_dir().join(format!("netmine-history-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        (Store::open(&dir.join("c.db")).unwrap(), dir)
    }

    #[test]
    fn history_survives_reopening_newest_first() {
        let (store, dir) = temp_store("reopen");
        for h in 1..=5 {
            let mut b = BlockRecord::new(h);
            b.entries_paid = h as usize;
            store.save_block(&b, 30).unwrap();
        }
        drop(store);
        let store = Store::open(&dir.join("c.db")).unwrap();
        let got = store.blocks(3).unwrap();
        assert_eq!(
            got.iter().map(|b| b.height).collect::<Vec<_>>(),
            vec![5, 4, 3]
        );
        assert_eq!(got[0].entries_paid, 5);
        assert!(got[0].recorded_at > 0);
        let _ = std::fs::remove_dir_all(&dir);
    }

    // The main connection's lock is held across the read on purpose: that is the payer.
    #[allow(clippy::await_holding_lock)]
    #[tokio::test]
    async fn history_is_read_on_its_own_read_only_connection_while_the_payer_writes() {
        let (store, dir) = temp_store("reader");
        store.save_block(&BlockRecord::new(1), 30).unwrap();
        // The payer holds the main connection, inside a write transaction.
        let main = store.conn();
        main.execute_batch("BEGIN IMMEDIATE").unwrap();
        main.execute(
            "INSERT INTO block_history (height, recorded_at, record) VALUES (2, 0, '{}')",
            [],
        )
        .unwrap();
        // A history read does not wait for it (it would deadlock on the main connection's
        // lock), and sees the last committed state.
        let got = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            store.read(|st| st.blocks(10)),
        )
        .await
        .expect("the read waited for the writer")
        .unwrap();
        assert_eq!(got.iter().map(|b| b.height).collect::<Vec<_>>(), vec![1]);
        // And it cannot write.
        let write = store
            .read(|st| st.save_block(&BlockRecord::new(3), 30))
            .await;
        assert!(write.is_err(), "{write:?}");
        main.execute_batch("COMMIT").unwrap();
        drop(main);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_unreadable_record_is_skipped_and_an_infinite_rate_is_stored_as_0() {
        let (store, dir) = temp_store("unreadable");
        store
            .save_block(
                &BlockRecord {
                    hash_rate: f64::INFINITY,
                    ..BlockRecord::new(1)
                },
                0,
            )
            .unwrap();
        assert_eq!(store.block(1).unwrap().unwrap().hash_rate, 0.0);
        store
            .conn()
            .execute(
                "INSERT INTO block_history (height, recorded_at, record) VALUES (2, 0, '{\"hash_rate\":null}')",
                [],
            )
            .unwrap();
        assert_eq!(store.block(2).unwrap(), None);
        assert_eq!(store.blocks(10).unwrap().len(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn records_older_than_the_kept_days_are_pruned() {
        let (store, dir) = temp_store("prune");
        store.save_block(&BlockRecord::new(1), 30).unwrap();
        // Age block 1 by 31 days.
        store
            .conn()
            .execute(
                "UPDATE block_history SET recorded_at = recorded_at - 31 * 86400 WHERE height = 1",
                [],
            )
            .unwrap();
        store.save_block(&BlockRecord::new(2), 0).unwrap();
        assert_eq!(store.blocks(10).unwrap().len(), 2, "0 keeps everything");
        store.save_block(&BlockRecord::new(3), 30).unwrap();
        let heights: Vec<u32> = store.blocks(10).unwrap().iter().map(|b| b.height).collect();
        assert_eq!(heights, vec![3, 2]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
