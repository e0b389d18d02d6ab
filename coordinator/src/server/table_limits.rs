//! Who may start a table copy now (plain bookkeeping, behind the table server's lock): at most
//! one copy running per identity and per address (an IPv6 /64 counting as one), and per identity
//! at most [`ALLOWANCE`] times the table's size within each [`COOLDOWN`] (a copy, a resume after
//! a drop, a fresh start after a corrupted one), so no box can ask for the 1 GiB again and again.
//! A copy counts whole when it starts. What is remembered is bounded ([`MAX_REMEMBERED`]).

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// How long a copy counts against its identity.
pub const COOLDOWN: Duration = Duration::from_secs(3600);
/// Table sizes one identity may be sent within a cooldown.
pub const ALLOWANCE: u64 = 3;
/// Identities whose copies are remembered at most.
pub const MAX_REMEMBERED: usize = 4096;

#[derive(Debug, Clone, Copy)]
struct Served {
    since: Instant,
    bytes: u64,
}

/// Why a copy may not start now, and when to ask again (`None`: not within minutes; the box had
/// better generate its table than wait).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotNow {
    /// Said to the miner.
    pub reason: String,
    /// Seconds until asking again makes sense.
    pub retry_after_secs: Option<u64>,
}

/// The copies running and served.
#[derive(Debug, Default)]
pub struct CopyBook {
    running_ids: HashSet<String>,
    running_ips: HashSet<IpAddr>,
    served: HashMap<String, Served>,
}

impl CopyBook {
    /// Starts a copy for `identity` from `ip` (already grouped by /64) of `size - offset` bytes of
    /// a `size`-byte table, or says why not.
    pub fn begin(
        &mut self,
        identity: &str,
        ip: IpAddr,
        offset: u64,
        size: u64,
        now: Instant,
    ) -> Result<(), NotNow> {
        if self.running_ids.contains(identity) {
            return Err(NotNow {
                reason: format!("a table copy for {identity} is already running"),
                retry_after_secs: Some(60),
            });
        }
        if self.running_ips.contains(&ip) {
            return Err(NotNow {
                reason: "a table copy to this address is already running".into(),
                retry_after_secs: Some(60),
            });
        }
        let want = size.saturating_sub(offset);
        let s = match self.served.get(identity) {
            Some(s) if now.duration_since(s.since) < COOLDOWN => *s,
            _ => Served {
                since: now,
                bytes: 0,
            },
        };
        if s.bytes.saturating_add(want) > size.saturating_mul(ALLOWANCE) {
            return Err(NotNow {
                reason: format!(
                    "{identity} was sent {} MiB of the table within the last {} min: the next \
                     copy in {} min",
                    s.bytes >> 20,
                    COOLDOWN.as_secs() / 60,
                    COOLDOWN
                        .saturating_sub(now.duration_since(s.since))
                        .as_secs()
                        .div_ceil(60)
                ),
                retry_after_secs: None,
            });
        }
        if !self.served.contains_key(identity) && self.served.len() >= MAX_REMEMBERED {
            self.served
                .retain(|_, s| now.duration_since(s.since) < COOLDOWN);
            if self.served.len() >= MAX_REMEMBERED {
                return Err(NotNow {
                    reason: "too many table copies within the hour: retry later".into(),
                    retry_after_secs: None,
                });
            }
        }
        // Counted whole at the start: a copy given up half-way still used its share.
        self.served.insert(
            identity.to_string(),
            Served {
                bytes: s.bytes.saturating_add(want),
                ..s
            },
        );
        self.running_ids.insert(identity.to_string());
        self.running_ips.insert(ip);
        Ok(())
    }

    /// The copy of `identity` to `ip` ended (sent, refused or failed).
    pub fn end(&mut self, identity: &str, ip: IpAddr) {
        self.running_ids.remove(identity);
        self.running_ips.remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const GIB: u64 = 1 << 30;

    fn ip(k: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, k))
    }

    #[test]
    fn one_copy_at_a_time_per_identity_and_per_address() {
        let mut b = CopyBook::default();
        let now = Instant::now();
        b.begin("rig1", ip(1), 0, GIB, now).unwrap();
        assert!(
            b.begin("rig1", ip(2), 0, GIB, now).is_err(),
            "same identity"
        );
        assert!(b.begin("rig2", ip(1), 0, GIB, now).is_err(), "same address");
        b.begin("rig2", ip(2), 0, GIB, now).unwrap();
        b.end("rig1", ip(1));
        b.begin("rig3", ip(1), 0, GIB, now).unwrap();
    }

    #[test]
    fn three_tables_an_hour_per_identity() {
        let mut b = CopyBook::default();
        let t0 = Instant::now();
        b.begin("rig1", ip(1), 0, GIB, t0).unwrap();
        b.end("rig1", ip(1));
        // The copy broke half-way: the box resumes from where it is; then its copy was
        // corrupted and it starts over.
        b.begin("rig1", ip(1), GIB / 2, GIB, t0).unwrap();
        b.end("rig1", ip(1));
        b.begin("rig1", ip(1), 0, GIB, t0).unwrap();
        b.end("rig1", ip(1));
        // A fourth whole table within the hour: refused, with the time left.
        let e = b
            .begin("rig1", ip(1), 0, GIB, t0 + Duration::from_secs(600))
            .unwrap_err();
        assert!(e.reason.contains("the next copy in 50 min"), "{e:?}");
        assert_eq!(e.retry_after_secs, None);
        // What is left of the allowance can still be used.
        b.begin("rig1", ip(1), GIB / 2, GIB, t0).unwrap();
        b.end("rig1", ip(1));
        assert!(b.begin("rig1", ip(1), GIB - 1, GIB, t0).is_err());
        // Another box is not affected; and an hour later rig1 may have copies again.
        b.begin("rig2", ip(2), 0, GIB, t0).unwrap();
        b.begin("rig1", ip(1), 0, GIB, t0 + COOLDOWN).unwrap();
    }

    #[test]
    fn what_is_remembered_stays_bounded() {
        let mut b = CopyBook::default();
        let t0 = Instant::now();
        for k in 0..MAX_REMEMBERED {
            let id = format!("b{k}");
            b.begin(&id, ip(1), 0, 1, t0).unwrap();
            b.end(&id, ip(1));
        }
        assert!(b.begin("late", ip(1), 0, 1, t0).is_err());
        // An hour later the old ones are forgotten to make room.
        b.begin("late", ip(1), 0, 1, t0 + COOLDOWN).unwrap();
        assert_eq!(b.served.len(), 1);
    }
}
