//! The coordinator's durable record of what it pays for (SQLite under the data dir).
//!
//! Every accepted record is written with its full entry *before* any money moves, and each step of
//! paying for it (committed, revealed) is written as soon as factomd confirms it. A coordinator
//! killed at any point and restarted therefore knows every entry it meant to pay: it finishes the
//! ones that can still land in their block (a repeated commit is answered `-32011` by factomd and
//! only the reveal is sent again, so nothing is paid twice) and marks older ones expired.
//!
//! It also keeps the farm's roster (which box key is which identity, see [`RosterEntry`]) and the
//! farm's per-block history (what `GET /api/blocks` and the dashboard show, see
//! [`BlockRecord`]), pruned after a configurable number of days. The schema is versioned: each
//! change is a numbered migration (`migrate.rs`), applied once, in order, when the store opens.

mod history;
mod jobs;
mod migrate;
mod roster;

pub use history::BlockRecord;
pub use migrate::SCHEMA_VERSION;
pub use roster::{Origin, RosterEntry};

use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

/// How far paying for an entry has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryState {
    /// Accepted and stored; not yet committed.
    Accepted,
    /// Commit confirmed by factomd (or it already held one).
    Committed,
    /// Reveal confirmed: done.
    Revealed,
    /// Its block is over before it was committed; it can no longer land (nothing was spent).
    Expired,
    /// Committed but its block ended before the reveal went through: its credits are lost.
    Lost,
}

impl EntryState {
    fn as_str(self) -> &'static str {
        match self {
            EntryState::Accepted => "accepted",
            EntryState::Committed => "committed",
            EntryState::Revealed => "revealed",
            EntryState::Expired => "expired",
            EntryState::Lost => "lost",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "accepted" => EntryState::Accepted,
            "committed" => EntryState::Committed,
            "revealed" => EntryState::Revealed,
            "expired" => EntryState::Expired,
            "lost" => EntryState::Lost,
            _ => return None,
        })
    }
}

/// An entry the coordinator decided to pay for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    /// The entry's hash (SHA-256 based, as factomd computes it): its identity in the store and in
    /// factomd's commit/reveal answers.
    pub entry_hash: [u8; 32],
    /// Block height it is for.
    pub height: u32,
    /// The miner identity that mined it.
    pub miner: String,
    /// The record's verified LXRHash difficulty (entries are paid best first).
    pub difficulty: u64,
    /// The marshalled entry (what is revealed).
    pub entry: Vec<u8>,
    /// How far paying for it has got (accepted → committed → revealed, or expired).
    pub state: EntryState,
}

/// A failure of the SQLite store (opening, a query, a corrupt row). Nothing is paid without a
/// record of it, so callers stop paying when they see one.
#[derive(Debug, thiserror::Error)]
#[error("coordinator store: {0}")]
pub struct StoreError(String);

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError(e.to_string())
    }
}

/// The store. One connection, used by one task at a time; clones share it. From async code use
/// [`Store::call`], which runs the (fsync'ing) SQLite work off the async threads.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
}

