//! Admission: who may hold a socket that has not authenticated yet, and who may not connect at
//! all for a while.
//!
//! * [`Gate`]: the *pending handshakes* (sockets still upgrading to WebSocket or authenticating)
//!   are counted apart from the authenticated miners, so strangers can never take the miners'
//!   places. They are capped per source address ([`ServerConfig::max_pending_per_address`]; a
//!   socket over it is closed at once) and in total ([`ServerConfig::max_pending`]; when full, the
//!   oldest pending handshake of the address holding the most is dropped to admit the new one, so
//!   a miner arriving from its own address is never the one dropped while others flood). A
//!   pending handshake lives at most [`ServerConfig::auth_timeout`].
//! * [`Bans`]: addresses that keep failing (wrong secret, timeouts, malformed handshakes,
//!   protocol violations) are banned for [`ServerConfig::ban_for`]; the failures remembered are
//!   bounded ([`MAX_TRACKED_ADDRESSES`]).
//! * Both count by [`ban_key`]: an IPv4 address, or an IPv6 address's /64 (one site's whole
//!   prefix, which a single host can walk through), so a prefix cannot walk around a ban.
//!
//! [`ServerConfig::max_pending_per_address`]: super::ServerConfig::max_pending_per_address
//! [`ServerConfig::max_pending`]: super::ServerConfig::max_pending
//! [`ServerConfig::auth_timeout`]: super::ServerConfig::auth_timeout
//! [`ServerConfig::ban_for`]: super::ServerConfig::ban_for

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Most addresses whose failures are remembered at once; past it the oldest are forgotten.
pub const MAX_TRACKED_ADDRESSES: usize = 16_384;

/// What admission and bans count by: an IPv4 address as it is (an IPv4-mapped IPv6 address as
/// its IPv4 one), an IPv6 address by its /64 (the rest zeroed): a host usually holds a whole /64.
pub(super) fn ban_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(std::net::Ipv6Addr::from(
                u128::from(v6) & !((1u128 << 64) - 1),
            )),
        },
    }
}

/// The pending handshakes: who holds how many, in arrival order.
pub(crate) struct Gate {
    max_total: usize,
    max_per_ip: usize,
    inner: Mutex<GateInner>,
}

#[derive(Default)]
struct GateInner {
    next_id: u64,
    total: usize,
    /// Per address, its pending handshakes oldest first; dropping a sender evicts that one.
    by_ip: HashMap<IpAddr, VecDeque<(u64, oneshot::Sender<()>)>>,
}

/// One pending handshake's place; given back when dropped. `evicted` fires when the gate dropped
/// it to admit a newer one.
pub(crate) struct PendingSlot {
    gate: Arc<Gate>,
    ip: IpAddr,
    id: u64,
    pub(crate) evicted: oneshot::Receiver<()>,
}

impl Drop for PendingSlot {
    fn drop(&mut self) {
        let mut g = self.gate.lock();
        if let Some(q) = g.by_ip.get_mut(&self.ip) {
            if let Some(k) = q.iter().position(|(id, _)| *id == self.id) {
                q.remove(k);
                g.total -= 1;
                if g.by_ip.get(&self.ip).is_some_and(|q| q.is_empty()) {
                    g.by_ip.remove(&self.ip);
                }
            }
        }
    }
}

