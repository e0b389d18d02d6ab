//! The miner's side of the protocol: connect, authenticate (and check the coordinator's proof),
//! mine each job with the miner's own identity and coinbase, submit the top-N at stop, report hash
//! rates, and reconnect with backoff along the coordinator list.
//!
//! A refusal during the handshake (wrong secret, bad or duplicate identity) comes before the
//! coordinator proved the secret, so anyone answering at a coordinator's address could send it.
//! It therefore only moves the miner on to the next coordinator of its list; that address is not
//! tried again for [`MinerConfig::refused_retry_after`] (at least 10 minutes by default). The
//! miner ends, with the refusal's message, only when every coordinator of its list refused it
//! within that time: a single wrong `--secret` still ends the miner at once.

use crate::rates::RateTracker;
use crate::stats_line::Activity;
use hashcore::{Job, MiningBackend};
use pegnet::{opr_hash, Network, OprTemplate};
use protocol::{HandshakeError, Message, MinerHandshake, Secret, Session, SubmittedRecord};
use rand::RngExt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Miner settings.
#[derive(Debug, Clone)]
pub struct MinerConfig {
    /// Coordinators (`host:port`), preferred first.
    pub coordinators: Vec<String>,
    /// The farm's shared secret.
    pub secret: Secret,
    /// Identity for the records (letters, digits, commas; unique per box).
    pub identity: String,
    /// Coinbase FA address for the rewards.
    pub coinbase: String,
    /// Records to submit per block.
    pub top: usize,
    /// How often hash rates are reported.
    pub stats_every: Duration,
    /// How often the stats line is logged (also once at shutdown).
    pub stats_line_every: Duration,
    /// While on a backup coordinator, how often to check whether the preferred one is back.
    pub failback_every: Duration,
    /// Connecting and authenticating with one coordinator must finish within this; a
    /// coordinator that goes silent (after its challenge, say) is given up for the next one.
    pub handshake_timeout: Duration,
    /// A coordinator that refused this miner fatally (wrong secret, bad or duplicate identity)
    /// is not tried again, nor failed back to, for this long.
    pub refused_retry_after: Duration,
    /// Which `wss://` coordinators to trust (pinned certificate, CA file or system roots).
    pub tls: crate::tls::TlsTrust,
}

/// The shortest time a coordinator that refused the miner fatally is left alone (10 minutes).
pub const REFUSED_RETRY_AFTER: Duration = Duration::from_secs(600);

impl Default for MinerConfig {
    /// Every setting at its default, with no coordinator, an empty secret and no names: fill in
    /// `coordinators`, `secret`, `identity` and `coinbase`.
    fn default() -> Self {
        MinerConfig {
            coordinators: Vec::new(),
            secret: Secret::new(""),
            identity: String::new(),
            coinbase: String::new(),
            top: 3,
            stats_every: Duration::from_secs(10),
            stats_line_every: Duration::from_secs(15 * 60),
            failback_every: Duration::from_secs(30),
            handshake_timeout: Duration::from_secs(15),
            refused_retry_after: REFUSED_RETRY_AFTER,
            tls: crate::tls::TlsTrust::default(),
        }
    }
}

impl MinerConfig {
    /// Checks what can be checked before connecting: the identity (characters, and that its
    /// records fit a 1-EC entry), the coinbase, and that there is a coordinator.
    pub fn check(&self) -> Result<(), MinerError> {
        let cfg = self;
        if !pegnet::validate::valid_identity(cfg.identity.as_bytes()) {
            return Err(MinerError::Config(format!(
                "--identity {:?} is not valid: use ASCII letters, digits and commas only",
                cfg.identity
            )));
        }
        if let Err(e) = pegnet::record::check_identity_cost(&cfg.identity) {
            return Err(MinerError::Config(format!("--identity: {e}")));
        }
        if !pegnet::validate::valid_coinbase(cfg.coinbase.as_bytes()) {
            return Err(MinerError::Config(format!(
                "--coinbase {:?} is not a valid FA address",
                cfg.coinbase
            )));
        }
        if cfg.coordinators.is_empty() {
            return Err(MinerError::Config(
                "no coordinator address (--caddr)".into(),
            ));
        }
        Ok(())
    }
}

/// Why the miner stopped.
#[derive(Debug, thiserror::Error)]
pub enum MinerError {
    /// The configuration is wrong (checked before connecting).
    #[error("{0}")]
    Config(String),
    /// Every coordinator of the list refused this miner for a reason only the operator can fix.
    #[error("{0}")]
    Refused(String),
}

enum End {
    Shutdown,
    /// A refusal only the operator can fix, if it came from the real coordinator (unproven: it
    /// came before the coordinator proved the secret).
    Refused(String),
    Lost(String),
    /// The preferred coordinator is reachable again: go back to it at once.
    Failback,
}

