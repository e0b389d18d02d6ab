//! The miners' side of the coordinator: a WebSocket listener that authenticates miners, relays the
//! block's job, minute and stop events, and checks their submissions as they arrive.
//!
//! Each connection is its own task; a stalled miner only ever blocks itself (broadcasts go through a
//! bounded channel whose slow receivers lag and are told so, never the sender).

use crate::verify::{verify, Accepted, Limits, MinerRecord};
use hashcore::Table;
use pegnet::OprTemplate;
use protocol::{
    ConnectionRefusal, CoordinatorHandshake, Message, MinerHello, ProtocolError, Secret, Session,
    Stats,
};
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, watch};
use tokio_tungstenite::WebSocketStream;

/// Limits and timings of the listener.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The farm's shared secret; `None` turns authentication off (a warning is logged).
    pub secret: Option<Secret>,
    /// Connections at once.
    pub max_connections: usize,
    /// A socket must authenticate within this.
    pub auth_timeout: Duration,
    /// Failed authentications from one address before it is banned.
    pub ban_after: u32,
    /// How long a ban lasts.
    pub ban_for: Duration,
    /// Records a miner may submit per block.
    pub records_per_miner: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            secret: None,
            max_connections: 256,
            auth_timeout: Duration::from_secs(10),
            ban_after: 5,
            ban_for: Duration::from_secs(600),
            records_per_miner: 10,
        }
    }
}

/// The job miners are working on.
#[derive(Debug, Clone)]
pub struct CurrentJob {
    /// Job id.
    pub job_id: u64,
    /// Record fields.
    pub template: OprTemplate,
    /// Floor.
    pub min_difficulty: u64,
    /// Records wanted per miner.
    pub records_wanted: u32,
}

/// What one miner handed in for the current job.
#[derive(Debug, Clone)]
pub struct MinerWork {
    /// The miner's record.
    pub record: MinerRecord,
    /// Verified records.
    pub accepted: Vec<Accepted>,
    nonces: HashSet<Vec<u8>>,
}

/// Counters of the current job.
#[derive(Debug, Clone, Default)]
pub struct JobCounts {
    /// Records submitted.
    pub received: usize,
    /// Records that verified.
    pub verified: usize,
    /// Refusals by reason.
    pub rejected: HashMap<String, usize>,
}

#[derive(Default)]
struct State {
    connected: HashSet<String>,
    job: Option<CurrentJob>,
    work: HashMap<String, MinerWork>,
    counts: JobCounts,
    stats: HashMap<String, Stats>,
    failures: HashMap<IpAddr, (u32, Option<Instant>)>,
}

/// Shared by the listener, the connections and the block engine.
pub struct Hub {
    cfg: ServerConfig,
    table: Arc<Table>,
    events: broadcast::Sender<Message>,
    state: Mutex<State>,
}