impl Store {
    /// Opens (or creates) the store at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let conn = Connection::open(path)
            .map_err(|e| StoreError(format!("opening {}: {e}", path.display())))?;
        // WAL + FULL sync: a write that returned is on disk, whatever happens next.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // `netcoordinator miners` writes the roster while the daemon runs: wait for the other's
        // write instead of failing.
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        migrate::run(&conn)?;
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` on a blocking thread (SQLite waits for the disk): for async code.
    pub async fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| StoreError(format!("store task failed: {e}")))?
    }

    fn claim(&self, height: u32, column: &str) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            &format!(
                "INSERT INTO blocks (height, {column}) VALUES (?1, 1)
                 ON CONFLICT(height) DO UPDATE SET {column} = 1 WHERE {column} = 0"
            ),
            params![height],
        )?;
        Ok(n == 1)
    }

    /// Records that the job of `height` is being started. False if one was already started for
    /// that height (by this process or before a restart): never start a second.
    pub fn claim_job(&self, height: u32) -> Result<bool, StoreError> {
        self.claim(height, "job_started")
    }

    /// Whether the payment round of `height` started (before a restart, say).
    pub fn payment_started(&self, height: u32) -> Result<bool, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT payment_started FROM blocks WHERE height = ?1",
                params![height],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
            .unwrap_or(0)
            != 0)
    }

    /// Records that the payment round of `height` is starting. False if one already ran.
    pub fn claim_payment(&self, height: u32) -> Result<bool, StoreError> {
        self.claim(height, "payment_started")
    }

    /// Records the winner list in force for block `height` (the previous winners its records
    /// carry), needed to grade it.
    pub fn set_winners(&self, height: u32, winners: &[String]) -> Result<(), StoreError> {
        let json = serde_json::to_string(winners).map_err(|e| StoreError(e.to_string()))?;
        self.conn().execute(
            "INSERT INTO blocks (height, winners) VALUES (?1, ?2)
             ON CONFLICT(height) DO UPDATE SET winners = ?2",
            params![height, json],
        )?;
        Ok(())
    }

    /// The winner list in force for block `height`, if recorded.
    pub fn winners(&self, height: u32) -> Result<Option<Vec<String>>, StoreError> {
        let s: Option<Option<String>> = self
            .conn()
            .query_row(
                "SELECT winners FROM blocks WHERE height = ?1",
                params![height],
                |r| r.get(0),
            )
            .optional()?;
        match s.flatten() {
            None => Ok(None),
            Some(j) => serde_json::from_str(&j)
                .map(Some)
                .map_err(|e| StoreError(format!("winner list of block {height}: {e}"))),
        }
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // SQLite keeps its own consistency; a panic elsewhere cannot leave the handle half-used.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records an entry to pay for. Returns false if it was already known (nothing changes).
    pub fn add(
        &self,
        entry_hash: &[u8; 32],
        height: u32,
        miner: &str,
        difficulty: u64,
        entry: &[u8],
    ) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "INSERT OR IGNORE INTO entries (entry_hash, height, miner, difficulty, entry, state)
             VALUES (?1, ?2, ?3, ?4, ?5, 'accepted')",
            params![&entry_hash[..], height, miner, difficulty as i64, entry],
        )?;
        Ok(n == 1)
    }

    /// Moves an entry to `state`.
    pub fn set_state(&self, entry_hash: &[u8; 32], state: EntryState) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE entries SET state = ?2, updated = strftime('%s','now') WHERE entry_hash = ?1",
            params![&entry_hash[..], state.as_str()],
        )?;
        Ok(())
    }

    /// The state of one entry.
    pub fn state(&self, entry_hash: &[u8; 32]) -> Result<Option<EntryState>, StoreError> {
        let s: Option<String> = self
            .conn()
            .query_row(
                "SELECT state FROM entries WHERE entry_hash = ?1",
                params![&entry_hash[..]],
                |r| r.get(0),
            )
            .optional()?;
        Ok(s.as_deref().and_then(EntryState::parse))
    }

    /// Entries of `height`, best difficulty first.
    pub fn entries(&self, height: u32) -> Result<Vec<StoredEntry>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT entry_hash, height, miner, difficulty, entry, state FROM entries
             WHERE height = ?1 ORDER BY difficulty DESC, entry_hash",
        )?;
        let rows = stmt.query_map(params![height], |r| {
            let hash: Vec<u8> = r.get(0)?;
            let state: String = r.get(5)?;
            Ok((
                hash,
                r.get::<_, u32>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, Vec<u8>>(4)?,
                state,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (hash, height, miner, difficulty, entry, state) = row?;
            let entry_hash: [u8; 32] = hash
                .try_into()
                .map_err(|_| StoreError("an entry hash in the store is not 32 bytes".into()))?;
            let state = EntryState::parse(&state)
                .ok_or_else(|| StoreError(format!("unknown entry state {state:?}")))?;
            out.push(StoredEntry {
                entry_hash,
                height,
                miner,
                difficulty: difficulty as u64,
                entry,
                state,
            });
        }
        Ok(out)
    }

    /// Marks entries of blocks before `height` that were never revealed as expired (never
    /// committed) or lost (committed: their credits are spent). They can no longer land: their
    /// content names their own block. Returns how many.
    pub fn expire_before(&self, height: u32) -> Result<usize, StoreError> {
        let conn = self.conn();
        let lost = conn.execute(
            "UPDATE entries SET state = 'lost', updated = strftime('%s','now')
             WHERE height < ?1 AND state = 'committed'",
            params![height],
        )?;
        let expired = conn.execute(
            "UPDATE entries SET state = 'expired', updated = strftime('%s','now')
             WHERE height < ?1 AND state = 'accepted'",
            params![height],
        )?;
        Ok(lost + expired)
    }
}