/// Mines for the coordinators until `shutdown` turns true (Ok) or a fatal refusal (Err), logging
/// a stats line every `stats_line_every` and once at the end.
pub async fn run(
    cfg: MinerConfig,
    backend: Arc<dyn MiningBackend>,
    shutdown: watch::Receiver<bool>,
) -> Result<(), MinerError> {
    let activity = Arc::new(Activity::default());
    let (last, last_rx) = tokio::sync::oneshot::channel();
    let line = tokio::spawn(crate::stats_line::run(
        cfg.stats_line_every,
        backend.clone(),
        activity.clone(),
        last_rx,
    ));
    let r = mine(cfg, backend, shutdown, &activity).await;
    let _ = last.send(());
    let _ = line.await;
    r
}

async fn mine(
    cfg: MinerConfig,
    backend: Arc<dyn MiningBackend>,
    mut shutdown: watch::Receiver<bool>,
    activity: &Activity,
) -> Result<(), MinerError> {
    cfg.check()?;
    let tls = if cfg.coordinators.iter().any(|a| a.starts_with("wss://")) {
        Some(crate::tls::client_config(&cfg.tls).map_err(|e| MinerError::Config(e.to_string()))?)
    } else {
        None
    };
    let mut backoff = Duration::from_millis(250);
    let mut refused = Refusals::new(cfg.coordinators.len(), cfg.refused_retry_after);
    loop {
        // Always try the preferred coordinator first, then the others in order, leaving alone
        // those that refused this miner lately.
        let mut end = End::Lost("no coordinator reachable".into());
        for (k, addr) in cfg.coordinators.iter().enumerate() {
            if refused.recent(k) {
                continue;
            }
            let link = Link {
                addr,
                on_backup: k > 0,
                failback_after: refused.until(0),
                tls: tls.as_ref(),
            };
            end = session(&cfg, link, &backend, &mut shutdown, &mut backoff, activity).await;
            activity.connected(false);
            match &end {
                End::Lost(e) => {
                    refused.clear(k);
                    tracing::warn!(coordinator = %addr, "{e}");
                }
                End::Refused(reason) => {
                    refused.mark(k, reason.clone());
                    if let Some(all) = refused.all_recent() {
                        backend.set_job(None);
                        return Err(MinerError::Refused(all));
                    }
                    tracing::warn!(
                        coordinator = %addr,
                        "{reason} (not proven to come from the coordinator: trying the next one, and this one again in {} s)",
                        cfg.refused_retry_after.as_secs()
                    );
                }
                _ => break,
            }
        }
        backend.set_job(None);
        match end {
            End::Shutdown => return Ok(()),
            End::Refused(_) => {}
            End::Failback => {
                tracing::info!(coordinator = %cfg.coordinators[0], "the preferred coordinator is back");
                continue;
            }
            End::Lost(_) => {}
        }
        let wait = backoff.mul_f64(rand::rng().random_range(0.5..1.5));
        tracing::info!("reconnecting in {:.1} s", wait.as_secs_f64());
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => return Ok(()),
        }
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
}

/// The coordinators that refused this miner fatally, and when.
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

    fn mark(&mut self, k: usize, reason: String) {
        self.at[k] = Some((Instant::now(), reason));
    }

    fn clear(&mut self, k: usize) {
        self.at[k] = None;
    }

    /// Until when coordinator `k` is left alone, if it refused lately.
    fn until(&self, k: usize) -> Option<Instant> {
        self.at[k]
            .as_ref()
            .map(|(at, _)| *at + self.retry_after)
            .filter(|until| *until > Instant::now())
    }

    fn recent(&self, k: usize) -> bool {
        self.until(k).is_some()
    }

    /// Every refusal, one per line, when every coordinator refused lately.
    fn all_recent(&self) -> Option<String> {
        if !(0..self.at.len()).all(|k| self.recent(k)) {
            return None;
        }
        let reasons: Vec<&str> = self
            .at
            .iter()
            .filter_map(|r| r.as_ref().map(|(_, reason)| reason.as_str()))
            .collect();
        Some(reasons.join("\n"))
    }
}

/// One coordinator of the list, as a session sees it.
struct Link<'a> {
    addr: &'a str,
    /// A coordinator before this one in the list is preferred.
    on_backup: bool,
    /// The preferred coordinator refused lately: no failback to it before then.
    failback_after: Option<Instant>,
    /// The TLS settings for `wss://` addresses.
    tls: Option<&'a Arc<rustls::ClientConfig>>,
}

/// A coordinator link: a WebSocket over TCP, with TLS for `wss://` addresses.
pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn recv_text(ws: &mut Ws) -> Result<String, String> {
    protocol::ws::recv_text(ws, "coordinator")
        .await
        .map_err(|e| e.to_string())
}

