//! One miner's connection: the WebSocket upgrade, refusals (banned, busy), the mutual
//! authentication with the farm secret, then a loop relaying the hub's broadcasts to the miner and
//! answering its messages (stats, submissions, pings).

use super::hub::{job_message, Hub, Registration};
use super::listener::{Bans, PendingSlot};
use super::submission::{submission, truncate};
use crate::tls::MaybeTls;
use protocol::{
    ConnectionRefusal, CoordinatorHandshake, Message, MinerHello, ProtocolError, RefusalCode,
    Secret, Session,
};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::{broadcast, oneshot, watch};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;

type Ws = WebSocketStream<MaybeTls>;

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

/// Sends a `rejected` message (within a second) and closes.
async fn reject(ws: &mut Ws, code: ConnectionRefusal, reason: String) -> String {
    let _ = tokio::time::timeout(REFUSAL_GRACE, async {
        let _ = send_text(
            ws,
            protocol::encode_plain(&Message::Rejected {
                code,
                reason: reason.clone(),
            }),
        )
        .await;
        let _ = ws.close(None).await;
    })
    .await;
    reason
}

/// Extra time, past the handshake deadline, to send a refusal before the socket is dropped.
const REFUSAL_GRACE: Duration = Duration::from_secs(1);

/// Why a handshake did not give an authenticated miner.
enum HandshakeFailure {
    /// Refused with a `rejected` message (already sent); `counts` says whether it counts
    /// toward the address's ban.
    Refused { reason: String, counts: bool },
    /// The socket never became a WebSocket (malformed request, closed, too slow).
    Upgrade(String),
    /// Dropped to admit a newer handshake.
    Evicted,
}

