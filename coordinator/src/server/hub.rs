//! The hub: the only owner of the current job and of each miner's verified work for it. The
//! block engine starts and collects jobs here; the connections register miners, report their hash
//! rates and hand in submissions, which are verified (off the async threads) and accounted here.

use super::book::JobBook;
use super::ServerConfig;
use crate::telemetry::Telemetry;
use hashcore::Table;
use protocol::{Message, Stats};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{broadcast, oneshot};

pub use super::book::{CurrentJob, JobCounts, MinerWork};

/// The connection that holds an identity, the box key it proved (none: an unsigned box), and how
/// to tell it to go (a newer connection replaced it, or the operator revoked it).
struct Holder {
    conn: u64,
    key: Option<protocol::PublicKey>,
    replaced: oneshot::Sender<String>,
    /// The protocol version the connection speaks.
    version: u32,
    /// Remote-control requests for the connection to send (see `control.rs`). Boxed: a tokio
    /// channel allocates a block of 32 slots when it is made, and 32 whole `Message`s would add
    /// ~5 KiB to every connection for a channel that is almost always empty.
    control: tokio::sync::mpsc::Sender<Box<Message>>,
}

/// Why [`Hub::register`] gave no registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RegisterError {
    /// `max_connections` miners are connected, and the identity is not one of them.
    Full,
    /// The identity is held by a connection that proved another box key.
    OtherKey,
}

/// A connection's hold on its identity, from [`Hub::register`]: give it back with
/// [`Hub::unregister`]. `replaced` fires when a newer connection took the identity.
pub(super) struct Registration {
    /// This connection's number.
    pub(super) conn: u64,
    /// Fires (with why) when a newer connection of the same identity replaced this one.
    pub(super) replaced: oneshot::Receiver<String>,
    /// Remote-control requests to send to the peer (see `control.rs`).
    pub(super) control: tokio::sync::mpsc::Receiver<Box<Message>>,
}

/// The hub's state, behind one lock that only the hub's own methods take.
#[derive(Default)]
struct State {
    connected: HashMap<String, Holder>,
    book: JobBook,
}

/// Shared by the listener, the connections and the block engine. It owns its state: the other
/// files of the server call its methods and never hold its lock.
pub struct Hub {
    cfg: ServerConfig,
    table: Arc<Table>,
    events: broadcast::Sender<Message>,
    /// The same broadcasts, encoded once for the sessions (see `outgoing.rs`).
    frames: broadcast::Sender<Arc<super::outgoing::Outgoing>>,
    next_conn: AtomicU64,
    /// Where submissions are hashed: a bounded pool behind a priority queue, within the block's
    /// verification budget (see `verifier.rs` and `budget.rs`).
    pub(super) verifier: super::verifier::Verifier,
    state: Mutex<State>,
    telemetry: Arc<Telemetry>,
    pub(super) table_server: super::table_serve::TableServer,
    /// The farm's roster: which key is which identity.
    roster: Arc<crate::roster::RosterBook>,
    /// The coinbase every record is paid to, if the farm pays one address (`payout` in the
    /// settings; a relay learns its upstream's).
    payout: std::sync::RwLock<Option<String>>,
    /// Relay mode: where accepted records go up (see `relayed.rs`).
    pub(super) upstream: std::sync::OnceLock<tokio::sync::mpsc::Sender<super::RelayedSubmission>>,
    /// Remote-control requests waiting for their answers (see `control.rs`).
    pub(super) controls: super::control::Controls,
}

/// The sizes of the hub's state (to check it stays bounded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Footprint {
    /// Registered miners.
    pub miners: usize,
    /// Miners with work (accepted or counted records) for the current job.
    pub work_entries: usize,
    /// Accepted records held, all miners together.
    pub accepted: usize,
    /// Nonces held for the duplicate check, all miners together.
    pub nonces: usize,
    /// Miners listed by the telemetry (each with its last hash-rate report).
    pub stats: usize,
    /// Per-worker rates held, all reports together (in the telemetry).
    pub per_worker: usize,
    /// Refusal counters of the current job.
    pub refusal_keys: usize,
}

/// Most per-worker rates kept from one miner's `stats`.
pub const MAX_WORKERS: usize = 1024;