/// Seals `msg` with the session's MAC and sends it as one text frame.
pub async fn send(ws: &mut Ws, session: &mut Session, msg: &Message) -> Result<(), String> {
    let frame = session.seal(msg).map_err(|e| e.to_string())?;
    protocol::ws::send_text(ws, frame)
        .await
        .map_err(|e| e.to_string())
}

/// Connects to the coordinator at `addr` and authenticates (as the mining session does), for a
/// side task such as copying the table: the session, or why there is none.
pub async fn open_session(cfg: &MinerConfig, addr: &str) -> Result<(Ws, Session), SessionError> {
    let tls = if addr.starts_with("wss://") {
        Some(
            crate::tls::client_config(&cfg.tls).map_err(|e| SessionError {
                fatal: true,
                message: e.to_string(),
            })?,
        )
    } else {
        None
    };
    connect(cfg, addr, tls.as_ref()).await.map_err(|e| match e {
        End::Refused(message) => SessionError {
            fatal: true,
            message,
        },
        End::Lost(message) => SessionError {
            fatal: false,
            message,
        },
        End::Shutdown | End::Failback => SessionError {
            fatal: false,
            message: "stopped".into(),
        },
    })
}

/// Why [`open_session`] gave no session.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct SessionError {
    /// Retrying cannot help until the operator changes something (a refused secret, name or
    /// certificate).
    pub fatal: bool,
    /// What happened, for the log.
    pub message: String,
}

/// Connects to `addr` and authenticates, both within the handshake deadline.
async fn connect(
    cfg: &MinerConfig,
    addr: &str,
    tls: Option<&Arc<rustls::ClientConfig>>,
) -> Result<(Ws, Session), End> {
    let url = if addr.contains("://") {
        addr.to_string()
    } else {
        format!("ws://{addr}")
    };
    let hs = MinerHandshake::new(&cfg.secret, &cfg.identity, &cfg.coinbase);
    let step = async {
        let wscfg = protocol::ws::config();
        let connector = tls.map(|c| tokio_tungstenite::Connector::Rustls(c.clone()));
        let (mut ws, _) = tokio_tungstenite::connect_async_tls_with_config(
            url.as_str(),
            Some(wscfg),
            true,
            connector,
        )
        .await
        .map_err(|e| {
            if crate::tls::is_pin_mismatch(&e) {
                End::Refused(format!("coordinator {addr} refused: {}", pin_reason(&e)))
            } else {
                End::Lost(format!("cannot connect to {url}: {e}"))
            }
        })?;
        let shake = async {
            let challenge = recv_text(&mut ws).await.map_err(HandshakeError::from_io)?;
            let (pending, auth) = hs.respond(&challenge)?;
            protocol::ws::send_text(&mut ws, auth)
                .await
                .map_err(|e| HandshakeError::from_io(e.to_string()))?;
            let welcome = recv_text(&mut ws).await.map_err(HandshakeError::from_io)?;
            pending.finish(&welcome)
        };
        match shake.await {
            Ok(session) => Ok((ws, session)),
            Err(HandshakeError::Rejected { code, reason }) if code.is_fatal() => Err(End::Refused(
                format!("coordinator {addr} refused this miner: {reason}"),
            )),
            Err(e) => Err(End::Lost(format!("handshake with {addr} failed: {e}"))),
        }
    };
    match tokio::time::timeout(cfg.handshake_timeout, step).await {
        Ok(r) => r,
        Err(_) => Err(End::Lost(format!(
            "coordinator {addr} did not complete the handshake within {:.1} s",
            cfg.handshake_timeout.as_secs_f64()
        ))),
    }
}