pub(super) async fn connection(
    hub: &Arc<Hub>,
    bans: &Bans,
    stream: TcpStream,
    addr: SocketAddr,
    mut slot: PendingSlot,
    mut stop: watch::Receiver<bool>,
) -> Result<(), String> {
    // Upgrade and authentication share one deadline; the pending slot is held until then.
    let until = Instant::now() + hub.cfg.auth_timeout;
    let outcome = tokio::select! {
        r = tokio::time::timeout_at(until + REFUSAL_GRACE, handshake(hub, bans, stream, addr, until)) => {
            r.unwrap_or_else(|_| Err(HandshakeFailure::Upgrade("handshake not finished in time".into())))
        }
        _ = &mut slot.evicted => Err(HandshakeFailure::Evicted),
    };
    drop(slot);
    let (mut ws, mut session, hello, conn, mut replaced) = match outcome {
        Ok(x) => x,
        Err(HandshakeFailure::Refused { reason, counts }) => {
            if counts {
                bans.failed(addr.ip(), &reason);
                hub.telemetry().auth_failure();
            }
            return Err(reason);
        }
        Err(HandshakeFailure::Upgrade(e)) => {
            bans.failed(addr.ip(), &e);
            hub.telemetry().auth_failure();
            return Err(e);
        }
        Err(HandshakeFailure::Evicted) => {
            return Err("dropped to admit a newer handshake (too many pending)".into())
        }
    };
    let id = hello.identity.clone();
    tracing::info!(%addr, identity = %id, "miner connected");
    // A relay is not a miner: its miners are listed, it is not.
    if !hub.is_relay(&id) {
        hub.telemetry().miner_connected(&id, &hello.coinbase, addr);
    }
    let mut events = hub.events.subscribe();
    let current = hub.lock().job.clone();
    let (ping_every, idle) = (hub.cfg.ping_every, hub.cfg.idle_timeout);
    let mut relayed = super::relay::Relayed::default();
    let result = async {
        // A send that cannot complete (a half-open peer whose buffers are full) ends the
        // connection after the idle timeout instead of blocking it forever.
        macro_rules! send {
            ($msg:expr) => {{
                let frame = session.seal(&$msg).map_err(|e| e.to_string())?;
                tokio::time::timeout(idle, send_text(&mut ws, frame))
                    .await
                    .map_err(|_| format!("could not send for {idle:?}"))??
            }};
        }
        if let Some(job) = current {
            send!(job_message(&job));
        }
        let mut ping = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut pings = 0u64;
        let mut last_heard = Instant::now();
        let mut conduct = Conduct::default();
        let relay = hub.is_relay(&id);
        loop {
            tokio::select! {
                _ = stop.changed() => {
                    let _ = ws.close(None).await;
                    return Ok(());
                }
                why = &mut replaced => {
                    let message = why.unwrap_or_else(|_| "replaced by a newer connection".into());
                    tracing::info!(identity = %id, %addr, "{message}");
                    let _ = tokio::time::timeout(
                        REFUSAL_GRACE,
                        async { send!(Message::Error { message: message.clone() }); Ok::<(), String>(()) },
                    )
                    .await;
                    let _ = tokio::time::timeout(REFUSAL_GRACE, ws.close(None)).await;
                    return Err(message);
                }
                _ = tokio::time::sleep_until(last_heard + idle) => {
                    let message = format!("nothing heard from the miner for {idle:?}: closing");
                    let _ = tokio::time::timeout(
                        REFUSAL_GRACE,
                        async { send!(Message::Error { message: message.clone() }); Ok::<(), String>(()) },
                    )
                    .await;
                    return Err(message);
                }
                _ = ping.tick() => {
                    pings += 1;
                    send!(Message::Ping { nonce: pings });
                }
                ev = events.recv() => match ev {
                    Ok(msg) => send!(msg),
                    Err(broadcast::error::RecvError::Lagged(n)) => tracing::warn!(identity = %id, "slow miner missed {n} events"),
                    Err(broadcast::error::RecvError::Closed) => return Ok(()),
                },
                text = recv_text(&mut ws) => {
                    let text = text?;
                    last_heard = Instant::now();
                    let msg = match session.open(&text) {
                        Ok(m) => m,
                        Err(e) => {
                            // A peer that proved the secret and then breaks the protocol counts
                            // toward a ban, like a failed handshake.
                            let why = format!("protocol violation: {e}");
                            bans.failed(addr.ip(), &why);
                            return Err(why);
                        }
                    };
                    if let Message::TableRequest { bits, offset } = msg {
                        super::table_serve::serve(hub, &mut ws, &mut session, &id, bits, offset, idle).await?;
                        last_heard = Instant::now();
                        continue;
                    }
                    if let Some(answer) = super::relay::handle(hub, &hello, addr, &mut relayed, &msg).await {
                        if let Some(reply) = answer {
                            send!(reply);
                        }
                        continue;
                    }
                    if let Some(reply) = handle(hub, &hello, &mut conduct, msg).await {
                        send!(reply);
                    }
                    if conduct.bad_submissions >= hub.cfg.max_bad_submissions {
                        let message = format!(
                            "{} submissions with over-limit or invalid records: disconnecting",
                            conduct.bad_submissions
                        );
                        let _ = tokio::time::timeout(
                            REFUSAL_GRACE,
                            async { send!(Message::Error { message: message.clone() }); Ok::<(), String>(()) },
                        )
                        .await;
                        bans.failed(addr.ip(), &message);
                        return Err(message);
                    }
                    if let Some(pause) = conduct.throttle().filter(|_| !relay) {
                        tokio::time::sleep(pause).await;
                    }
                }
            }
        }
    }
    .await;
    {
        // Only this connection's own registration: a newer connection may hold the identity.
        let mut st = hub.lock();
        if st.connected.get(&id).is_some_and(|r| r.conn == conn) {
            st.connected.remove(&id);
            hub.telemetry().miner_disconnected(&id);
        }
    }
    relayed.gone(hub);
    tracing::info!(identity = %id, "miner disconnected");
    result
}