impl Hub {
    /// A hub verifying with `table`.
    pub fn new(cfg: ServerConfig, table: Arc<Table>) -> Arc<Hub> {
        let telemetry = Arc::new(Telemetry::new(cfg.max_work_entries()));
        Hub::with_telemetry(cfg, table, telemetry)
    }

    /// A hub reporting to `telemetry` (made before the hub: the daemon serves its HTTP API while
    /// it waits for factomd), with a roster kept in memory only.
    pub fn with_telemetry(
        cfg: ServerConfig,
        table: Arc<Table>,
        telemetry: Arc<Telemetry>,
    ) -> Arc<Hub> {
        let roster = Arc::new(crate::roster::RosterBook::in_memory());
        Hub::with_roster(cfg, table, telemetry, roster)
    }

    /// A hub with the farm's roster (kept in the store, see [`crate::roster`]).
    pub fn with_roster(
        cfg: ServerConfig,
        table: Arc<Table>,
        telemetry: Arc<Telemetry>,
        roster: Arc<crate::roster::RosterBook>,
    ) -> Arc<Hub> {
        if cfg.secret.is_none() {
            tracing::warn!("miner authentication is OFF: anyone who can reach this port can mine and submit records");
        }
        let (events, _) = broadcast::channel(64);
        let (frames, _) = broadcast::channel(64);
        let verifier = super::verifier::Verifier::new(cfg.verify_threads, table.clone());
        let hub = Arc::new(Hub {
            controls: Default::default(),
            table_server: super::table_serve::TableServer::new(cfg.max_table_transfers),
            upstream: std::sync::OnceLock::new(),
            payout: std::sync::RwLock::new(cfg.payout.clone()),
            roster,
            telemetry,
            verifier,
            cfg,
            table,
            events,
            frames,
            next_conn: AtomicU64::new(1),
            state: Mutex::new(State::default()),
        });
        hub.telemetry.control_desk().attach(&hub);
        hub
    }