impl Hub {
    /// A hub verifying with `table`.
    pub fn new(cfg: ServerConfig, table: Arc<Table>) -> Arc<Hub> {
        if cfg.secret.is_none() {
            tracing::warn!("miner authentication is OFF: anyone who can reach this port can mine and submit records");
        }
        let (events, _) = broadcast::channel(64);
        Arc::new(Hub {
            cfg,
            table,
            events,
            state: Mutex::new(State::default()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Receives every broadcast (for logs and tests).
    pub fn subscribe(&self) -> broadcast::Receiver<Message> {
        self.events.subscribe()
    }

    /// Sends a message to every authenticated miner.
    pub fn broadcast(&self, msg: Message) {
        let _ = self.events.send(msg);
    }

    /// Starts a new job (forgetting the previous job's submissions) and broadcasts it.
    pub fn start_job(&self, job: CurrentJob) {
        let msg = job_message(&job);
        {
            let mut st = self.lock();
            st.job = Some(job);
            st.work.clear();
            st.counts = JobCounts::default();
        }
        self.broadcast(msg);
    }

    /// Ends the current job: returns everyone's verified work and the counters.
    pub fn take_work(&self, job_id: u64) -> (Vec<MinerWork>, JobCounts) {
        let mut st = self.lock();
        if st.job.as_ref().map(|j| j.job_id) != Some(job_id) {
            return (Vec::new(), JobCounts::default());
        }
        st.job = None;
        (
            st.work.drain().map(|(_, w)| w).collect(),
            std::mem::take(&mut st.counts),
        )
    }

    /// How many miners have verified records for the current job.
    pub fn miners_with_work(&self) -> usize {
        self.lock().work.len()
    }

    /// Identities connected now.
    pub fn miners(&self) -> Vec<String> {
        let mut v: Vec<String> = self.lock().connected.iter().cloned().collect();
        v.sort();
        v
    }

    /// Sum of the miners' last reported 10 s hash rates.
    pub fn hash_rate(&self) -> f64 {
        self.lock().stats.values().map(|s| s.rate_10s).sum()
    }

    fn banned(&self, ip: IpAddr) -> bool {
        let mut st = self.lock();
        match st.failures.get(&ip) {
            Some((_, Some(until))) if *until > Instant::now() => true,
            Some((_, Some(_))) => {
                st.failures.remove(&ip);
                false
            }
            _ => false,
        }
    }

    fn auth_failed(&self, ip: IpAddr) {
        let mut st = self.lock();
        let e = st.failures.entry(ip).or_insert((0, None));
        e.0 += 1;
        if e.0 >= self.cfg.ban_after {
            tracing::warn!(%ip, "too many failed authentications: banned for {:?}", self.cfg.ban_for);
            e.1 = Some(Instant::now() + self.cfg.ban_for);
        }
    }
}

fn job_message(job: &CurrentJob) -> Message {
    Message::Job {
        job_id: job.job_id,
        opr: protocol::OprFields {
            network: job.template.network.to_string(),
            height: job.template.height,
            version: job.template.version(),
            winners: job.template.winners.clone(),
            prices: job.template.prices.clone(),
        },
        min_difficulty: protocol::Difficulty(job.min_difficulty),
        records_wanted: job.records_wanted,
    }
}

/// Accepts miners until `shutdown` turns true.
pub async fn serve(hub: Arc<Hub>, listener: TcpListener, mut shutdown: watch::Receiver<bool>) {
    let open = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    loop {
        let (stream, addr) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // A failed accept (e.g. out of file descriptors) is logged and skipped.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let hub = hub.clone();
        let open = open.clone();
        let stop = shutdown.clone();
        let n = open.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        tokio::spawn(async move {
            if let Err(e) = connection(&hub, stream, addr, n, stop).await {
                tracing::info!(%addr, "miner connection closed: {e}");
            }
            open.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        });
    }
}

type Ws = WebSocketStream<TcpStream>;

// The link helpers are protocol::ws's; these only turn their errors into this file's strings.
async fn send_text(ws: &mut Ws, text: String) -> Result<(), String> {
    protocol::ws::send_text(ws, text)
        .await
        .map_err(|e| e.to_string())
}

async fn recv_text(ws: &mut Ws) -> Result<String, String> {
    protocol::ws::recv_text(ws, "miner")
        .await
        .map_err(|e| e.to_string())
}

async fn reject(ws: &mut Ws, code: ConnectionRefusal, reason: String) -> String {
    let _ = send_text(
        ws,
        protocol::encode_plain(&Message::Rejected {
            code,
            reason: reason.clone(),
        }),
    )
    .await;
    let _ = ws.close(None).await;
    reason
}

async fn connection(
    hub: &Arc<Hub>,
    stream: TcpStream,
    addr: SocketAddr,
    open: usize,
    mut stop: watch::Receiver<bool>,
) -> Result<(), String> {
    let cfg = protocol::ws::config();
    let mut ws = tokio::time::timeout(
        hub.cfg.auth_timeout,
        tokio_tungstenite::accept_async_with_config(stream, Some(cfg)),
    )
    .await
    .map_err(|_| "no WebSocket handshake in time".to_string())?
    .map_err(|e| e.to_string())?;
    if hub.banned(addr.ip()) {
        return Err(reject(
            &mut ws,
            ConnectionRefusal::Banned,
            "too many failed authentications from this address; try later".into(),
        )
        .await);
    }
    if open > hub.cfg.max_connections {
        return Err(reject(
            &mut ws,
            ConnectionRefusal::Busy,
            format!(
                "the coordinator already serves {} connections",
                hub.cfg.max_connections
            ),
        )
        .await);
    }
    let (mut session, hello) = match authenticate(hub, &mut ws).await {
        Ok(x) => x,
        Err((code, reason)) => {
            if code == ConnectionRefusal::BadSecret {
                hub.auth_failed(addr.ip());
            }
            return Err(reject(&mut ws, code, reason).await);
        }
    };
    let id = hello.identity.clone();
    tracing::info!(%addr, identity = %id, "miner connected");
    let mut events = hub.events.subscribe();
    let current = hub.lock().job.clone();
    let result = async {
        if let Some(job) = current {
            send_text(&mut ws, session.seal(&job_message(&job)).map_err(|e| e.to_string())?).await?;
        }
        loop {
            tokio::select! {
                _ = stop.changed() => {
                    let _ = ws.close(None).await;
                    return Ok(());
                }
                ev = events.recv() => match ev {
                    Ok(msg) => send_text(&mut ws, session.seal(&msg).map_err(|e| e.to_string())?).await?,
                    Err(broadcast::error::RecvError::Lagged(n)) => tracing::warn!(identity = %id, "slow miner missed {n} events"),
                    Err(broadcast::error::RecvError::Closed) => return Ok(()),
                },
                text = recv_text(&mut ws) => {
                    let text = text?;
                    let msg = session.open(&text).map_err(|e| format!("protocol violation: {e}"))?;
                    if let Some(reply) = handle(hub, &hello, msg).await {
                        send_text(&mut ws, session.seal(&reply).map_err(|e| e.to_string())?).await?;
                    }
                }
            }
        }
    }
    .await;
    {
        let mut st = hub.lock();
        st.connected.remove(&id);
        st.stats.remove(&id);
    }
    tracing::info!(identity = %id, "miner disconnected");
    result
}

async fn authenticate(
    hub: &Arc<Hub>,
    ws: &mut Ws,
) -> Result<(Session, MinerHello), (ConnectionRefusal, String)> {
    let secret = hub.cfg.secret.clone().unwrap_or_else(|| Secret::new(""));
    let (hs, challenge) = CoordinatorHandshake::start(&secret);
    let proto = |e: String| (ConnectionRefusal::Protocol, e);
    send_text(ws, challenge).await.map_err(proto)?;
    let auth = tokio::time::timeout(hub.cfg.auth_timeout, recv_text(ws))
        .await
        .map_err(|_| {
            proto(format!(
                "not authenticated within {:?}",
                hub.cfg.auth_timeout
            ))
        })?
        .map_err(proto)?;
    let (session, hello, welcome) = hs.finish(&auth).map_err(|e| match e {
        ProtocolError::WrongSecret => (
            ConnectionRefusal::BadSecret,
            "wrong shared secret: check --secret on the miner".to_string(),
        ),
        other => (ConnectionRefusal::Protocol, other.to_string()),
    })?;
    if !pegnet::validate::valid_identity(hello.identity.as_bytes()) {
        return Err((
            ConnectionRefusal::BadIdentity,
            format!(
                "identity {:?} must be ASCII letters, digits and commas",
                hello.identity
            ),
        ));
    }
    if let Err(e) = pegnet::record::check_identity_cost(&hello.identity) {
        return Err((ConnectionRefusal::BadIdentity, e.to_string()));
    }
    if !pegnet::validate::valid_coinbase(hello.coinbase.as_bytes()) {
        return Err((
            ConnectionRefusal::BadCoinbase,
            format!("coinbase {:?} is not a valid FA address", hello.coinbase),
        ));
    }
    if !hub.lock().connected.insert(hello.identity.clone()) {
        return Err((
            ConnectionRefusal::DuplicateIdentity,
            format!("a miner with identity {:?} is already connected: give every box its own --identity", hello.identity),
        ));
    }
    if let Err(e) = send_text(ws, welcome).await {
        hub.lock().connected.remove(&hello.identity);
        return Err(proto(e));
    }
    Ok((session, hello))
}

async fn handle(hub: &Arc<Hub>, hello: &MinerHello, msg: Message) -> Option<Message> {
    match msg {
        Message::Ping { nonce } => Some(Message::Pong { nonce }),
        Message::Pong { .. } => None,
        Message::Stats(s) => {
            hub.lock().stats.insert(hello.identity.clone(), s);
            None
        }
        Message::Submission { job_id, records } => {
            Some(submission(hub, hello, job_id, records).await)
        }
        Message::Error { message } => {
            tracing::warn!(identity = %hello.identity, "miner reports: {message}");
            None
        }
        other => Some(Message::Error {
            message: format!("{} is not a message miners send", other.kind()),
        }),
    }
}

async fn submission(
    hub: &Arc<Hub>,
    hello: &MinerHello,
    job_id: u64,
    records: Vec<protocol::SubmittedRecord>,
) -> Message {
    // The miner's accepted work stays in the hub while this submission is verified: minute 9's
    // collection (`take_work`) in the meantime gets every record accepted so far.
    let (job, known) = {
        let mut st = hub.lock();
        st.counts.received += records.len();
        let Some(job) = st.job.clone() else {
            let n = records.len();
            *st.counts
                .rejected
                .entry("no current job".into())
                .or_default() += n;
            return Message::SubmissionResult {
                job_id,
                accepted: 0,
                rejected: vec![format!("job {job_id} is over")],
            };
        };
        let known = st
            .work
            .get(&hello.identity)
            .map(|w| (w.record.clone(), w.nonces.clone()));
        (job, known)
    };
    let (record, mut nonces) = match known {
        Some(k) => k,
        None => match MinerRecord::new(&job.template, job.job_id, &hello.identity, &hello.coinbase)
        {
            Ok(r) => (r, HashSet::new()),
            Err(e) => {
                return Message::SubmissionResult {
                    job_id,
                    accepted: 0,
                    rejected: vec![e.to_string()],
                }
            }
        },
    };
    let pairs: Vec<(Vec<u8>, u64)> = records
        .into_iter()
        .map(|r| (r.nonce.0, r.difficulty.0))
        .collect();
    let submitted = pairs.len();
    let limits = Limits {
        current_job: job.job_id,
        min_difficulty: job.min_difficulty,
        per_miner: hub.cfg.records_per_miner,
    };
    let table = hub.table.clone();
    let rec = record.clone();
    // LXRHash of each record takes ~0.3 ms at 30 bits: off the async threads. It works on a copy
    // of the miner's accepted nonces; a panic there leaves the real set (the per-miner limit and
    // the duplicate check) untouched.
    let verified = tokio::task::spawn_blocking(move || {
        let (ok, refused) = verify(table.as_ref(), &rec, job_id, &pairs, limits, &mut nonces);
        (ok, refused, nonces)
    })
    .await;
    let (ok, refused, nonces) = match verified {
        Ok(v) => v,
        Err(e) => {
            tracing::error!(identity = %hello.identity, "verifying a submission failed: {e}");
            let mut st = hub.lock();
            if st.job.as_ref().map(|j| j.job_id) == Some(job.job_id) {
                *st.counts
                    .rejected
                    .entry("verification failed".into())
                    .or_default() += submitted;
            }
            return Message::SubmissionResult {
                job_id,
                accepted: 0,
                rejected: vec!["the coordinator could not verify these records".into()],
            };
        }
    };
    let reasons: Vec<String> = refused
        .iter()
        .map(|(k, r)| format!("record {k}: {r}"))
        .collect();
    let mut st = hub.lock();
    if st.job.as_ref().map(|j| j.job_id) != Some(job.job_id) {
        // Collected (minute 9) while this submission was checked: too late for the block.
        return Message::SubmissionResult {
            job_id,
            accepted: 0,
            rejected: vec![format!("job {job_id} is over")],
        };
    }
    let accepted = ok.len() as u32;
    st.counts.verified += ok.len();
    for (_, r) in &refused {
        let key = r
            .to_string()
            .split(':')
            .next()
            .unwrap_or_default()
            .to_string();
        *st.counts.rejected.entry(key).or_default() += 1;
    }
    let w = st
        .work
        .entry(hello.identity.clone())
        .or_insert_with(|| MinerWork {
            record,
            accepted: Vec::new(),
            nonces: HashSet::new(),
        });
    w.accepted.extend(ok);
    w.nonces.extend(nonces);
    Message::SubmissionResult {
        job_id,
        accepted,
        rejected: reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pegnet::{Network, Pow};
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
        match submission(&hub, &hello, 7, good).await {
            Message::SubmissionResult { accepted: 3, .. } => {}
            other => panic!("{other:?}"),
        }
        // A second, large submission is being verified when minute 9's collection comes.
        let more: Vec<_> = (100..3100u32).map(|n| record(n, 1)).collect();
        let second = submission(&hub, &hello, 7, more);
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
                assert!(rejected[0].contains("is over"), "{rejected:?}")
            }
            other => panic!("{other:?}"),
        }
    }
}