/// The WebSocket upgrade and the authentication, both before `until`.
async fn handshake(
    hub: &Arc<Hub>,
    bans: &Bans,
    stream: TcpStream,
    addr: SocketAddr,
    until: Instant,
) -> Result<Authenticated, HandshakeFailure> {
    let cfg = protocol::ws::config();
    // TLS (when on) and the WebSocket upgrade share the handshake's deadline.
    let mut ws = tokio::time::timeout_at(until, async {
        let stream = MaybeTls::accept(hub.cfg.tls.as_ref(), stream)
            .await
            .map_err(|e| HandshakeFailure::Upgrade(format!("TLS handshake: {e}")))?;
        tokio_tungstenite::accept_async_with_config(stream, Some(cfg))
            .await
            .map_err(|e| HandshakeFailure::Upgrade(format!("WebSocket handshake: {e}")))
    })
    .await
    .map_err(|_| HandshakeFailure::Upgrade("no WebSocket handshake in time".into()))??;
    if bans.banned(addr.ip()) {
        return Err(refuse(
            &mut ws,
            ConnectionRefusal::Banned,
            "too many failed handshakes from this address; try later".into(),
            false,
        )
        .await);
    }
    if hub.lock().connected.len() >= hub.cfg.max_connections {
        return Err(refuse(&mut ws, ConnectionRefusal::Busy, busy(hub), false).await);
    }
    match authenticate(hub, &mut ws, addr, until).await {
        Ok((session, hello, conn, replaced)) => Ok((ws, session, hello, conn, replaced)),
        Err((code, reason)) => {
            // A wrong secret, a timeout or a malformed handshake counts toward a ban; a refused
            // name or a full house does not (the peer proved the secret).
            let counts = matches!(
                code,
                ConnectionRefusal::BadSecret | ConnectionRefusal::Protocol
            );
            Err(refuse(&mut ws, code, reason, counts).await)
        }
    }
}

async fn refuse(
    ws: &mut Ws,
    code: ConnectionRefusal,
    reason: String,
    counts: bool,
) -> HandshakeFailure {
    let reason = reject(ws, code, reason).await;
    HandshakeFailure::Refused { reason, counts }
}

fn busy(hub: &Hub) -> String {
    format!(
        "the coordinator already serves {} miners",
        hub.cfg.max_connections
    )
}

/// An authenticated miner: its link, session, names, connection number, and the signal that a
/// newer connection took its identity.
type Authenticated = (Ws, Session, MinerHello, u64, oneshot::Receiver<String>);