    /// The farm's live picture (miners, rates, health, metrics), for the HTTP API and the logs.
    pub fn telemetry(&self) -> &Arc<Telemetry> {
        &self.telemetry
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The listener's settings.
    pub fn cfg(&self) -> &ServerConfig {
        &self.cfg
    }

    /// The farm's roster.
    pub fn roster(&self) -> &Arc<crate::roster::RosterBook> {
        &self.roster
    }

    /// The coinbase every record is paid to, if the farm pays one address.
    pub fn payout(&self) -> Option<String> {
        self.payout
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Sets the farm's payout address (a relay learns it from its upstream's welcome); miners
    /// that log in from now on are told it.
    pub fn set_payout(&self, coinbase: Option<String>) {
        *self.payout.write().unwrap_or_else(|e| e.into_inner()) = coinbase;
    }

    /// Tells every connection whose identity the roster no longer lets in (revoked, another key
    /// pinned, moved behind a relay) to go; the others keep mining. Returns how many went.
    pub fn enforce_roster(&self) -> usize {
        let roster = self.roster.snapshot();
        let mut st = self.lock();
        let gone: Vec<String> = st
            .connected
            .iter()
            .filter(|(id, h)| match roster.get(id) {
                None => false,
                Some(e) => e.revoked || e.relay.is_some() || (e.key.is_some() && e.key != h.key),
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in &gone {
            if let Some(h) = st.connected.remove(id) {
                tracing::warn!(identity = %id, "the roster no longer lets this identity in: disconnecting it");
                let _ = h.replaced.send(format!(
                    "identity {id:?} was revoked (or re-keyed) by the farm's operator"
                ));
            }
        }
        gone.len()
    }

    /// The table submissions are verified with (and copies are served from).
    pub fn table(&self) -> &Arc<Table> {
        &self.table
    }

    /// Receives every broadcast (the connections relay them; logs and tests watch them).
    pub fn subscribe(&self) -> broadcast::Receiver<Message> {
        self.events.subscribe()
    }

    /// The broadcasts as the sessions send them: each encoded once, for every connection.
    pub(super) fn subscribe_frames(&self) -> broadcast::Receiver<Arc<super::outgoing::Outgoing>> {
        self.frames.subscribe()
    }

    /// Sends a message to every authenticated miner (its body encoded once, sealed per session).
    pub fn broadcast(&self, msg: Message) {
        if self.frames.receiver_count() > 0 {
            let _ = self
                .frames
                .send(super::outgoing::Outgoing::new(msg.clone()));
        }
        let _ = self.events.send(msg);
    }

    /// Starts a new job (forgetting the previous job's submissions) and broadcasts it.
    pub fn start_job(&self, job: CurrentJob) {
        let msg = job.message();
        let job_id = job.job_id;
        let enrolled = {
            let mut st = self.lock();
            st.book.start(job);
            let roster = self.roster.snapshot();
            let now = crate::telemetry::unix_now();
            st.connected
                .iter()
                .filter(|(id, h)| roster.enrolled(id, h.key, None, now))
                .count()
        };
        self.verifier.start_job(
            job_id,
            self.cfg.records_per_miner,
            enrolled,
            self.cfg.max_work_entries(),
        );
        self.broadcast(msg);
    }

    /// The submit window the verification budget is sized for (the engine's; 20 s until set).
    pub fn set_submit_window(&self, window: std::time::Duration) {
        self.verifier.set_window(window);
    }

    /// How the roster knows `identity` for job `job_id`'s budget: enrolled (its entry from before
    /// the job started, proved by the key its connection holds, or by the `relay` it comes
    /// through) or unknown (anything else, and any job that is not the open one).
    pub(super) fn standing(
        &self,
        identity: &str,
        relay: Option<&str>,
        job_id: u64,
    ) -> super::budget::Standing {
        use super::budget::Standing;
        let Some(started) = self.verifier.job_started(job_id) else {
            return Standing::Unknown;
        };
        let key = match relay {
            Some(_) => None,
            None => self.lock().connected.get(identity).and_then(|h| h.key),
        };
        if self
            .roster
            .snapshot()
            .enrolled(identity, key, relay, started)
        {
            Standing::Enrolled
        } else {
            Standing::Unknown
        }
    }

    /// What the verification pool has done, and the open job's budget.
    pub fn verify_stats(&self) -> super::VerifyStats {
        self.verifier.stats()
    }

    /// The current job as (height, job id), if a job is open (started and not yet collected).
    pub fn current_job(&self) -> Option<(u32, u64)> {
        self.lock()
            .book
            .job()
            .map(|j| (j.template.height, j.job_id))
    }

    /// The `job` message of the open job, for a miner that just connected.
    pub(super) fn job_message(&self) -> Option<Message> {
        self.lock().book.job().map(CurrentJob::message)
    }

    /// Ends the current job: returns everyone's verified work and the counters.
    pub fn take_work(&self, job_id: u64) -> (Vec<MinerWork>, JobCounts) {
        self.lock().book.take(job_id)
    }

    /// How many miners have verified records for the current job.
    pub fn miners_with_work(&self) -> usize {
        self.lock().book.miners_with_work()
    }

    /// Identities connected now.
    pub fn miners(&self) -> Vec<String> {
        let mut v: Vec<String> = self.lock().connected.keys().cloned().collect();
        v.sort();
        v
    }

    /// Whether a connection holds `identity` now.
    pub fn is_connected(&self, identity: &str) -> bool {
        self.lock().connected.contains_key(identity)
    }

    /// Whether another authenticated miner fits under `max_connections`.
    pub(super) fn has_room(&self) -> bool {
        self.lock().connected.len() < self.cfg.max_connections
    }

    /// Gives `identity` to a new connection from `addr`. A connection already holding it is
    /// replaced (a rebooted box whose old, half-open connection is still registered): it is told
    /// why and closes. `None` when the house is full and the identity is not already here.
    pub(super) fn register(
        &self,
        identity: &str,
        addr: SocketAddr,
        key: Option<protocol::PublicKey>,
        version: u32,
    ) -> Result<Registration, RegisterError> {
        let conn = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        let (control_tx, control) = tokio::sync::mpsc::channel(super::control::QUEUE);
        let mut st = self.lock();
        match st.connected.get(identity) {
            // Only a box that proves the same key takes over a session (the roster already
            // checked it; a key changed meanwhile never displaces the holder).
            Some(h) if h.key.is_some() && h.key != key => return Err(RegisterError::OtherKey),
            Some(_) => {}
            None if st.connected.len() >= self.cfg.max_connections => {
                return Err(RegisterError::Full)
            }
            None => {}
        }
        let holder = Holder {
            conn,
            key,
            replaced: tx,
            version,
            control: control_tx,
        };
        if let Some(old) = st.connected.insert(identity.to_string(), holder) {
            tracing::warn!(identity, %addr, "identity connected again: the older connection is replaced");
            let _ = old.replaced.send(format!(
                "replaced by a newer connection with identity {identity:?} from {addr}"
            ));
        }
        Ok(Registration {
            conn,
            replaced: rx,
            control,
        })
    }

    /// The protocol version of the connection holding `identity`, and where its control requests
    /// go (`None`: not connected directly).
    pub(super) fn control_route(
        &self,
        identity: &str,
    ) -> Option<(u32, tokio::sync::mpsc::Sender<Box<Message>>)> {
        self.lock()
            .connected
            .get(identity)
            .map(|h| (h.version, h.control.clone()))
    }

    /// Gives `identity` back, if connection `conn` still holds it (a newer connection may);
    /// true when it did.
    pub(super) fn unregister(&self, identity: &str, conn: u64) -> bool {
        let mut st = self.lock();
        if st.connected.get(identity).is_some_and(|h| h.conn == conn) {
            st.connected.remove(identity);
            return true;
        }
        false
    }

    /// The sizes of the hub's state now.
    pub fn footprint(&self) -> Footprint {
        let (reports, per_worker) = self.telemetry.reports_held();
        let st = self.lock();
        let (work_entries, accepted, nonces, refusal_keys) = st.book.sizes();
        Footprint {
            miners: st.connected.len(),
            work_entries,
            accepted,
            nonces,
            stats: reports,
            per_worker,
            refusal_keys,
        }
    }

    /// Most miners with work for one job (see [`ServerConfig::max_work_entries`]).
    pub(super) fn max_work(&self) -> usize {
        self.cfg.max_work_entries()
    }

    /// [`JobBook::admit`](super::book::JobBook::admit) under the lock, with this hub's limits.
    pub(super) fn admit(
        &self,
        miner: &protocol::MinerHello,
        job_id: u64,
        records: Vec<(Vec<u8>, u64)>,
    ) -> Result<super::book::Admitted, Box<Message>> {
        let mut st = self.lock();
        let State { connected, book } = &mut *st;
        book.admit(
            miner,
            job_id,
            records,
            self.cfg.records_per_miner,
            self.cfg.max_work_entries(),
            |id| connected.contains_key(id),
        )
    }

    /// [`JobBook::settle`](super::book::JobBook::settle) under the lock.
    pub(super) fn settle(
        &self,
        miner: &str,
        job_id: u64,
        verified: Vec<crate::verify::Accepted>,
        refused: &[(usize, crate::verify::RecordRefusal)],
    ) -> Option<super::book::Settled> {
        self.lock().book.settle(miner, job_id, verified, refused)
    }

    /// The records `identity` counted against its limit for the open job (for tests).
    #[cfg(test)]
    pub(super) fn submitted(&self, identity: &str) -> usize {
        self.lock().book.submitted(identity)
    }

    /// Counts `n` records of job `job_id` refused as `code` (while it is open).
    pub(super) fn count_refused(&self, job_id: u64, code: protocol::RefusalCode, n: usize) {
        self.lock().book.refuse(job_id, code, n);
    }

    /// Keeps a miner's hash-rate report (see [`clean_stats`]).
    pub(super) fn set_stats(&self, identity: &str, s: Stats) {
        let s = clean_stats(s);
        // Kept once, in the telemetry (the engine's rates and the API read it there).
        let st = self.lock();
        if st.connected.contains_key(identity) {
            self.telemetry.miner_stats(identity, &s);
        }
    }
}

/// The highest hash rate a report may claim (10¹⁵ H/s, far beyond any farm): a larger one is cut
/// to it, so sums of reports stay finite.
pub const MAX_RATE: f64 = 1e15;

/// A hash-rate report made safe to keep: bounded ([`MAX_WORKERS`] worker rates, short names
/// without control characters), with impossible rates (negative, NaN, infinite) read as 0 and
/// rates capped at [`MAX_RATE`].
pub(super) fn clean_stats(mut s: Stats) -> Stats {
    let clean = |r: f64| {
        if r.is_finite() && r >= 0.0 {
            r.min(MAX_RATE)
        } else {
            0.0
        }
    };
    let printable = |t: &str| protocol::text::sanitize_to(t, Stats::MAX_NAME).into_owned();
    s.per_worker.truncate(MAX_WORKERS);
    s.per_worker.shrink_to_fit();
    for r in s.per_worker.iter_mut() {
        *r = clean(*r);
    }
    s.rate_10s = clean(s.rate_10s);
    s.rate_60s = clean(s.rate_60s);
    s.rate_15m = clean(s.rate_15m);
    s.backend = s.backend.map(|b| printable(&b));
    s.devices.truncate(Stats::MAX_DEVICES);
    for d in s.devices.iter_mut() {
        *d = printable(d);
    }
    s.device_health.truncate(Stats::MAX_DEVICES);
    s.device_health.shrink_to_fit();
    for h in s.device_health.iter_mut() {
        h.name = printable(&h.name);
        h.rate_10s = clean(h.rate_10s);
        h.temp_c = h
            .temp_c
            .filter(|t| t.is_finite() && (-60.0..=200.0).contains(t));
        h.fan_percent = h
            .fan_percent
            .filter(|p| p.is_finite() && (0.0..=100.0).contains(p));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::super::submission::submission;
    use super::*;
    use crate::server::ServerConfig;
    use crate::verify::MinerRecord;
    use pegnet::{Network, OprTemplate, Pow};
    use protocol::MinerHello;
    use std::future::Future;
    use std::task::Poll;

    fn record(nonce: u32, difficulty: u64) -> protocol::SubmittedRecord {
        protocol::SubmittedRecord {
            nonce: protocol::HexBytes(nonce.to_be_bytes().to_vec()),
            difficulty: protocol::Difficulty(difficulty),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn minute_9_collection_during_a_submission_keeps_the_records_already_accepted() {
        let table = Arc::new(Table::generate(10, &mut |_, _| {}).unwrap());
        let hub = Hub::new(
            ServerConfig {
                records_per_miner: 5000,
                ..ServerConfig::default()
            },
            table.clone(),
        );
        let template = OprTemplate {
            network: Network::DevNet,
            height: 77,
            winners: vec![String::new(); 25],
            prices: (1..=62).map(|k| k * 1000).collect(),
        };
        hub.start_job(CurrentJob {
            job_id: 7,
            template: template.clone(),
            min_difficulty: 0,
            records_wanted: 3,
        });
        let hello = MinerHello {
            identity: "rig1".into(),
            coinbase: "FA2jK2HcLnRdS94dEcU27rF3meoJfpUcZPSinpb7AwQvPRY6RL1Q".into(),
        };
        let rec = MinerRecord::new(&template, 7, &hello.identity, &hello.coinbase).unwrap();
        let good: Vec<_> = (0..3u32)
            .map(|n| record(n, table.difficulty(&rec.opr_hash, &n.to_be_bytes())))
            .collect();
        match submission(&hub, &hello, None, 7, good).await {
            Message::SubmissionResult { accepted: 3, .. } => {}
            other => panic!("{other:?}"),
        }
        // A second, large submission is being verified when minute 9's collection comes.
        let more: Vec<_> = (100..3100u32).map(|n| record(n, 1)).collect();
        let second = submission(&hub, &hello, None, 7, more);
        let mut second = std::pin::pin!(second);
        let first_poll =
            std::future::poll_fn(|cx| Poll::Ready(second.as_mut().poll(cx).is_pending())).await;
        assert!(first_poll, "the submission should be verifying");
        let (work, counts) = hub.take_work(7);
        assert_eq!(work.len(), 1, "the miner's accepted records were dropped");
        assert_eq!(work[0].accepted.len(), 3);
        assert_eq!(counts.verified, 3);
        match second.await {
            Message::SubmissionResult {
                accepted: 0,
                rejected,
                ..
            } => {
                assert!(rejected[0].example.contains("is over"), "{rejected:?}")
            }
            other => panic!("{other:?}"),
        }
    }
}
