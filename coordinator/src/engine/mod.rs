//! The block engine: driven by factomd's minutes. At minute 1 it plans the block and broadcasts
//! the job (or why the block is skipped); every minute is relayed; at minute 9 it tells miners to
//! submit, waits for their records, keeps the best, writes them to the store and pays for them. What each block leaves
//! behind for operators (its stored record, the telemetry, effective rates) is `report.rs`'s.

mod report;

pub use report::MAX_SKIP_REASON;

use crate::block::{fetch_budget, plan_within, PlanError};
use crate::payer::{block_end, pay_block};
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

/// The longest default submit window (a mainnet minute is 60 s).
pub const DEFAULT_SUBMIT_WINDOW_CAP: Duration = Duration::from_secs(20);

/// The default submit window on a network whose blocks last `block`: a third of a Factom minute
/// (a tenth of the block), at most [`DEFAULT_SUBMIT_WINDOW_CAP`]. On mainnet 20 s; with 6 s blocks
/// 0.2 s.
pub fn default_submit_window(block: Duration) -> Duration {
    (block / 30).min(DEFAULT_SUBMIT_WINDOW_CAP)
}

/// The longest submit window that still leaves time to pay before the block ends: minute 9 lasts a
/// tenth of the block, and half of it is kept for paying (and for noticing minute 9 late).
pub fn max_submit_window(block: Duration) -> Duration {
    block / 20
}

/// A submit window longer than the network allows.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "a submit window of {window:.3} s leaves no time to pay before the block ends: factomd's blocks \
     last {block:.1} s, so minute 9 lasts {minute:.2} s, and the largest window that fits is \
     {max:.3} s (unset submit_window_secs / --submit-window for the default, {default:.3} s)"
)]
pub struct SubmitWindowError {
    /// The window asked for, in seconds.
    pub window: f64,
    /// The block length factomd reports, in seconds.
    pub block: f64,
    /// A minute, in seconds.
    pub minute: f64,
    /// The largest window that fits, in seconds.
    pub max: f64,
    /// The default window, in seconds.
    pub default: f64,
}

