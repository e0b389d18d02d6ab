//! Keeping a link up along a list of coordinators, preferred first: the one loop both the miner
//! and the relay drive.
//!
//! ```text
//! let mut dialer = Dialer::new(cfg)?;
//! while let Some(mut linked) = dialer.next_session(&mut shutdown).await? {
//!     // … use linked.ws / linked.session; select on linked.failback.preferred_back() …
//!     dialer.ended(Ended::Lost(why));   // or Ended::Refused(why), Ended::Failback
//! }
//! // None: shut down.  Err(AllRefused): every address refused lately; say why and stop.
//! ```
//!
//! The rules, in the order [`Dialer::next_session`] applies them:
//!
//! * **A pass** tries the addresses in order, from the preferred one, and hands out the first
//!   session that authenticates. A session that ends with [`Ended::Lost`] moves on to the next
//!   address of the same pass at once; only when a pass is over without a session does the dialer
//!   wait before the next pass, which starts from the preferred address again.
//! * **Backoff** ([`Backoff`]): the wait starts at 250 ms and doubles up to 30 s; each wait is
//!   multiplied by a random factor in 0.5..1.5, so the boxes of a farm that lost their
//!   coordinator together do not all knock again in the same instant. A session that
//!   authenticates resets it.
//! * **Refusals**: a refusal only the operator can fix ([`crate::ConnectError::is_fatal`] at the
//!   handshake, or [`Ended::Refused`] from within a session) came before the coordinator proved
//!   the secret, or from the coordinator's policy, so it may be an impostor's. That address is
//!   left alone (not dialled, not failed back to) for [`LinkConfig::refused_retry_after`]; the
//!   dialer gives up with [`AllRefused`] only when *every* address refused within that time.
//!   With one address, one refusal is enough: a wrong secret still stops the miner at once.
//! * **Failback**: on a backup address, [`Linked::failback`] probes the preferred one with a bare
//!   TCP connect every [`LinkConfig::failback_every`] (not while it is left alone after a
//!   refusal); when it answers, the user ends the session with [`Ended::Failback`] and the next
//!   pass starts from the preferred address without waiting.

use crate::addr::CoordinatorAddr;
use crate::config::{ConfigError, LinkConfig};
use crate::connect::{connect, tls_for, Ws};
use crate::tls::TlsSetupError;
use protocol::Session;
use rand::RngExt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, watch};

/// The first wait after a pass without a session.
pub const BACKOFF_FIRST: Duration = Duration::from_millis(250);
/// The longest wait (before jitter).
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// How long a failback probe may take to connect.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The wait between passes: doubles from [`BACKOFF_FIRST`] up to [`BACKOFF_MAX`], each wait
/// times a jitter factor in 0.5..1.5.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    base: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: BACKOFF_FIRST,
        }
    }
}

impl Backoff {
    /// Back to the first wait (after a successful link).
    pub fn reset(&mut self) {
        self.base = BACKOFF_FIRST;
    }

    /// The next wait with a random jitter factor ([`jitter`]).
    pub fn next_wait(&mut self) -> Duration {
        self.next_wait_with(jitter())
    }

    /// The next wait, `factor` (kept within 0.5..=1.5) times the current base, which then
    /// doubles up to [`BACKOFF_MAX`].
    pub fn next_wait_with(&mut self, factor: f64) -> Duration {
        let wait = self.base.mul_f64(factor.clamp(0.5, 1.5));
        self.base = (self.base * 2).min(BACKOFF_MAX);
        wait
    }
}

/// A random jitter factor in 0.5..1.5.
pub fn jitter() -> f64 {
    rand::rng().random_range(0.5..1.5)
}

/// Every address of the list refused the link lately, for a reason only the operator can fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .reasons.join("\n"))]
pub struct AllRefused {
    /// Each address's refusal, in list order.
    pub reasons: Vec<String>,
}

/// Why a [`Dialer`] cannot start.
#[derive(Debug, thiserror::Error)]
pub enum DialerError {
    /// The identity, coinbase or address list is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The TLS settings cannot be used.
    #[error(transparent)]
    Tls(#[from] TlsSetupError),
}

/// How a session handed out by [`Dialer::next_session`] ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// Lost (closed, silent, a protocol violation…): the next address, then backoff.
    Lost(String),
    /// Refused by the coordinator for a reason only the operator can fix: the address is left
    /// alone like one that refused the handshake.
    Refused(String),
    /// The preferred address is back ([`Failback::preferred_back`]): start from it again.
    Failback,
}