async fn authenticate(
    hub: &Arc<Hub>,
    ws: &mut Ws,
    addr: SocketAddr,
    until: Instant,
) -> Result<(Session, MinerHello, u64, oneshot::Receiver<String>), (ConnectionRefusal, String)> {
    let secret = hub.cfg.secret.clone().unwrap_or_else(|| Secret::new(""));
    let (hs, challenge) = CoordinatorHandshake::start(&secret);
    let proto = |e: String| (ConnectionRefusal::Protocol, e);
    tokio::time::timeout_at(until, send_text(ws, challenge))
        .await
        .map_err(|_| proto("the challenge could not be sent in time".into()))?
        .map_err(proto)?;
    let auth = tokio::time::timeout_at(until, recv_text(ws))
        .await
        .map_err(|_| {
            proto(format!(
                "not authenticated within {:?}",
                hub.cfg.auth_timeout
            ))
        })?
        .map_err(proto)?;
    // A relay's name is only accepted with the relay secret (when there is one): a box that knows
    // the farm secret cannot pass for a relay.
    let relay_secret = hub.cfg.relay_secret.clone();
    let mut as_relay = false;
    let choose = |id: &str| {
        as_relay = hub.is_relay(id);
        match relay_secret {
            Some(s) if as_relay => s,
            _ => secret,
        }
    };
    let guarded = hub.cfg.relay_secret.is_some();
    let (session, hello, welcome) = hs.finish_for(&auth, choose).map_err(|e| match e {
        ProtocolError::WrongSecret if as_relay && guarded => (
            ConnectionRefusal::BadSecret,
            "wrong secret for a relay: this name is in the coordinator's `relays`, so it authenticates with the coordinator's relay_secret (NETMINE_UPSTREAM_SECRET on the relay), not the farm secret".to_string(),
        ),
        ProtocolError::WrongSecret => (
            ConnectionRefusal::BadSecret,
            "wrong shared secret: a miner (or a relay's link, without a relay_secret here) must use this coordinator's farm secret (NETMINE_SECRET / --secret; NETMINE_UPSTREAM_SECRET on a relay)".to_string(),
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
    // A newer connection with an identity already connected replaces the old one (a rebooted
    // box whose old, half-open connection is still registered): the old one is told and closed.
    let conn = hub.next_conn.fetch_add(1, Ordering::Relaxed);
    let (tx, rx) = oneshot::channel();
    {
        let mut st = hub.lock();
        let replacing = st.connected.contains_key(&hello.identity);
        if !replacing && st.connected.len() >= hub.cfg.max_connections {
            return Err((ConnectionRefusal::Busy, busy(hub)));
        }
        let reg = Registration { conn, replaced: tx };
        if let Some(old) = st.connected.insert(hello.identity.clone(), reg) {
            tracing::warn!(identity = %hello.identity, %addr, "identity connected again: the older connection is replaced");
            let _ = old.replaced.send(format!(
                "replaced by a newer connection with identity {:?} from {addr}",
                hello.identity
            ));
        }
    }
    let sent = tokio::time::timeout_at(until, send_text(ws, welcome)).await;
    if !matches!(sent, Ok(Ok(()))) {
        let mut st = hub.lock();
        if st
            .connected
            .get(&hello.identity)
            .is_some_and(|r| r.conn == conn)
        {
            st.connected.remove(&hello.identity);
        }
        return Err(proto("the welcome could not be sent in time".into()));
    }
    Ok((session, hello, conn, rx))
}

/// What one connection remembers about its miner's behaviour (all bounded).
#[derive(Default)]
struct Conduct {
    /// Submissions with refusals an honest miner never causes.
    bad_submissions: u32,
    /// When a miner's `error` was last logged, and how many were not logged since.
    last_error_log: Option<Instant>,
    errors_suppressed: u64,
    /// The current one-second window of received frames.
    window_start: Option<Instant>,
    frames_in_window: u32,
}

/// Frames read from one miner per second at most; beyond, reading pauses (TCP pushes back).
const MAX_FRAMES_PER_SEC: u32 = 50;
/// A miner's `error` messages are logged at most this often, and cut to this many bytes.
const ERROR_LOG_EVERY: Duration = Duration::from_secs(10);
const ERROR_LOG_BYTES: usize = 200;

impl Conduct {
    /// How long to pause before reading the next frame.
    fn throttle(&mut self) -> Option<Duration> {
        let now = Instant::now();
        let start = *self.window_start.get_or_insert(now);
        if now.duration_since(start) >= Duration::from_secs(1) {
            self.window_start = Some(now);
            self.frames_in_window = 1;
            return None;
        }
        self.frames_in_window += 1;
        (self.frames_in_window > MAX_FRAMES_PER_SEC)
            .then(|| (start + Duration::from_secs(1)).duration_since(now))
    }
}

async fn handle(
    hub: &Arc<Hub>,
    hello: &MinerHello,
    conduct: &mut Conduct,
    msg: Message,
) -> Option<Message> {
    match msg {
        Message::Ping { nonce } => Some(Message::Pong { nonce }),
        Message::Pong { .. } => {
            hub.telemetry().miner_seen(&hello.identity);
            None
        }
        Message::Stats(s) => {
            hub.set_stats(&hello.identity, s);
            None
        }
        Message::Submission { job_id, records } => {
            let submitted = records.len();
            let result = submission(hub, hello, job_id, records).await;
            if let Message::SubmissionResult {
                rejected, accepted, ..
            } = &result
            {
                hub.telemetry()
                    .miner_submission(&hello.identity, submitted, *accepted, rejected);
                if rejected.iter().any(|r| {
                    matches!(
                        r.code,
                        RefusalCode::OverLimit
                            | RefusalCode::WrongDifficulty
                            | RefusalCode::NonceTooLong
                            | RefusalCode::Duplicate
                    )
                }) {
                    conduct.bad_submissions += 1;
                }
            }
            Some(result)
        }
        Message::Error { message } => {
            let now = Instant::now();
            if conduct
                .last_error_log
                .is_none_or(|t| now.duration_since(t) >= ERROR_LOG_EVERY)
            {
                let shown = truncate(&message, ERROR_LOG_BYTES);
                let suppressed = std::mem::take(&mut conduct.errors_suppressed);
                tracing::warn!(identity = %hello.identity, suppressed, "miner reports: {shown:?}");
                conduct.last_error_log = Some(now);
            } else {
                conduct.errors_suppressed += 1;
            }
            None
        }
        other => Some(Message::Error {
            message: format!("{} is not a message miners send", other.kind()),
        }),
    }
}