impl Gate {
    pub(crate) fn new(max_total: usize, max_per_ip: usize) -> Gate {
        Gate {
            max_total: max_total.max(1),
            max_per_ip: max_per_ip.max(1),
            inner: Mutex::new(GateInner::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, GateInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A place for a new handshake from `ip`, or `None` when that address already has its
    /// share pending. When every place is taken, the oldest handshake of the address holding
    /// the most is dropped.
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<PendingSlot> {
        let ip = ban_key(ip);
        let mut g = self.lock();
        if g.by_ip.get(&ip).map_or(0, VecDeque::len) >= self.max_per_ip {
            return None;
        }
        if g.total >= self.max_total {
            let victim = g
                .by_ip
                .iter()
                .max_by(|a, b| {
                    a.1.len()
                        .cmp(&b.1.len())
                        // The same count: the address with the older handshake.
                        .then_with(|| b.1.front().map(|x| x.0).cmp(&a.1.front().map(|x| x.0)))
                })
                .map(|(ip, _)| *ip);
            if let Some(v) = victim {
                let q = g.by_ip.get_mut(&v).expect("victim exists");
                q.pop_front(); // dropping its sender tells that handshake to stop
                if q.is_empty() {
                    g.by_ip.remove(&v);
                }
                g.total -= 1;
            }
        }
        let (tx, rx) = oneshot::channel();
        let id = g.next_id;
        g.next_id += 1;
        g.by_ip.entry(ip).or_default().push_back((id, tx));
        g.total += 1;
        Some(PendingSlot {
            gate: self.clone(),
            ip,
            id,
            evicted: rx,
        })
    }

    /// Pending handshakes now.
    #[cfg(test)]
    pub(super) fn pending(&self) -> usize {
        self.lock().total
    }
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
    banned_until: Option<Instant>,
}

/// Failed handshakes per source address (a wrong secret, a timeout, a malformed handshake), and
/// the bans they lead to. Failures older than the ban time are forgotten, and at most
/// [`MAX_TRACKED_ADDRESSES`] addresses are remembered, so many addresses cannot grow it.
pub(super) struct Bans {
    ban_after: u32,
    ban_for: Duration,
    map: Mutex<HashMap<IpAddr, Failures>>,
}

impl Bans {
    pub(super) fn new(ban_after: u32, ban_for: Duration) -> Bans {
        Bans {
            ban_after: ban_after.max(1),
            ban_for,
            map: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<IpAddr, Failures>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// True while `ip` is banned; an expired ban is forgotten.
    pub(super) fn banned(&self, ip: IpAddr) -> bool {
        let ip = ban_key(ip);
        let mut map = self.lock();
        match map.get(&ip).and_then(|f| f.banned_until) {
            Some(until) if until > Instant::now() => true,
            Some(_) => {
                map.remove(&ip);
                false
            }
            None => false,
        }
    }

    /// Counts a failed handshake from `ip` (`why` is logged with a ban); the `ban_after`-th
    /// within the ban time bans it for `ban_for`.
    pub(super) fn failed(&self, ip: IpAddr, why: &str) {
        let ip = ban_key(ip);
        let now = Instant::now();
        let mut map = self.lock();
        if map.len() >= MAX_TRACKED_ADDRESSES && !map.contains_key(&ip) {
            prune(&mut map, now, self.ban_for);
        }
        let f = map.entry(ip).or_insert(Failures {
            count: 0,
            last: now,
            banned_until: None,
        });
        if now.duration_since(f.last) > self.ban_for {
            f.count = 0;
        }
        f.count = f.count.saturating_add(1);
        f.last = now;
        if f.count >= self.ban_after && f.banned_until.is_none_or(|u| u <= now) {
            tracing::warn!(%ip, "{} failed handshakes (last: {why}): banned for {:?}", f.count, self.ban_for);
            f.banned_until = Some(now + self.ban_for);
        }
    }

    /// Addresses remembered now.
    #[cfg(test)]
    pub(super) fn tracked(&self) -> usize {
        self.lock().len()
    }
}

/// Forgets what has expired; if that is not enough, the older half of the rest (by last failure),
/// active bans last.
fn prune(map: &mut HashMap<IpAddr, Failures>, now: Instant, ban_for: Duration) {
    map.retain(|_, f| {
        f.banned_until.is_some_and(|u| u > now) || now.duration_since(f.last) <= ban_for
    });
    if map.len() >= MAX_TRACKED_ADDRESSES {
        let mut lasts: Vec<Instant> = map.values().map(|f| f.last).collect();
        lasts.sort_unstable();
        let cut = lasts[lasts.len() / 2];
        map.retain(|_, f| f.last > cut || f.banned_until.is_some_and(|u| u > now));
    }
    if map.len() >= MAX_TRACKED_ADDRESSES {
        // Nearly all of them banned: bans go too, oldest first (the bound matters more).
        let mut lasts: Vec<Instant> = map.values().map(|f| f.last).collect();
        lasts.sort_unstable();
        let cut = lasts[lasts.len() / 2];
        map.retain(|_, f| f.last > cut);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn ip(k: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + k))
    }

    #[test]
    fn pending_handshakes_are_capped_per_address_and_the_biggest_holder_loses_its_oldest() {
        let gate = Arc::new(Gate::new(4, 2));
        let mut a1 = gate.admit(ip(1)).unwrap();
        let _a2 = gate.admit(ip(1)).unwrap();
        assert!(gate.admit(ip(1)).is_none(), "over the per-address cap");
        let mut b1 = gate.admit(ip(2)).unwrap();
        let _c1 = gate.admit(ip(3)).unwrap();
        assert_eq!(gate.pending(), 4);
        // Full: address 1 holds the most, its oldest handshake goes.
        let _d1 = gate.admit(ip(4)).unwrap();
        assert_eq!(gate.pending(), 4);
        assert!(a1.evicted.try_recv().is_err(), "a1 was told");
        assert!(matches!(
            b1.evicted.try_recv(),
            Err(oneshot::error::TryRecvError::Empty)
        ));
        drop(a1);
        assert_eq!(gate.pending(), 4, "an evicted slot is not given back twice");
        drop(b1);
        assert_eq!(gate.pending(), 3);
    }

    #[test]
    fn failures_ban_and_the_map_stays_bounded() {
        let bans = Bans::new(3, Duration::from_secs(60));
        for _ in 0..2 {
            bans.failed(ip(1), "timeout");
        }
        assert!(!bans.banned(ip(1)));
        bans.failed(ip(1), "timeout");
        assert!(bans.banned(ip(1)));
        for k in 2..(3 * MAX_TRACKED_ADDRESSES as u32) {
            bans.failed(ip(k), "malformed");
        }
        assert!(
            bans.tracked() <= MAX_TRACKED_ADDRESSES,
            "{}",
            bans.tracked()
        );
        assert!(bans.banned(ip(1)), "an active ban survives pruning");
    }

    #[test]
    fn an_ipv6_prefix_is_banned_as_a_whole_and_mapped_ipv4_as_ipv4() {
        let v6 = |s: &str| IpAddr::V6(s.parse().unwrap());
        let bans = Bans::new(2, Duration::from_secs(60));
        // Two failures from two addresses of one /64: the whole /64 is banned.
        bans.failed(v6("2001:db8:1:2::1"), "timeout");
        bans.failed(v6("2001:db8:1:2:ffff::9"), "timeout");
        assert!(bans.banned(v6("2001:db8:1:2:abcd:1:2:3")));
        assert!(!bans.banned(v6("2001:db8:1:3::1")), "the next /64 is not");
        assert_eq!(bans.tracked(), 1);
        // IPv4, and IPv4 mapped in IPv6, stay per address.
        bans.failed(ip(7), "timeout");
        bans.failed(v6("::ffff:10.0.0.7"), "timeout");
        assert!(bans.banned(ip(7)));
        assert!(!bans.banned(ip(8)));
        assert_eq!(ban_key(v6("::ffff:10.0.0.7")), ip(7));
    }
}
