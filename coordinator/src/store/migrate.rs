//! The store's schema, as numbered migrations. SQLite's `user_version` holds how many have been
//! applied; opening a store applies the missing ones in order, each in its own transaction, so a
//! store of any earlier version (version 0 is a store made before migrations existed: its tables
//! are created with `IF NOT EXISTS`) is brought up to date, and a store from a newer coordinator
//! is refused instead of being misread.

use super::StoreError;
use rusqlite::Connection;

/// Each migration's SQL; migration `k` (1-based) brings the schema from version `k-1` to `k`.
/// Append only: a released migration is never edited.
const MIGRATIONS: &[&str] = &[
    // 1: entries to pay for and the heights planned / paid.
    "CREATE TABLE IF NOT EXISTS entries (
        entry_hash BLOB PRIMARY KEY,
        height INTEGER NOT NULL,
        miner TEXT NOT NULL,
        difficulty INTEGER NOT NULL,
        entry BLOB NOT NULL,
        state TEXT NOT NULL,
        updated INTEGER NOT NULL DEFAULT (strftime('%s','now'))
    );
    CREATE INDEX IF NOT EXISTS entries_by_height ON entries(height, state);
    CREATE TABLE IF NOT EXISTS blocks (
        height INTEGER PRIMARY KEY,
        job_started INTEGER NOT NULL DEFAULT 0,
        payment_started INTEGER NOT NULL DEFAULT 0,
        winners TEXT
    );",
    // 2: the per-block history (a JSON `BlockRecord` per height), pruned by `recorded_at`.
    "CREATE TABLE block_history (
        height INTEGER PRIMARY KEY,
        recorded_at INTEGER NOT NULL,
        record TEXT NOT NULL
    );
    CREATE INDEX block_history_by_time ON block_history(recorded_at);",
    // 3: the farm's roster (identity -> the box key pinned for it, or the relay it comes
    // through; allowed coinbases; who added it and when), and a counter bumped by every roster
    // change, so a running daemon notices changes made by `netcoordinator miners`.
    "CREATE TABLE roster (
        identity TEXT PRIMARY KEY,
        public_key BLOB,
        relay TEXT,
        coinbases TEXT NOT NULL DEFAULT '[]',
        origin TEXT NOT NULL,
        added_by TEXT NOT NULL,
        added_at INTEGER NOT NULL,
        revoked INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    INSERT INTO meta (key, value) VALUES ('roster_generation', 0);",
    // 4: the job each height ran (the `job` message as sent), so a restarted coordinator serves
    // the same job for the block being built, and job ids never repeat across restarts.
    "CREATE TABLE jobs (
        height INTEGER PRIMARY KEY,
        job_id INTEGER NOT NULL,
        job TEXT NOT NULL,
        started_at INTEGER NOT NULL
    );",
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Brings the store at `conn` up to [`SCHEMA_VERSION`].
pub(super) fn run(conn: &Connection) -> Result<(), StoreError> {
    let current: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > SCHEMA_VERSION {
        return Err(StoreError(format!(
            "the store's schema is version {current}, newer than this coordinator's \
             ({SCHEMA_VERSION}): run the newer coordinator, or move the store aside"
        )));
    }
    for (k, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = k + 1;
        conn.execute_batch(&format!(
            "BEGIN; {sql}; PRAGMA user_version = {version}; COMMIT;"
        ))
        .map_err(|e| StoreError(format!("store migration {version}: {e}")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_from_before_migrations_is_brought_up_to_date_and_keeps_its_entries() {
        let dir = std::env::temp_dir().join(format!("netmine-migrate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("old.db");
        let _ = std::fs::remove_file(&path);
        {
            // The schema as the first release wrote it, with no user_version.
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.execute(
                "INSERT INTO entries (entry_hash, height, miner, difficulty, entry, state)
                 VALUES (x'01', 7, 'box', 5, x'00', 'revealed')",
                [],
            )
            .unwrap();
        }
        let store = super::super::Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        let conn = Connection::open(&path).unwrap();
        let n: i64 = conn
            .query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
        // Opening again applies nothing twice.
        drop(store);
        super::super::Store::open(&path).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_store_from_a_newer_coordinator_is_refused() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(&format!("PRAGMA user_version = {}", SCHEMA_VERSION + 1))
            .unwrap();
        let e = run(&conn).unwrap_err().to_string();
        assert!(e.contains("newer than this coordinator"), "{e}");
    }
}