async fn session(
    cfg: &MinerConfig,
    link: Link<'_>,
    backend: &Arc<dyn MiningBackend>,
    shutdown: &mut watch::Receiver<bool>,
    backoff: &mut Duration,
    activity: &Activity,
) -> End {
    let addr = link.addr;
    let (mut ws, mut session) = match connect(cfg, addr, link.tls).await {
        Ok(x) => x,
        Err(end) => return end,
    };
    tracing::info!(coordinator = %addr, identity = %cfg.identity, "connected and authenticated");
    activity.connected(true);
    *backoff = Duration::from_millis(250);
    let mut stats = RateTracker::new();
    let mut tick = tokio::time::interval(cfg.stats_every);
    let mut failback = tokio::time::interval(cfg.failback_every);
    failback.tick().await;
    let preferred = probe_target(&cfg.coordinators[0]);
    loop {
        tokio::select! {
            _ = shutdown.changed() => {
                let _ = ws.close(None).await;
                return End::Shutdown;
            }
            _ = failback.tick(), if link.on_backup => {
                if link.failback_after.is_some_and(|t| Instant::now() < t) {
                    continue;
                }
                let probe = tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(preferred.as_str())).await;
                if matches!(probe, Ok(Ok(_))) {
                    let _ = ws.close(None).await;
                    return End::Failback;
                }
            }
            _ = tick.tick() => {
                let mut s = stats.sample(&backend.hash_counts());
                s.backend = Some(backend.name().to_string());
                s.devices = backend.worker_labels();
                if let Err(e) = send(&mut ws, &mut session, &Message::Stats(s)).await {
                    return End::Lost(e);
                }
            }
            frame = recv_text(&mut ws) => {
                let frame = match frame { Ok(f) => f, Err(e) => return End::Lost(e) };
                let msg = match session.open(&frame) {
                    Ok(m) => m,
                    Err(e) => return End::Lost(format!("protocol violation by the coordinator: {e}")),
                };
                if let Some(reply) = on_message(cfg, backend, msg, activity) {
                    if let Err(e) = send(&mut ws, &mut session, &reply).await {
                        return End::Lost(e);
                    }
                }
            }
        }
    }
}

/// The pin mismatch's own message, out of the connection error.
fn pin_reason(e: &tokio_tungstenite::tungstenite::Error) -> String {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(rustls::Error::InvalidCertificate(rustls::CertificateError::Other(o))) =
            err.downcast_ref::<rustls::Error>()
        {
            return o.0.to_string();
        }
        cur = match err.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|i| i as &(dyn std::error::Error + 'static)),
            None => err.source(),
        };
    }
    e.to_string()
}

/// The `host:port` to probe for a coordinator written as `host:port` or as a `ws://` / `wss://`
/// URL (with or without a path).
fn probe_target(addr: &str) -> String {
    let rest = addr
        .strip_prefix("ws://")
        .or_else(|| addr.strip_prefix("wss://"))
        .unwrap_or(addr);
    rest.split('/').next().unwrap_or(rest).to_string()
}

fn on_message(
    cfg: &MinerConfig,
    backend: &Arc<dyn MiningBackend>,
    msg: Message,
    activity: &Activity,
) -> Option<Message> {
    match msg {
        Message::Job {
            job_id,
            opr,
            min_difficulty,
            records_wanted,
        } => {
            let network: Network = match opr.network.parse() {
                Ok(n) => n,
                Err(e) => return Some(Message::Error { message: e }),
            };
            let template = OprTemplate {
                network,
                height: opr.height,
                winners: opr.winners,
                prices: opr.prices,
            };
            match template.content(&cfg.identity, &cfg.coinbase) {
                Ok(content) => {
                    tracing::info!(job_id, height = opr.height, "new job");
                    activity.job();
                    backend.set_job(Some(Job {
                        id: job_id,
                        prefix: opr_hash(&content).to_vec(),
                        min_difficulty: min_difficulty.0,
                        keep: cfg.top.min(records_wanted as usize),
                    }));
                    None
                }
                Err(e) => {
                    backend.set_job(None);
                    Some(Message::Error {
                        message: format!("cannot build a valid record for job {job_id}: {e}"),
                    })
                }
            }
        }
        Message::Stop { job_id } => {
            backend.set_job(None);
            let records: Vec<SubmittedRecord> = backend
                .best(job_id)
                .into_iter()
                .map(|f| SubmittedRecord {
                    nonce: protocol::HexBytes(f.nonce.as_bytes().to_vec()),
                    difficulty: protocol::Difficulty(f.difficulty),
                })
                .collect();
            tracing::info!(job_id, records = records.len(), "submitting");
            activity.submitted(records.len());
            Some(Message::Submission { job_id, records })
        }
        Message::Skip { height, reason } => {
            backend.set_job(None);
            tracing::warn!(height, "the coordinator skips this block: {reason}");
            None
        }
        Message::SubmissionResult {
            job_id,
            accepted,
            rejected,
        } => {
            activity.result(accepted, rejected.iter().map(|r| u64::from(r.count)).sum());
            tracing::info!(
                job_id,
                accepted,
                rejected = rejected.len(),
                "submission result"
            );
            for r in rejected {
                tracing::warn!(
                    job_id,
                    code = r.code.name(),
                    count = r.count,
                    "refused, e.g. {}",
                    r.example
                );
            }
            None
        }
        Message::Minute { height, minute } => {
            tracing::debug!(height, minute, "minute");
            None
        }
        Message::Ping { nonce } => Some(Message::Pong { nonce }),
        Message::Error { message } => {
            tracing::warn!("coordinator reports: {message}");
            None
        }
        other => Some(Message::Error {
            message: format!("{} is not a message coordinators send", other.kind()),
        }),
    }
}
