//! The block engine: driven by factomd's minutes. At minute 1 it plans the block and broadcasts
//! the job (or why the block is skipped); every minute is relayed; at minute 9 it tells miners to
//! submit, waits for their records, keeps the best, writes them to the store and pays for them. What each block leaves
//! behind for operators (its stored record, the telemetry, effective rates) is `report.rs`'s.

mod fence;
mod finish;
mod report;
mod start;
mod window;

pub use fence::Fence;
pub use window::{
    default_submit_window, fit_submit_window, max_submit_window, standby_delay, StandbyDelayError,
    StandbyTiming, SubmitWindowError, DEFAULT_SUBMIT_WINDOW_CAP,
};

pub use report::MAX_SKIP_REASON;

use crate::block::{fetch_budget, plan_within, PlanError};
use crate::payer::{block_end, minute_began, pay_block};
use crate::server::{CurrentJob, Hub};
use crate::store::BlockRecord;
use crate::store::{Store, StoreError};
use crate::telemetry::views::{JobView, NodeState};
use crate::verify::select_best;
use factom::{EcSecret, FactomdClient, MonitorEvent};
use hashcore::Table;
use pegnet::Network;
use prices::Oracle;
use protocol::Message;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc};

/// What stops the engine (the daemon then exits non-zero).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The store failed: nothing may be paid without a durable record of it.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The minute monitor is gone: the engine would never hear of another block.
    #[error("the minute monitor stopped")]
    MonitorStopped,
}

/// Entry credits one record's entry costs: identities are refused unless their records fit one
/// EC (see `pegnet::record::max_identity_len`), so every entry the engine pays for costs 1.
pub const ENTRY_COST_EC: u64 = 1;

/// How the engine runs a block: which network it mines, how many entries it pays for, how many
/// records it asks each miner for, the difficulty floor's cut-off and the submit window.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The network mined: decides the OPR chain, the record version at each height and whether
    /// a block with no recoverable winner list may still be mined (only the devnet).
    pub network: Network,
    /// Entries paid per block at most.
    pub max_entries: usize,
    /// Of those, at most this many paying any one coinbase (`None`: no limit; see
    /// [`select_best`]).
    pub max_entries_per_coinbase: Option<usize>,
    /// Records each miner submits.
    pub records_wanted: u32,
    /// PegNet's submission cut-off for the difficulty floor (0: no floor).
    pub cutoff: usize,
    /// How long after minute 9 submissions are collected before paying (see
    /// [`fit_submit_window`]).
    pub submit_window: Duration,
    /// The operator's winner list in force for the block before the first one planned, used
    /// instead of recovering it from that block's records when the store has no history.
    pub previous_winners: Option<Vec<String>>,
    /// Days of per-block history kept in the store (0: forever).
    pub history_days: u32,
    /// A standby coordinator: `Some(timing)`, how much longer than the primary it waits at minute
    /// 9 before it looks at the EC balance (see `fence.rs` and [`standby_delay`]). `None`: the
    /// primary (or the only coordinator).
    pub standby: Option<StandbyTiming>,
}

/// What happened in one block, as the devnet and the logs report it: the block's record as the
/// store keeps it (and `GET /api/blocks` shows it), and the winner list its records carry.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BlockSummary {
    /// The block's record: records, entries paid (with their hashes), EC spent and left, rates.
    #[serde(flatten)]
    pub block: BlockRecord,
    /// The previous winners the block's records carry (needed to grade it).
    #[serde(skip)]
    pub winners_in_force: Vec<String>,
}

