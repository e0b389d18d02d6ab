//! The farm's roster, as the store keeps it: for each identity, the box key pinned for it (or the
//! relay it comes through), the coinbases it may be paid to, where the entry came from and when,
//! and whether it was revoked. Every change bumps a counter (`roster_generation`), which a
//! running coordinator polls to notice changes another process made (`netcoordinator miners`).

use super::{Store, StoreError};
use protocol::PublicKey;
use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;

/// Where a roster entry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// Pinned automatically, the first time the identity logged in with a key (first-use mode).
    FirstUse,
    /// Added by the operator (`netcoordinator miners add`, or the HTTP API).
    Operator,
}

impl Origin {
    fn as_str(self) -> &'static str {
        match self {
            Origin::FirstUse => "first-use",
            Origin::Operator => "operator",
        }
    }
}

/// One identity of the farm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RosterEntry {
    /// The identity (what its records carry).
    pub identity: String,
    /// The box key that must sign its logins (`None` for an identity that comes through a relay:
    /// the relay checks its miners' keys).
    #[serde(serialize_with = "key_text")]
    pub key: Option<PublicKey>,
    /// The relay it comes through (`None`: it connects directly).
    pub relay: Option<String>,
    /// The coinbases (FA addresses) it may be paid to; empty: any.
    pub coinbases: Vec<String>,
    /// Where the entry came from.
    pub origin: Origin,
    /// Who added it (an operator's note, or the address that logged in first).
    pub added_by: String,
    /// When it was added (Unix seconds).
    pub added_at: u64,
    /// Revoked: the identity may not log in (nor be pinned again at first use) until an
    /// operator adds it again.
    pub revoked: bool,
}

fn key_text<S: serde::Serializer>(k: &Option<PublicKey>, s: S) -> Result<S::Ok, S::Error> {
    match k {
        Some(k) => s.serialize_some(&k.to_string()),
        None => s.serialize_none(),
    }
}

fn row(r: &Row<'_>) -> rusqlite::Result<RosterEntry> {
    let key: Option<Vec<u8>> = r.get(1)?;
    let coinbases: String = r.get(3)?;
    let origin: String = r.get(4)?;
    let added_at: i64 = r.get(6)?;
    Ok(RosterEntry {
        identity: r.get(0)?,
        key: key.and_then(|k| PublicKey::from_bytes(&k)),
        relay: r.get(2)?,
        coinbases: serde_json::from_str(&coinbases).unwrap_or_default(),
        origin: if origin == "operator" {
            Origin::Operator
        } else {
            Origin::FirstUse
        },
        added_by: r.get(5)?,
        added_at: added_at.max(0) as u64,
        revoked: r.get::<_, i64>(7)? != 0,
    })
}

const COLUMNS: &str = "identity, public_key, relay, coinbases, origin, added_by, added_at, revoked";

