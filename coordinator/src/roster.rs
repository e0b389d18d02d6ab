//! Who may log in as what: the farm's roster in memory, and the rules the handshake and the
//! relayed submissions apply with it.
//!
//! Every box signs its handshake with its own key (`protocol::auth::box_key`). The roster pins
//! each identity to one key (or, for a miner behind a relay, to that relay), so a box that knows
//! the farm secret still cannot log in as another box:
//!
//! * a key that is not the identity's pinned key is refused (`unknown_key`), counts toward the
//!   address's ban, and never disturbs the session holding the identity;
//! * an identity not in the roster is pinned to the first key it logs in with (first-use mode,
//!   the default, shown as *new* on the dashboard), or refused (`enroll = "roster"`);
//! * a revoked identity is refused until an operator adds it again;
//! * a box without a key (a netminer older than protocol version 2, still mining during an
//!   upgrade) is served only for an identity that has no key pinned, in first-use mode, and pins
//!   nothing.
//!
//! The roster lives in the store; [`RosterBook`] keeps the current picture and notices changes
//! another process made (`netcoordinator miners add|remove`), so a revocation takes effect on a
//! running coordinator within seconds.

use crate::store::{Origin, RosterEntry, Store, StoreError};
use protocol::{ConnectionRefusal, PublicKey};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

/// How identities join the farm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Enroll {
    /// An identity seen for the first time is pinned to the key it logs in with (the default: a
    /// farm's quick start needs no step per box).
    #[default]
    FirstUse,
    /// Only identities in the roster may log in (`netcoordinator miners add`).
    Roster,
}

impl std::str::FromStr for Enroll {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "first-use" => Ok(Enroll::FirstUse),
            "roster" => Ok(Enroll::Roster),
            other => Err(format!("enroll {other:?} is not first-use or roster")),
        }
    }
}

/// What the roster says about a box logging in directly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Its key is the identity's pinned key.
    Known,
    /// A new identity: pin this key (first-use).
    Pin(PublicKey),
    /// A box without a key, served without pinning (only for an identity with no key pinned).
    Unsigned,
    /// Refused: the code and why (for the box's operator).
    Refused(ConnectionRefusal, String),
}

/// What the roster says about a relay speaking for one of its miners.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayedVerdict {
    /// The identity comes through this relay.
    Known,
    /// A new identity: pin it to this relay (first-use).
    Pin,
    /// The relay may not speak for it, and why.
    Refused(String),
}

/// A relay's allowed identities: exact names, or prefixes written with a trailing `*`.
fn matches(patterns: &[String], identity: &str) -> bool {
    patterns.iter().any(|p| match p.strip_suffix('*') {
        Some(prefix) => identity.starts_with(prefix),
        None => p == identity,
    })
}

/// The roster at one moment.
#[derive(Debug, Clone, Default)]
pub struct Roster {
    entries: HashMap<String, RosterEntry>,
}

impl Roster {
    /// A roster of these entries.
    pub fn new(entries: Vec<RosterEntry>) -> Roster {
        Roster {
            entries: entries
                .into_iter()
                .map(|e| (e.identity.clone(), e))
                .collect(),
        }
    }

    /// The entry of `identity`.
    pub fn get(&self, identity: &str) -> Option<&RosterEntry> {
        self.entries.get(identity)
    }

    /// Every entry.
    pub fn entries(&self) -> impl Iterator<Item = &RosterEntry> {
        self.entries.values()
    }