/// The block engine: follows factomd's minutes (from `factom::Monitor`), plans and broadcasts a
/// job at minute 1, and at minute 9 collects the miners' verified records from the hub, records
/// the best in the store and pays for them. Built with [`EngineBuilder`], driven by [`Engine::run`].
pub struct Engine {
    /// How blocks are run (network, entries per block, submit window, …).
    pub cfg: EngineConfig,
    /// The miners' hub.
    pub hub: Arc<Hub>,
    /// factomd's JSON-RPC client: previous blocks for grading, the EC balance, commits and
    /// reveals.
    pub client: Arc<FactomdClient>,
    /// Verification and grading table.
    pub table: Arc<Table>,
    /// Durable record of entries.
    pub store: Store,
    /// Pays for entries.
    pub key: EcSecret,
    /// The price oracle polled at minute 1 for the record's prices.
    pub prices: Arc<Oracle>,
    /// Where block summaries go.
    pub summaries: mpsc::UnboundedSender<BlockSummary>,
    winners: BTreeMap<u32, Vec<String>>,
    next_job: u64,
    resumed: bool,
    /// When the current job was sent (for the miners' effective rates).
    job_sent: Option<Instant>,
    /// The farm's EC balance when the current job started, and its height (for the fence).
    start_balance: Option<(u32, i64)>,
}

/// Drops the winner lists no block after `height` will read: only `height`'s (for its summary)
/// and the one before (still in force while `height` is built) stay, so the map holds at most two
/// entries however long the daemon runs.
fn keep_needed_winners(winners: &mut BTreeMap<u32, Vec<String>>, height: u32) {
    winners.retain(|h, _| *h == height || h.checked_add(1) == Some(height));
}

/// What an [`Engine`] is built from: the shared pieces it drives. Fill in every field and call
/// [`build`](EngineBuilder::build).
pub struct EngineBuilder {
    /// How blocks are run.
    pub cfg: EngineConfig,
    /// The miners' hub the jobs go to and the records come from.
    pub hub: Arc<Hub>,
    /// factomd's JSON-RPC client.
    pub client: Arc<FactomdClient>,
    /// The verification and grading table.
    pub table: Arc<Table>,
    /// The durable record of entries.
    pub store: Store,
    /// The key paying for entries.
    pub key: EcSecret,
    /// The price oracle.
    pub prices: Arc<Oracle>,
}

impl EngineBuilder {
    /// The engine (call [`Engine::run`]) and where its block summaries arrive, one per finished
    /// block.
    pub fn build(self) -> (Engine, mpsc::UnboundedReceiver<BlockSummary>) {
        let (summaries, rx) = mpsc::unbounded_channel();
        let engine = Engine {
            cfg: self.cfg,
            hub: self.hub,
            client: self.client,
            table: self.table,
            store: self.store,
            key: self.key,
            prices: self.prices,
            summaries,
            winners: BTreeMap::new(),
            next_job: 1,
            resumed: false,
            job_sent: None,
            start_balance: None,
        };
        (engine, rx)
    }
}

impl Engine {
    /// The most a block's entries may cost together.
    fn cap_ec(&self) -> u64 {
        self.cfg.max_entries as u64 * ENTRY_COST_EC
    }

    /// When the block being paid ends: factomd's word, else a guess from the submit window.
    async fn block_end(&self, height: u32) -> Instant {
        match block_end(&self.client, height).await {
            Some(end) => end,
            None => Instant::now() + (self.cfg.submit_window * 3).max(Duration::from_secs(1)),
        }
    }

    /// Pays for `height`'s unfinished entries, retrying until the block ends.
    async fn pay_until_block_end(
        &self,
        height: u32,
    ) -> Result<crate::payer::PayReport, EngineError> {
        let until = self.block_end(height).await;
        pay_block(
            &self.client,
            &self.store,
            &self.key,
            height,
            self.cap_ec(),
            until,
        )
        .await
        .map_err(|crate::payer::PayError::Store(e)| e.into())
    }