/// Writes `e` as one row with `verb` (`INSERT OR REPLACE` or `INSERT OR IGNORE`, which decides
/// what an existing entry of the identity does) and `revoked`; the rows written (0 or 1).
fn insert(
    tx: &rusqlite::Transaction<'_>,
    verb: &str,
    e: &RosterEntry,
    revoked: bool,
) -> rusqlite::Result<usize> {
    tx.execute(
        &format!("{verb} INTO roster ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
        params![
            e.identity,
            e.key.map(|k| k.0.to_vec()),
            e.relay,
            serde_json::to_string(&e.coinbases).unwrap_or_else(|_| "[]".into()),
            e.origin.as_str(),
            e.added_by,
            e.added_at as i64,
            revoked as i64,
        ],
    )
}

impl Store {
    /// Every roster entry, by identity.
    pub fn roster(&self) -> Result<Vec<RosterEntry>, StoreError> {
        let conn = self.conn();
        let mut q = conn.prepare(&format!("SELECT {COLUMNS} FROM roster ORDER BY identity"))?;
        let rows = q.query_map([], row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One identity's entry.
    pub fn roster_entry(&self, identity: &str) -> Result<Option<RosterEntry>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM roster WHERE identity = ?1"),
                params![identity],
                row,
            )
            .optional()?)
    }

    /// The roster's change counter: a different value means something changed.
    pub fn roster_generation(&self) -> Result<u64, StoreError> {
        let v: i64 = self.conn().query_row(
            "SELECT value FROM meta WHERE key = 'roster_generation'",
            [],
            |r| r.get(0),
        )?;
        Ok(v.max(0) as u64)
    }

    fn bump(conn: &rusqlite::Connection) -> Result<(), StoreError> {
        conn.execute(
            "UPDATE meta SET value = value + 1 WHERE key = 'roster_generation'",
            [],
        )?;
        Ok(())
    }

    /// Adds `e`, or replaces the entry of its identity (a revoked one included).
    pub fn roster_put(&self, e: &RosterEntry) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        insert(&tx, "INSERT OR REPLACE", e, e.revoked)?;
        Store::bump(&tx)?;
        tx.commit()?;
        Ok(())
    }

    /// Pins `e` unless its identity has an entry already (another connection pinned it first, or
    /// it was revoked): true when `e` was added.
    pub fn roster_pin(&self, e: &RosterEntry) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let n = insert(&tx, "INSERT OR IGNORE", e, false)?;
        if n == 1 {
            Store::bump(&tx)?;
        }
        tx.commit()?;
        Ok(n == 1)
    }

    /// Revokes `identity`: it may not log in, nor be pinned again at first use, until an operator
    /// adds it again. An identity without an entry gets a revoked one. True when anything
    /// changed.
    pub fn roster_revoke(&self, identity: &str, by: &str, now: u64) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let n = tx.execute(
            "INSERT INTO roster (identity, origin, added_by, added_at, revoked)
             VALUES (?1, 'operator', ?2, ?3, 1)
             ON CONFLICT(identity) DO UPDATE SET revoked = 1, added_by = ?2, added_at = ?3
             WHERE revoked = 0",
            params![identity, by, now as i64],
        )?;
        if n == 1 {
            Store::bump(&tx)?;
        }
        tx.commit()?;
        Ok(n == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(identity: &str, key: Option<PublicKey>) -> RosterEntry {
        RosterEntry {
            identity: identity.into(),
            key,
            relay: None,
            coinbases: vec![],
            origin: Origin::FirstUse,
            added_by: "test".into(),
            added_at: 1,
            revoked: false,
        }
    }

    #[test]
    fn the_first_pin_wins_revocation_sticks_and_every_change_bumps_the_generation() {
        let dir = std::env::temp_dir().join(format!("netmine-roster-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("r.db");
        let _ = std::fs::remove_file(&path);
        let s = Store::open(&path).unwrap();
        let (a, b) = (
            protocol::BoxKey::generate().public(),
            protocol::BoxKey::generate().public(),
        );
        let g0 = s.roster_generation().unwrap();
        assert!(s.roster_pin(&entry("rig1", Some(a))).unwrap());
        assert!(
            !s.roster_pin(&entry("rig1", Some(b))).unwrap(),
            "first pin wins"
        );
        assert_eq!(s.roster_entry("rig1").unwrap().unwrap().key, Some(a));
        let g1 = s.roster_generation().unwrap();
        assert_eq!(g1, g0 + 1);
        assert!(s.roster_revoke("rig1", "op", 5).unwrap());
        assert!(
            !s.roster_revoke("rig1", "op", 6).unwrap(),
            "already revoked"
        );
        assert!(
            !s.roster_pin(&entry("rig1", Some(b))).unwrap(),
            "no re-pin after revocation"
        );
        assert!(s.roster_entry("rig1").unwrap().unwrap().revoked);
        let mut back = entry("rig1", Some(b));
        back.origin = Origin::Operator;
        back.coinbases = vec!["FA2jK2HcLnRdS94dEcU27rF3meoJfpUcZPSinpb7AwQvPRY6RL1Q".into()];
        s.roster_put(&back).unwrap();
        let got = s.roster_entry("rig1").unwrap().unwrap();
        assert_eq!(got, back);
        assert!(s.roster_generation().unwrap() > g1);
        assert!(s.roster_revoke("never-seen", "op", 7).unwrap());
        assert_eq!(s.roster().unwrap().len(), 2);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
