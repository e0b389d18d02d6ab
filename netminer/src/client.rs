//! The miner at the top: keep a link to a coordinator (`netmine_link`'s dialer: the list of
//! coordinators preferred first, backoff with jitter, failback, refusals remembered), mine each
//! session's jobs (`session.rs`), and log a stats line every `stats_line_every` and once at
//! the end.
//!
//! A refusal during the handshake (wrong secret, bad or duplicate identity, a certificate that is
//! not the pinned one) comes before the coordinator proved the secret, so anyone answering at a
//! coordinator's address could send it. It therefore only moves the miner on to the next
//! coordinator of its list; that address is not tried again for
//! [`LinkConfig::refused_retry_after`] (at least 10 minutes by default). The miner ends, with the
//! refusals' messages, only when every coordinator of its list refused it within that time: a
//! single wrong `--secret` still ends the miner at once.
//!
//! Between sessions the backend is paused: a miner without a coordinator has no block to mine
//! for.

use crate::control::Controlled;
use crate::stats_line::Activity;
use hashcore::MiningBackend;
use netmine_link::{AllRefused, Dialer, DialerError, LinkConfig};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Miner settings: the link, and what the miner does with it.
#[derive(Debug, Clone)]
pub struct MinerConfig {
    /// The coordinators and how to link to them (secret, identity, coinbase, TLS, timeouts).
    pub link: LinkConfig,
    /// Records to submit per block.
    pub top: usize,
    /// How often hash rates are reported.
    pub stats_every: Duration,
    /// How often the stats line is logged (also once at shutdown).
    pub stats_line_every: Duration,
}

impl Default for MinerConfig {
    /// Every setting at its default, with no coordinator, an empty secret and no names: fill in
    /// the link's `coordinators`, `secret`, `identity` and `coinbase`.
    fn default() -> Self {
        MinerConfig {
            link: LinkConfig::default(),
            top: 3,
            stats_every: Duration::from_secs(10),
            stats_line_every: Duration::from_secs(15 * 60),
        }
    }
}

/// Why the miner stopped.
#[derive(Debug, thiserror::Error)]
pub enum MinerError {
    /// The settings are wrong (checked before connecting).
    #[error(transparent)]
    Setup(#[from] DialerError),
    /// Every coordinator of the list refused this miner for a reason only the operator can fix.
    #[error(transparent)]
    Refused(#[from] AllRefused),
}

/// Mines for the coordinators until `shutdown` turns true (Ok) or a fatal refusal (Err), logging
/// a stats line every `stats_line_every` and once at the end.
pub async fn run(
    cfg: MinerConfig,
    backend: Arc<dyn MiningBackend>,
    shutdown: watch::Receiver<bool>,
) -> Result<(), MinerError> {
    run_controlled(cfg, Arc::new(Controlled::fixed(backend)), shutdown).await
}

/// [`run`] with a backend the coordinator may rebuild (remote control: threads, devices,
/// restart; see [`crate::control`]).
pub async fn run_controlled(
    cfg: MinerConfig,
    ctl: Arc<Controlled>,
    shutdown: watch::Receiver<bool>,
) -> Result<(), MinerError> {
    let backend: Arc<dyn MiningBackend> = ctl.clone();
    let activity = Arc::new(Activity::default());
    let (last, last_rx) = tokio::sync::oneshot::channel();
    let line = tokio::spawn(crate::stats_line::run(
        cfg.stats_line_every,
        backend.clone(),
        activity.clone(),
        last_rx,
    ));
    let r = mine(&cfg, &ctl, shutdown, &activity).await;
    let _ = last.send(());
    let _ = line.await;
    r
}

async fn mine(
    cfg: &MinerConfig,
    ctl: &Arc<Controlled>,
    mut shutdown: watch::Receiver<bool>,
    activity: &Activity,
) -> Result<(), MinerError> {
    let mut dialer = Dialer::new(cfg.link.clone())?;
    // The job being mined survives a lost link: a coordinator that comes back (restarted, or a
    // standby) with the same job keeps this box's work since minute 1, and the box submits it at
    // minute 9. Without any coordinator for KEEP_WORK_FOR, the backend pauses.
    let mut carried = crate::session::Carried::default();
    loop {
        let linked = {
            let next = dialer.next_session(&mut shutdown);
            tokio::pin!(next);
            tokio::select! {
                r = &mut next => r?,
                () = tokio::time::sleep(KEEP_WORK_FOR), if carried.current.is_some() => {
                    tracing::info!("no coordinator for {} s: pausing the current job", KEEP_WORK_FOR.as_secs());
                    ctl.set_job(None);
                    carried.current = None;
                    next.await?
                }
            }
        };
        let Some(linked) = linked else { break };
        activity.connected(true);
        let end =
            crate::session::run(cfg, linked, ctl, &mut carried, &mut shutdown, activity).await;
        activity.connected(false);
        match end {
            Some(how) => dialer.ended(how),
            None => break,
        }
    }
    ctl.set_job(None);
    Ok(())
}

/// How long the current job keeps being mined while no coordinator can be reached (a block).
pub const KEEP_WORK_FOR: Duration = Duration::from_secs(600);