    /// After a restart: entries recorded for the block being built but not yet revealed can still
    /// land, so pay for them now; older ones can not, so mark them expired. The block being built
    /// gets its job again, if it had one and its payment has not started: the same id and record
    /// fields, so the miners keep the work they did since minute 1.
    async fn resume(&mut self, height: u32) -> Result<(), EngineError> {
        self.resumed = true;
        let last = self.store.call(|s| s.last_job_id()).await?;
        self.next_job = self.next_job.max(last + 1);
        let (job, paying, balance) = self
            .store
            .call(move |s| {
                Ok((
                    s.job(height)?,
                    s.payment_started(height)?,
                    s.job_balance(height)?,
                ))
            })
            .await?;
        if let (Some(job), false, None) = (
            job.as_ref().and_then(CurrentJob::from_message),
            paying,
            self.hub.current_job(),
        ) {
            tracing::info!(
                height,
                job_id = job.job_id,
                "serving the block's job again after a restart"
            );
            self.hub.telemetry().job(Some(JobView {
                id: job.job_id,
                height,
                min_difficulty: format!("{:016x}", job.min_difficulty),
            }));
            self.winners.insert(height, job.template.winners.clone());
            self.job_sent = Some(Instant::now());
            self.start_balance = balance.map(|b| (height, b));
            self.hub.start_job(job);
        }
        match self.store.call(move |s| s.expire_before(height)).await? {
            0 => {}
            n => tracing::warn!(
                height,
                "{n} entries of earlier blocks were never revealed: marked expired (or lost)"
            ),
        }
        let r = self.pay_until_block_end(height).await?;
        if !r.revealed.is_empty() || !r.failed.is_empty() || r.credits_lost > 0 {
            tracing::info!(
                height,
                revealed = r.revealed.len(),
                already_committed = r.already_committed,
                failed = r.failed.len(),
                credits_lost = r.credits_lost,
                "resumed paying entries recorded before the restart"
            );
        }
        Ok(())
    }

    /// Follows the monitor until it stops. Returns only with an error: the store failed, or the
    /// monitor is gone.
    pub async fn run(
        mut self,
        mut events: broadcast::Receiver<MonitorEvent>,
    ) -> Result<(), EngineError> {
        loop {
            let ev = match events.recv().await {
                Ok(ev) => ev,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!("engine missed {n} monitor events");
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => {
                    return Err(EngineError::MonitorStopped)
                }
            };
            match ev {
                MonitorEvent::Minute { height, minute } => {
                    self.hub.telemetry().node(NodeState::Up, None);
                    self.hub.telemetry().minute(height, minute);
                    if !self.resumed {
                        self.resume(height).await?;
                    }
                    self.hub.broadcast(Message::Minute { height, minute });
                    match minute {
                        1 => self.start_block(height).await?,
                        9 => self.finish_block(height).await?,
                        _ => {}
                    }
                }
                MonitorEvent::NodeDown { reason } => {
                    tracing::warn!("factomd is down: {reason}");
                    self.hub.telemetry().node(NodeState::Down, Some(reason));
                }
                MonitorEvent::NodeStalled { since_secs } => {
                    let why = format!("factomd's minute has not moved for {since_secs} s");
                    tracing::warn!("{why}");
                    self.hub.telemetry().node(NodeState::Stalled, Some(why));
                }
                MonitorEvent::NodeUp => {
                    tracing::info!("factomd is back");
                    self.hub.telemetry().node(NodeState::Up, None);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_winner_lists_still_needed_are_kept() {
        let mut w = BTreeMap::new();
        for h in 1..=1000u32 {
            w.insert(h, vec![h.to_string()]);
            keep_needed_winners(&mut w, h);
            assert!(w.len() <= 2);
        }
        assert_eq!(w.keys().copied().collect::<Vec<_>>(), vec![999, 1000]);
        // A height that went back keeps only what is in force for it.
        w.insert(499, vec![]);
        w.insert(500, vec![]);
        keep_needed_winners(&mut w, 500);
        assert_eq!(w.keys().copied().collect::<Vec<_>>(), vec![499, 500]);
    }
}