    /// Whether `identity` may log in directly with `key` (`None`: an unsigned box).
    pub fn judge(&self, identity: &str, key: Option<PublicKey>, enroll: Enroll) -> Verdict {
        use ConnectionRefusal::*;
        let upgrade = |why: &str| {
            Verdict::Refused(
                Upgrade,
                format!("{why}: upgrade this netminer (this coordinator speaks protocol {}, and signs logins with each box's key)", protocol::PROTOCOL_VERSION),
            )
        };
        match (self.entries.get(identity), key) {
            (Some(e), _) if e.revoked => Verdict::Refused(
                UnknownKey,
                format!("identity {identity:?} was revoked by the farm's operator"),
            ),
            (Some(e), _) if e.relay.is_some() => Verdict::Refused(
                UnknownKey,
                format!(
                    "identity {identity:?} comes through relay {:?}: it cannot log in directly (the operator can move it with `netcoordinator miners add`)",
                    e.relay.as_deref().unwrap_or_default()
                ),
            ),
            (Some(e), Some(k)) if e.key == Some(k) => Verdict::Known,
            (Some(e), Some(k)) => match e.key {
                Some(_) => Verdict::Refused(
                    UnknownKey,
                    format!("identity {identity:?} is pinned to another box's key, not {k}: if this box replaced it, add its key with `netcoordinator miners add {identity} {k}`"),
                ),
                None => Verdict::Refused(
                    UnknownKey,
                    format!("identity {identity:?} has no key in the roster: add this box's with `netcoordinator miners add {identity} {k}`"),
                ),
            },
            (Some(e), None) if e.key.is_some() => {
                upgrade(&format!("identity {identity:?} is enrolled with a box key, and this box signs nothing"))
            }
            (Some(_), None) => Verdict::Unsigned,
            (None, _) if enroll == Enroll::Roster => Verdict::Refused(
                NotEnrolled,
                format!("identity {identity:?} is not in this farm's roster (enroll = \"roster\"): the operator adds it with `netcoordinator miners add {identity} <the key netminer key prints>`"),
            ),
            (None, Some(k)) => Verdict::Pin(k),
            (None, None) => Verdict::Unsigned,
        }
    }

    /// Whether `relay` may speak for `identity`, given the relays' allowed identities
    /// (`relay_identities`: a relay without a list may speak for any identity not assigned
    /// elsewhere).
    pub fn judge_relayed(
        &self,
        relay: &str,
        identity: &str,
        allowed: &BTreeMap<String, Vec<String>>,
        enroll: Enroll,
    ) -> RelayedVerdict {
        if let Some(list) = allowed.get(relay) {
            if !matches(list, identity) {
                return RelayedVerdict::Refused(format!(
                    "relay {relay:?} may not speak for {identity:?} (its relay_identities)"
                ));
            }
        }
        if let Some((other, _)) = allowed
            .iter()
            .find(|(r, list)| r.as_str() != relay && matches(list, identity))
        {
            return RelayedVerdict::Refused(format!("{identity:?} is assigned to relay {other:?}"));
        }
        match self.entries.get(identity) {
            Some(e) if e.revoked => {
                RelayedVerdict::Refused(format!("identity {identity:?} was revoked"))
            }
            Some(e) if e.relay.as_deref() == Some(relay) => RelayedVerdict::Known,
            Some(e) => RelayedVerdict::Refused(match &e.relay {
                Some(r) => format!("{identity:?} comes through relay {r:?}"),
                None => format!("{identity:?} logs in directly with its own key"),
            }),
            None if enroll == Enroll::Roster => RelayedVerdict::Refused(format!(
                "{identity:?} is not in the roster (enroll = \"roster\")"
            )),
            None => RelayedVerdict::Pin,
        }
    }

    /// Whether `identity` counts as *enrolled* for a job that started at Unix second
    /// `job_started` (the verification budget serves enrolled identities first): its entry is not
    /// revoked, it is the entry of this way in (the box `key` it proved, or the `relay` it comes
    /// through), and an operator added it or it was pinned before the job started. An identity
    /// pinned at first use during the block, or a box without a key, is not.
    pub fn enrolled(
        &self,
        identity: &str,
        key: Option<PublicKey>,
        relay: Option<&str>,
        job_started: u64,
    ) -> bool {
        let Some(e) = self.entries.get(identity) else {
            return false;
        };
        let this_way = match relay {
            Some(r) => e.relay.as_deref() == Some(r),
            None => e.relay.is_none() && e.key.is_some() && e.key == key,
        };
        !e.revoked && this_way && (e.origin == Origin::Operator || e.added_at < job_started)
    }