/// An authenticated session from [`Dialer::next_session`].
pub struct Linked {
    /// The WebSocket.
    pub ws: Ws,
    /// The authenticated session on it.
    pub session: Session,
    /// The address it is with.
    pub addr: CoordinatorAddr,
    /// The protocol version spoken.
    pub version: u32,
    /// The coinbase the coordinator assigned (the one the records must carry).
    pub coinbase: String,
    /// Says when the preferred address is back (never, on the preferred address).
    pub failback: Failback,
}

/// Watches, from a backup address, for the preferred one to come back.
pub struct Failback {
    back: Option<oneshot::Receiver<()>>,
    probe: Option<tokio::task::JoinHandle<()>>,
}

impl Failback {
    /// On the preferred address: never fires.
    fn never() -> Failback {
        Failback {
            back: None,
            probe: None,
        }
    }

    /// Probes `target` every `every` (not before `not_before`) until it accepts a connection.
    fn watch(target: String, every: Duration, not_before: Option<Instant>) -> Failback {
        let (tx, rx) = oneshot::channel();
        let probe = tokio::spawn(async move {
            let mut tick = tokio::time::interval(every.max(Duration::from_millis(1)));
            tick.tick().await; // the first tick is immediate
            loop {
                tick.tick().await;
                if not_before.is_some_and(|t| Instant::now() < t) {
                    continue;
                }
                let probe = tokio::net::TcpStream::connect(target.as_str());
                if matches!(tokio::time::timeout(PROBE_TIMEOUT, probe).await, Ok(Ok(_))) {
                    let _ = tx.send(());
                    return;
                }
            }
        });
        Failback {
            back: Some(rx),
            probe: Some(probe),
        }
    }

    /// Resolves when the preferred address answers (then end the session with
    /// [`Ended::Failback`]); pending forever on the preferred address. Cancel-safe: use it as
    /// a branch of the session's `select!`.
    pub async fn preferred_back(&mut self) {
        if let Some(rx) = &mut self.back {
            let answered = rx.await.is_ok();
            self.back = None;
            if answered {
                return;
            }
        }
        std::future::pending::<()>().await
    }
}

impl Drop for Failback {
    fn drop(&mut self) {
        if let Some(p) = &self.probe {
            p.abort();
        }
    }
}

/// Which addresses refused the link fatally, and when: each is left alone for `retry_after`.
#[derive(Debug)]
struct Refusals {
    at: Vec<Option<(Instant, String)>>,
    retry_after: Duration,
}

impl Refusals {
    fn new(n: usize, retry_after: Duration) -> Self {
        Refusals {
            at: vec![None; n],
            retry_after,
        }
    }

    fn mark(&mut self, k: usize, reason: String, now: Instant) {
        self.at[k] = Some((now, reason));
    }

    fn clear(&mut self, k: usize) {
        self.at[k] = None;
    }

    /// Until when address `k` is left alone, if it refused lately.
    fn until(&self, k: usize, now: Instant) -> Option<Instant> {
        self.at[k]
            .as_ref()
            .map(|(at, _)| *at + self.retry_after)
            .filter(|until| *until > now)
    }

    fn recent(&self, k: usize, now: Instant) -> bool {
        self.until(k, now).is_some()
    }

    /// Every refusal, when every address refused lately.
    fn all_recent(&self, now: Instant) -> Option<AllRefused> {
        if self.at.is_empty() || !(0..self.at.len()).all(|k| self.recent(k, now)) {
            return None;
        }
        let reasons = self.at.iter().flatten().map(|(_, r)| r.clone()).collect();
        Some(AllRefused { reasons })
    }
}

/// Keeps a link up along [`LinkConfig::coordinators`]: see the [module](self) documentation.
pub struct Dialer {
    cfg: LinkConfig,
    tls: Option<Arc<rustls::ClientConfig>>,
    backoff: Backoff,
    refusals: Refusals,
    /// The next address of the current pass.
    next: usize,
    /// The address of the session handed out last, until [`Dialer::ended`].
    current: Option<usize>,
}