/// The submit window to use with blocks of `block`: `explicit` if it fits, else an error naming
/// the largest that does; the default when `explicit` is `None`.
pub fn fit_submit_window(
    explicit: Option<Duration>,
    block: Duration,
) -> Result<Duration, SubmitWindowError> {
    let max = max_submit_window(block);
    match explicit {
        None => Ok(default_submit_window(block)),
        Some(w) if w <= max => Ok(w),
        Some(w) => Err(SubmitWindowError {
            window: w.as_secs_f64(),
            block: block.as_secs_f64(),
            minute: block.as_secs_f64() / 10.0,
            max: max.as_secs_f64(),
            default: default_submit_window(block).as_secs_f64(),
        }),
    }
}

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
    /// land, so pay for them now; older ones can not, so mark them expired.
    async fn resume(&mut self, height: u32) -> Result<(), EngineError> {
        self.resumed = true;
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

    async fn skip(&self, height: u32, reason: String) -> Result<(), EngineError> {
        let reason = report::skip_reason(reason);
        tracing::warn!(height, "skipping block: {reason}");
        let (telemetry, days, why) = (
            self.hub.telemetry().clone(),
            self.cfg.history_days,
            reason.clone(),
        );
        self.store
            .call(move |s| report::record_skip(s, &telemetry, height, &why, days))
            .await?;
        self.hub.broadcast(Message::Skip { height, reason });
        Ok(())
    }

    async fn start_block(&mut self, height: u32) -> Result<(), EngineError> {
        if self.hub.current_job().map(|(h, _)| h) == Some(height) {
            return Ok(()); // minute 1 seen twice
        }
        // One job per height, whatever the node says (its minute going back, its height jumping
        // back, a restart): the store remembers every height a job was started for.
        if !self.store.call(move |s| s.claim_job(height)).await? {
            let why = format!(
                "a job was already started for block {height} (before a restart, or the node's \
                 height went back: a new simulated chain needs a fresh --data-dir)"
            );
            tracing::warn!(
                height,
                "minute 1 of block {height} again: {why}; not starting another"
            );
            self.hub.telemetry().skipped(&why);
            return Ok(());
        }
        self.store.call(move |s| s.expire_before(height)).await?;
        let Some(previous_height) = height.checked_sub(1) else {
            return self
                .skip(height, "block 0 has no previous block to grade".into())
                .await;
        };
        let version = self.cfg.network.version(height);
        let report = self.prices.poll(version).await;
        self.hub.telemetry().prices(&report);
        let prices = match self.prices.record_prices_from(&report) {
            Ok(p) => p,
            Err(e) => {
                return self.skip(height, e.to_string()).await;
            }
        };
        let needed = self.cap_ec();
        match self.client.ec_balance(&self.key.public()).await {
            Ok(b) if b >= 0 && b as u64 >= needed => self.hub.telemetry().ec_balance(b),
            Ok(b) => {
                self.hub.telemetry().ec_balance(b);
                return self
                    .skip(
                        height,
                        format!(
                            "EC balance {b} does not cover {} entries ({needed} EC)",
                            self.cfg.max_entries
                        ),
                    )
                    .await;
            }
            Err(e) => {
                if let Some(fault) = e.as_fault() {
                    self.hub.telemetry().node_fault(height, &fault);
                }
                return self.skip(height, format!("factomd: {e}")).await;
            }
        }
        let known = match self.winners.get(&previous_height).cloned() {
            Some(w) => Some(w),
            None => self.store.call(move |s| s.winners(previous_height)).await?,
        };
        let prev = match (known, &self.cfg.previous_winners) {
            (Some(w), _) => w,
            (None, Some(pinned)) if self.winners.is_empty() => {
                tracing::info!(
                    height,
                    "no winner history for block {previous_height}: using the pinned list {pinned:?}"
                );
                pinned.clone()
            }
            // Empty: recovered from the block's records (by work; see `block::plan`).
            (None, _) => Vec::new(),
        };
        // What is left of the block bounds the fetch of the previous one (see `fetch_budget`).
        let left = block_end(&self.client, height)
            .await
            .map(|end| end.saturating_duration_since(Instant::now()));
        let p = match plan_within(
            &self.client,
            self.table.as_ref(),
            self.cfg.network,
            height,
            &prev,
            prices,
            self.cfg.cutoff,
            &fetch_budget(left),
        )
        .await
        {
            Ok(p) => p,
            Err(e) => {
                if let PlanError::Fault { fault, .. } = &e {
                    self.hub.telemetry().node_fault(height, fault);
                }
                return self.skip(height, e.to_string()).await;
            }
        };
        let carried = p.template.winners.clone();
        let (telemetry, days) = (self.hub.telemetry().clone(), self.cfg.history_days);
        self.store
            .call(move |s| {
                s.set_winners(height, &carried)?;
                report::record_grading(s, &telemetry, previous_height, &carried, days)
            })
            .await?;
        self.winners.insert(height, p.template.winners.clone());
        keep_needed_winners(&mut self.winners, height);
        let job_id = self.next_job;
        self.next_job += 1;
        tracing::info!(
            height,
            job_id,
            min_difficulty = format!("{:016x}", p.min_difficulty),
            "job sent to {} miners",
            self.hub.miners().len()
        );
        self.hub.telemetry().job(Some(JobView {
            id: job_id,
            height,
            min_difficulty: format!("{:016x}", p.min_difficulty),
        }));
        self.job_sent = Some(Instant::now());
        self.hub.start_job(CurrentJob {
            job_id,
            template: p.template,
            min_difficulty: p.min_difficulty,
            records_wanted: self.cfg.records_wanted,
        });
        Ok(())
    }

    async fn finish_block(&mut self, height: u32) -> Result<(), EngineError> {
        // The hub owns the current job; it is closed when its work is collected below.
        let Some((h, job_id)) = self.hub.current_job() else {
            return Ok(());
        };
        if h != height {
            return Ok(());
        }
        self.hub.broadcast(Message::Stop { job_id });
        let mined_secs = self.job_sent.take().map(|t| t.elapsed().as_secs_f64());
        tokio::time::sleep(self.cfg.submit_window).await;
        // Miners and rates as the telemetry knows them: those behind relays included.
        let miners = self.hub.telemetry().miners_connected();
        let hash_rate = self.hub.telemetry().farm_rate().rate_60s;
        let (work, counts) = self.hub.take_work(job_id);
        self.hub.telemetry().job(None);
        if let Some(secs) = mined_secs {
            report::record_effective_rates(self.hub.telemetry(), &work, secs);
        }
        // One payment round per height, also across restarts and a node replaying minute 9.
        if !self.store.call(move |s| s.claim_payment(height)).await? {
            tracing::warn!(
                height,
                "block {height} was already paid for: not paying another round"
            );
            return Ok(());
        }
        let best = select_best(
            work.iter()
                .flat_map(|w| w.accepted.iter().map(move |a| (&w.record, a))),
            self.cfg.max_entries,
            self.cfg.max_entries_per_coinbase,
        );
        let mut rows = Vec::with_capacity(best.len());
        for (rec, a) in &best {
            let entry = rec.entry(&a.nonce, a.difficulty);
            match entry.hash().and_then(|h| entry.marshal().map(|m| (h, m))) {
                Ok((h, m)) => rows.push((h, rec.identity.clone(), a.difficulty, m)),
                Err(e) => tracing::error!(height, "cannot build entry, not paying for it: {e}"),
            }
        }
        self.store
            .call(move |s| {
                rows.iter()
                    .try_for_each(|(h, id, d, m)| s.add(h, height, id, *d, m).map(|_| ()))
            })
            .await?;
        let report = self.pay_until_block_end(height).await?;
        let ec_balance = self.client.ec_balance(&self.key.public()).await.ok();
        let (telemetry, days) = (self.hub.telemetry().clone(), self.cfg.history_days);
        let recorded = self
            .store
            .call(move |s| {
                let finished = report::Finished {
                    height,
                    job_id,
                    miners,
                    hash_rate,
                    counts: &counts,
                    report: &report,
                    ec_balance,
                };
                report::record_block(s, &telemetry, finished, days).map(|b| (report, b))
            })
            .await?;
        let (report, record) = recorded;
        tracing::info!(
            height,
            miners,
            received = record.records_received,
            verified = record.records_verified,
            rejected = ?record.records_rejected,
            paid = record.entries_paid,
            failed = record.entries_failed,
            expired = report.expired,
            over_cap = report.over_cap,
            credits_lost = report.credits_lost,
            ec_spent = record.ec_spent,
            ec_balance = %ec_balance.map_or_else(|| "unknown".to_string(), |b| b.to_string()),
            hash_rate = %protocol::format_rate(hash_rate),
            "block finished"
        );
        let _ = self.summaries.send(BlockSummary {
            block: record,
            winners_in_force: self.winners.get(&height).cloned().unwrap_or_default(),
        });
        Ok(())
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