    /// Whether `identity` may be paid to `coinbase` (an entry without coinbases allows any).
    pub fn coinbase_allowed(&self, identity: &str, coinbase: &str) -> bool {
        self.entries
            .get(identity)
            .is_none_or(|e| e.coinbases.is_empty() || e.coinbases.iter().any(|c| c == coinbase))
    }
}

/// The roster, shared by the hub's connections: the current picture, and the store it is kept in
/// (none for a hub without one: tests and tools; pins then last as long as the process).
pub struct RosterBook {
    store: Option<Store>,
    current: RwLock<(u64, Arc<Roster>)>,
}

impl RosterBook {
    /// A roster kept only in memory.
    pub fn in_memory() -> RosterBook {
        RosterBook {
            store: None,
            current: RwLock::new((0, Arc::new(Roster::default()))),
        }
    }

    /// The roster kept in `store` (read now; see [`reload`](Self::reload)).
    pub fn open(store: Store) -> Result<RosterBook, StoreError> {
        let generation = store.roster_generation()?;
        let roster = Roster::new(store.roster()?);
        Ok(RosterBook {
            store: Some(store),
            current: RwLock::new((generation, Arc::new(roster))),
        })
    }

    /// The roster now.
    pub fn snapshot(&self) -> Arc<Roster> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .1
            .clone()
    }

    /// Reads the roster again if the store's copy changed; true when it did. Blocking (SQLite):
    /// call it from `spawn_blocking` or the store's thread.
    pub fn reload(&self) -> Result<bool, StoreError> {
        let Some(store) = &self.store else {
            return Ok(false);
        };
        let generation = store.roster_generation()?;
        if self.current.read().unwrap_or_else(|e| e.into_inner()).0 == generation {
            return Ok(false);
        }
        let roster = Roster::new(store.roster()?);
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = (generation, Arc::new(roster));
        Ok(true)
    }

    /// Pins `entry` (first use), unless its identity got an entry meanwhile: true when pinned.
    /// Durable before it returns when there is a store.
    pub async fn pin(&self, entry: RosterEntry) -> Result<bool, StoreError> {
        if let Some(store) = &self.store {
            let e = entry.clone();
            if !store.call(move |s| s.roster_pin(&e)).await? {
                return Ok(false);
            }
        }
        let mut cur = self.current.write().unwrap_or_else(|e| e.into_inner());
        // Without a store the check and the insert are one step under the lock; with one, the
        // store's transaction decided above.
        if self.store.is_none() && cur.1.get(&entry.identity).is_some() {
            return Ok(false);
        }
        // In place unless a snapshot of the roster is held right now (`make_mut` copies it
        // then): copying the whole roster for every pin made 10,000 first-use pins behind
        // relays cost O(n²), 25 s of CPU in one block (benches/results/2026-12-04-scale-release.md).
        Arc::make_mut(&mut cur.1)
            .entries
            .insert(entry.identity.clone(), entry);
        Ok(true)
    }
}

/// Why an operator's roster entry cannot be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// The identity has other characters than ASCII letters, digits and commas.
    #[error("identity {0:?}: use ASCII letters, digits and commas only")]
    Identity(String),
    /// The key is not `ed25519:<64 hex digits>`.
    #[error(transparent)]
    Key(#[from] protocol::auth::BadPublicKey),
    /// Neither a key nor a relay, or both.
    #[error("give the box's key (what `netminer key` prints on it) or the relay it comes through, not both")]
    KeyOrRelay,
    /// A coinbase is not an FA address.
    #[error("coinbase {0:?} is not a valid FA address")]
    Coinbase(String),
}