impl Dialer {
    /// Checks `cfg` ([`LinkConfig::check`]) and sets up TLS if any address is `wss://`.
    pub fn new(cfg: LinkConfig) -> Result<Dialer, DialerError> {
        cfg.check()?;
        let tls = tls_for(&cfg, &cfg.coordinators)?;
        let refusals = Refusals::new(cfg.coordinators.len(), cfg.refused_retry_after);
        Ok(Dialer {
            cfg,
            tls,
            backoff: Backoff::default(),
            refusals,
            next: 0,
            current: None,
        })
    }

    /// The settings it links with.
    pub fn config(&self) -> &LinkConfig {
        &self.cfg
    }

    /// The next authenticated session: `Ok(None)` once `shutdown` turns true (or its sender is
    /// gone), `Err` when every address refused lately. Tell the dialer how the session ended
    /// ([`Dialer::ended`]) before asking for the next one.
    pub async fn next_session(
        &mut self,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<Option<Linked>, AllRefused> {
        loop {
            if *shutdown.borrow() {
                return Ok(None);
            }
            if let Some(all) = self.refusals.all_recent(Instant::now()) {
                return Err(all);
            }
            while self.next < self.cfg.coordinators.len() {
                let k = self.next;
                self.next += 1;
                if self.refusals.recent(k, Instant::now()) {
                    continue;
                }
                let addr = &self.cfg.coordinators[k];
                let attempt = tokio::select! {
                    r = connect(&self.cfg, addr, self.tls.as_ref()) => r,
                    _ = shutdown.changed() => return Ok(None),
                };
                match attempt {
                    Ok(opened) => {
                        tracing::info!(coordinator = %addr, identity = %self.cfg.identity, version = opened.version, "connected and authenticated");
                        self.backoff.reset();
                        self.current = Some(k);
                        let failback = if k == 0 {
                            Failback::never()
                        } else {
                            Failback::watch(
                                self.cfg.coordinators[0].probe_target().to_string(),
                                self.cfg.failback_every,
                                self.refusals.until(0, Instant::now()),
                            )
                        };
                        return Ok(Some(Linked {
                            ws: opened.ws,
                            session: opened.session,
                            addr: addr.clone(),
                            version: opened.version,
                            coinbase: opened.coinbase,
                            failback,
                        }));
                    }
                    // Before the welcome: the refusal is not proven to be the coordinator's.
                    Err(e) if e.is_fatal() => self.refused(
                        k,
                        e.to_string(),
                        "not proven to come from the coordinator: ",
                    )?,
                    Err(e) => {
                        self.refusals.clear(k);
                        tracing::warn!(coordinator = %addr, "{e}");
                    }
                }
            }
            self.next = 0;
            let wait = self.backoff.next_wait();
            tracing::info!("reconnecting in {:.1} s", wait.as_secs_f64());
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => return Ok(None),
            }
        }
    }

    /// How the last session handed out ended.
    pub fn ended(&mut self, how: Ended) {
        let Some(k) = self.current.take() else {
            return;
        };
        let addr = &self.cfg.coordinators[k];
        match how {
            Ended::Lost(why) => {
                self.refusals.clear(k);
                tracing::warn!(coordinator = %addr, "{why}");
            }
            // Every address refused: the next `next_session` says so.
            Ended::Refused(why) => {
                let _ = self.refused(k, why, "");
            }
            Ended::Failback => {
                tracing::info!(coordinator = %self.cfg.coordinators[0], "the preferred coordinator is back");
                self.next = 0;
            }
        }
    }

    /// Leaves address `k` alone for a while; `Err` when every address refused lately. `note`
    /// prefixes the log's explanation.
    fn refused(&mut self, k: usize, reason: String, note: &str) -> Result<(), AllRefused> {
        let now = Instant::now();
        self.refusals.mark(k, reason.clone(), now);
        if let Some(all) = self.refusals.all_recent(now) {
            return Err(all);
        }
        tracing::warn!(
            coordinator = %self.cfg.coordinators[k],
            "{reason} ({note}trying the next one, and this one again in {} s)",
            self.cfg.refused_retry_after.as_secs()
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests;