/// An entry the operator adds: `identity` with the box `key` (its text, `ed25519:…`) or behind
/// `relay`, paid to one of `coinbases` (empty: any), added `by` someone, checked.
pub fn operator_entry(
    identity: &str,
    key: Option<&str>,
    relay: Option<&str>,
    coinbases: Vec<String>,
    by: &str,
) -> Result<RosterEntry, EntryError> {
    if !pegnet::validate::valid_identity(identity.as_bytes()) {
        return Err(EntryError::Identity(
            protocol::text::sanitize(identity).into_owned(),
        ));
    }
    let key = match (key, relay) {
        (Some(k), None) => Some(k.parse::<PublicKey>()?),
        (None, Some(r)) if pegnet::validate::valid_identity(r.as_bytes()) => None,
        _ => return Err(EntryError::KeyOrRelay),
    };
    if let Some(c) = coinbases
        .iter()
        .find(|c| !pegnet::validate::valid_coinbase(c.as_bytes()))
    {
        return Err(EntryError::Coinbase(
            protocol::text::sanitize(c).into_owned(),
        ));
    }
    Ok(RosterEntry {
        identity: identity.to_string(),
        key,
        relay: relay.map(str::to_string),
        coinbases,
        origin: Origin::Operator,
        added_by: protocol::text::sanitize(by).into_owned(),
        added_at: crate::telemetry::unix_now(),
        revoked: false,
    })
}

/// A first-use entry for `identity` logging in from `from` now.
pub fn first_use(
    identity: &str,
    key: Option<PublicKey>,
    relay: Option<&str>,
    from: &str,
) -> RosterEntry {
    RosterEntry {
        identity: identity.to_string(),
        key,
        relay: relay.map(str::to_string),
        coinbases: Vec::new(),
        origin: Origin::FirstUse,
        added_by: format!("first use from {from}"),
        added_at: crate::telemetry::unix_now(),
        revoked: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, key: Option<PublicKey>, relay: Option<&str>) -> RosterEntry {
        let mut e = first_use(id, key, relay, "test");
        e.origin = Origin::Operator;
        e
    }

    #[test]
    fn a_key_is_pinned_once_and_another_box_cannot_take_the_identity() {
        let (a, b) = (
            protocol::BoxKey::generate().public(),
            protocol::BoxKey::generate().public(),
        );
        let empty = Roster::default();
        assert_eq!(
            empty.judge("rig1", Some(a), Enroll::FirstUse),
            Verdict::Pin(a)
        );
        assert!(matches!(
            empty.judge("rig1", Some(a), Enroll::Roster),
            Verdict::Refused(ConnectionRefusal::NotEnrolled, _)
        ));
        assert_eq!(
            empty.judge("old", None, Enroll::FirstUse),
            Verdict::Unsigned
        );
        let r = Roster::new(vec![
            entry("rig1", Some(a), None),
            entry("site-rig", None, Some("site1")),
        ]);
        assert_eq!(r.judge("rig1", Some(a), Enroll::Roster), Verdict::Known);
        let Verdict::Refused(code, why) = r.judge("rig1", Some(b), Enroll::FirstUse) else {
            panic!("another key")
        };
        assert_eq!(code, ConnectionRefusal::UnknownKey);
        assert!(why.contains("miners add rig1"), "{why}");
        assert!(matches!(
            r.judge("rig1", None, Enroll::FirstUse),
            Verdict::Refused(ConnectionRefusal::Upgrade, _)
        ));
        assert!(matches!(
            r.judge("site-rig", Some(a), Enroll::FirstUse),
            Verdict::Refused(ConnectionRefusal::UnknownKey, _)
        ));
        let mut revoked = entry("gone", Some(a), None);
        revoked.revoked = true;
        let r = Roster::new(vec![revoked]);
        assert!(matches!(
            r.judge("gone", Some(a), Enroll::FirstUse),
            Verdict::Refused(ConnectionRefusal::UnknownKey, _)
        ));
    }

    #[test]
    fn a_relay_speaks_only_for_identities_that_are_its_own() {
        let a = protocol::BoxKey::generate().public();
        let r = Roster::new(vec![
            entry("direct", Some(a), None),
            entry("s1-rig", None, Some("site1")),
        ]);
        let mut allowed = BTreeMap::new();
        allowed.insert(
            "site2".to_string(),
            vec!["s2-*".to_string(), "lab".to_string()],
        );
        let f = Enroll::FirstUse;
        assert_eq!(
            r.judge_relayed("site1", "s1-rig", &allowed, f),
            RelayedVerdict::Known
        );
        assert_eq!(
            r.judge_relayed("site1", "s1-new", &allowed, f),
            RelayedVerdict::Pin
        );
        assert!(matches!(
            r.judge_relayed("site1", "direct", &allowed, f),
            RelayedVerdict::Refused(_)
        ));
        assert!(matches!(
            r.judge_relayed("site2", "s1-rig", &allowed, f),
            RelayedVerdict::Refused(_)
        ));
        assert_eq!(
            r.judge_relayed("site2", "s2-x", &allowed, f),
            RelayedVerdict::Pin
        );
        assert_eq!(
            r.judge_relayed("site2", "lab", &allowed, f),
            RelayedVerdict::Pin
        );
        assert!(matches!(
            r.judge_relayed("site2", "other", &allowed, f),
            RelayedVerdict::Refused(_)
        ));
        // Assigned to site2 by pattern: site1 may not claim it.
        assert!(matches!(
            r.judge_relayed("site1", "s2-y", &allowed, f),
            RelayedVerdict::Refused(_)
        ));
        assert!(matches!(
            r.judge_relayed("site1", "s1-new", &allowed, Enroll::Roster),
            RelayedVerdict::Refused(_)
        ));
    }

    #[test]
    fn enrolled_means_pinned_before_the_job_or_added_by_the_operator() {
        let (a, b) = (
            protocol::BoxKey::generate().public(),
            protocol::BoxKey::generate().public(),
        );
        let mut old = first_use("old", Some(a), None, "test");
        old.added_at = 100;
        let mut fresh = first_use("fresh", Some(a), None, "test");
        fresh.added_at = 200;
        let mut op = entry("op", Some(a), None);
        op.added_at = 300;
        let mut relayed = first_use("s1-rig", None, Some("site1"), "test");
        relayed.added_at = 100;
        let mut gone = entry("gone", Some(a), None);
        gone.revoked = true;
        let r = Roster::new(vec![old, fresh, op, relayed, gone]);
        let job = 200;
        assert!(r.enrolled("old", Some(a), None, job));
        assert!(!r.enrolled("old", Some(b), None, job), "another key");
        assert!(!r.enrolled("old", None, None, job), "unsigned");
        assert!(
            !r.enrolled("fresh", Some(a), None, job),
            "pinned as the job started"
        );
        assert!(r.enrolled("fresh", Some(a), None, job + 1));
        assert!(
            r.enrolled("op", Some(a), None, job),
            "the operator's, whenever"
        );
        assert!(r.enrolled("s1-rig", None, Some("site1"), job));
        assert!(!r.enrolled("s1-rig", None, Some("site2"), job));
        assert!(
            !r.enrolled("s1-rig", Some(a), None, job),
            "only through its relay"
        );
        assert!(!r.enrolled("gone", Some(a), None, job));
        assert!(!r.enrolled("nobody", Some(a), None, job));
    }

    #[test]
    fn allowed_coinbases_restrict_only_entries_that_list_them() {
        let mut e = entry("rig1", None, None);
        e.coinbases = vec!["FA1".into()];
        let r = Roster::new(vec![e]);
        assert!(r.coinbase_allowed("rig1", "FA1"));
        assert!(!r.coinbase_allowed("rig1", "FA2"));
        assert!(r.coinbase_allowed("other", "FA2"));
    }
}
