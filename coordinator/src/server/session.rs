//! An authenticated miner's session: the hub's broadcasts go out to it, its messages are answered
//! (stats, submissions, pings, table requests, a relay's messages), it is pinged, and it is
//! dropped when it goes silent, misbehaves, or a newer connection takes its identity. How it
//! ended is a [`ConnectionEnd`].

use super::handshake::{Authenticated, Ws, REFUSAL_GRACE};
use super::hub::Hub;
use super::submission::submission;
use protocol::{Message, MinerHello, ProtocolError, RefusalCode, Session};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, oneshot, watch};
use tokio::time::Instant;

/// How an authenticated session ended.
#[derive(Debug, thiserror::Error)]
pub(super) enum ConnectionEnd {
    /// The coordinator is stopping (or its broadcasts ended).
    #[error("the coordinator is stopping")]
    Stopped,
    /// A newer connection took the identity.
    #[error("{0}")]
    Replaced(String),
    /// No frame at all (pongs included) for the idle timeout.
    #[error("nothing heard from the miner for {0:?}: closing")]
    Silent(Duration),
    /// A send could not complete in time (a half-open peer whose buffers are full).
    #[error("could not send for {0:?}")]
    SendTimeout(Duration),
    /// The link failed or the miner closed it.
    #[error("{0}")]
    Link(#[from] protocol::ws::LinkError),
    /// A frame that is not authenticated, in order and well-formed.
    #[error("protocol violation: {0}")]
    Violation(#[from] ProtocolError),
    /// Too many submissions with records an honest miner never sends.
    #[error("{0} submissions with over-limit or invalid records: disconnecting")]
    Misbehaved(u32),
    /// A table copy failed half-way (too slow, stalled, link lost).
    #[error("table copy: {0}")]
    TableCopy(String),
    /// A record whose claimed difficulty is not its own: nothing more of this identity is
    /// verified in this block, and its connection is closed.
    #[error("a record with a wrong claimed difficulty: closed for the rest of the block")]
    WrongDifficulty,
}

impl ConnectionEnd {
    /// A peer that proved the secret and then breaks the protocol, or keeps sending what an
    /// honest miner never sends, counts toward its address's ban.
    pub(super) fn counts_toward_ban(&self) -> bool {
        matches!(
            self,
            ConnectionEnd::Violation(_) | ConnectionEnd::Misbehaved(_)
        )
    }
}

/// Frames read from one miner per second at most; beyond, reading pauses (TCP pushes back).
const MAX_FRAMES_PER_SEC: u32 = 50;
/// The same for one relay's link, which carries all its miners' frames: all of them together.
const MAX_RELAY_FRAMES_PER_SEC: u32 = 500;
/// A miner's `error` messages are logged at most this often (sanitized: 200 bytes, no control
/// characters).
const ERROR_LOG_EVERY: Duration = Duration::from_secs(10);

/// What one connection remembers about its miner's behaviour (all bounded).
#[derive(Default)]
struct Conduct {
    /// Submissions with refusals an honest miner never causes.
    bad_submissions: u32,
    /// A record claimed a wrong difficulty (the connection closes).
    lied: bool,
    /// When a miner's `error` was last logged, and how many were not logged since.
    last_error_log: Option<Instant>,
    errors_suppressed: u64,
    /// The current one-second window of received frames.
    window_start: Option<Instant>,
    frames_in_window: u32,
}

impl Conduct {
    /// Counts a relayed submission's result against the relay: a relay forwards only records its
    /// own hub verified, so a wrong difficulty or a too-long nonce means the relay itself is bad.
    fn relayed_result(&mut self, reply: &Message) {
        if let Message::RelaySubmissionResult { rejected, .. } = reply {
            if rejected.iter().any(|r| {
                matches!(
                    r.code,
                    RefusalCode::WrongDifficulty | RefusalCode::NonceTooLong
                )
            }) {
                self.bad_submissions += 1;
            }
        }
    }

    /// How long to pause before reading the next frame (a relay's link: at its own, higher,
    /// rate).
    fn throttle(&mut self, relay: bool) -> Option<Duration> {
        let max = if relay {
            MAX_RELAY_FRAMES_PER_SEC
        } else {
            MAX_FRAMES_PER_SEC
        };
        let now = Instant::now();
        let start = *self.window_start.get_or_insert(now);
        if now.duration_since(start) >= Duration::from_secs(1) {
            self.window_start = Some(now);
            self.frames_in_window = 1;
            return None;
        }
        self.frames_in_window += 1;
        (self.frames_in_window > max).then(|| (start + Duration::from_secs(1)).duration_since(now))
    }

    /// Logs a miner's `error` message, at most once per [`ERROR_LOG_EVERY`].
    fn log_error(&mut self, identity: &str, message: &str) {
        let now = Instant::now();
        if self
            .last_error_log
            .is_none_or(|t| now.duration_since(t) >= ERROR_LOG_EVERY)
        {
            let shown = protocol::text::sanitize(message);
            let suppressed = std::mem::take(&mut self.errors_suppressed);
            tracing::warn!(identity, suppressed, "miner reports: {shown:?}");
            self.last_error_log = Some(now);
        } else {
            self.errors_suppressed += 1;
        }
    }
}

/// The sending half of a session: every frame sealed with the session key and sent within the
/// idle timeout.
struct Outbox<'a> {
    ws: &'a mut Ws,
    session: &'a mut Session,
    timeout: Duration,
    /// The peer's protocol version: what it is sent is in that version's terms (see
    /// `protocol::downgrade`).
    version: u32,
}

impl Outbox<'_> {
    async fn send(&mut self, msg: &Message) -> Result<(), ConnectionEnd> {
        let frame = if self.version < protocol::PROTOCOL_VERSION {
            self.session.seal(&msg.clone().for_version(self.version))?
        } else {
            self.session.seal(msg)?
        };
        tokio::time::timeout(self.timeout, protocol::ws::send_text(self.ws, frame))
            .await
            .map_err(|_| ConnectionEnd::SendTimeout(self.timeout))??;
        Ok(())
    }

    /// Sends a broadcast: its body was encoded once for every session; only the MAC is this
    /// session's.
    async fn send_shared(&mut self, out: &super::outgoing::Outgoing) -> Result<(), ConnectionEnd> {
        let frame = out.seal(self.session, self.version)?;
        tokio::time::timeout(self.timeout, protocol::ws::send_text(self.ws, frame))
            .await
            .map_err(|_| ConnectionEnd::SendTimeout(self.timeout))??;
        Ok(())
    }

    /// Tells the miner why it is being dropped (best effort, within [`REFUSAL_GRACE`]).
    async fn goodbye(&mut self, message: String) {
        let _ = tokio::time::timeout(REFUSAL_GRACE, async {
            let _ = self.send(&Message::Error { message }).await;
            let _ = self.ws.close(None).await;
        })
        .await;
    }
}

/// Runs an authenticated session until it ends.
pub(super) async fn run(
    hub: &Arc<Hub>,
    peer: Authenticated,
    addr: SocketAddr,
    mut stop: watch::Receiver<bool>,
) -> ConnectionEnd {
    let Authenticated {
        mut ws,
        mut session,
        hello,
        registration,
        version,
        ..
    } = peer;
    let mut replaced = registration.replaced;
    let mut control = registration.control;
    let mut events = hub.subscribe_frames();
    let cfg = hub.cfg();
    let (ping_every, idle) = (cfg.ping_every, cfg.idle_timeout);
    let mut relayed = super::relayed::Relayed::default();
    let mut out = Outbox {
        ws: &mut ws,
        session: &mut session,
        timeout: idle,
        version,
    };
    let end = async {
        if let Some(job) = hub.job_message() {
            out.send(&job).await?;
        }
        let mut ping = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut pings = 0u64;
        let mut last_heard = Instant::now();
        let mut conduct = Conduct::default();
        let relay = hub.is_relay(&hello.identity);
        loop {
            tokio::select! {
                _ = stop.changed() => {
                    let _ = out.ws.close(None).await;
                    return Err(ConnectionEnd::Stopped);
                }
                why = &mut replaced => {
                    let why = why.unwrap_or_else(|_: oneshot::error::RecvError| "replaced by a newer connection".into());
                    out.goodbye(why.clone()).await;
                    return Err(ConnectionEnd::Replaced(why));
                }
                _ = tokio::time::sleep_until(last_heard + idle) => {
                    let end = ConnectionEnd::Silent(idle);
                    out.goodbye(end.to_string()).await;
                    return Err(end);
                }
                _ = ping.tick() => {
                    pings += 1;
                    out.send(&Message::Ping { nonce: pings }).await?;
                }
                // Remote control (see `control.rs`: only ever queued for a version-3 peer).
                Some(request) = control.recv() => out.send(&request).await?,
                ev = events.recv() => match ev {
                    Ok(msg) => out.send_shared(&msg).await?,
                    Err(broadcast::error::RecvError::Lagged(n)) => tracing::warn!(identity = %hello.identity, "slow miner missed {n} events"),
                    Err(broadcast::error::RecvError::Closed) => return Err(ConnectionEnd::Stopped),
                },
                text = protocol::ws::recv_text(out.ws, "miner") => {
                    let msg = out.session.open(&text?)?;
                    last_heard = Instant::now();
                    if let Message::TableRequest { bits, offset } = msg {
                        super::table_serve::serve(hub, out.ws, out.session, &hello.identity, addr, bits, offset)
                            .await
                            .map_err(ConnectionEnd::TableCopy)?;
                        last_heard = Instant::now();
                        continue;
                    }
                    if let Some(answer) = super::relayed::handle(hub, &hello, addr, &mut relayed, &msg).await {
                        if let Some(reply) = answer {
                            conduct.relayed_result(&reply);
                            out.send(&reply).await?;
                        }
                    } else if let Some(reply) = handle(hub, &hello, &mut conduct, msg).await {
                        out.send(&reply).await?;
                    }
                    if conduct.lied {
                        let end = ConnectionEnd::WrongDifficulty;
                        out.goodbye(end.to_string()).await;
                        return Err(end);
                    }
                    if conduct.bad_submissions >= cfg.max_bad_submissions {
                        let end = ConnectionEnd::Misbehaved(conduct.bad_submissions);
                        out.goodbye(end.to_string()).await;
                        return Err(end);
                    }
                    if let Some(pause) = conduct.throttle(relay) {
                        tokio::time::sleep(pause).await;
                    }
                }
            }
        }
    }
    .await;
    let end: ConnectionEnd = match end {
        Ok(()) => ConnectionEnd::Stopped,
        Err(e) => e,
    };
    if hub.unregister(&hello.identity, registration.conn) {
        hub.telemetry().miner_disconnected(&hello.identity);
    }
    relayed.gone(hub);
    end
}

/// Answers one of a miner's own messages (not a relay's, not a table request).
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
            let result = submission(hub, hello, None, job_id, records).await;
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
                conduct.lied |= rejected
                    .iter()
                    .any(|r| r.code == RefusalCode::WrongDifficulty);
            }
            Some(result)
        }
        Message::Error { message } => {
            conduct.log_error(&hello.identity, &message);
            None
        }
        Message::ControlResult { id, ok, detail } => {
            hub.control_answered(&hello.identity, None, id, ok, &detail);
            None
        }
        other => Some(Message::Error {
            message: format!("{} is not a message miners send", other.kind()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::RefusalCount;

    #[test]
    fn a_relay_link_is_throttled_at_its_own_rate() {
        for (relay, max) in [
            (false, MAX_FRAMES_PER_SEC),
            (true, MAX_RELAY_FRAMES_PER_SEC),
        ] {
            let mut c = Conduct::default();
            for k in 0..max {
                assert_eq!(c.throttle(relay), None, "frame {k}");
            }
            let pause = c.throttle(relay).expect("one frame too many pauses");
            assert!(pause <= Duration::from_secs(1));
            // The next second, reading goes on.
            c.window_start = c.window_start.map(|t| t - Duration::from_secs(1));
            assert_eq!(c.throttle(relay), None);
        }
    }

    #[test]
    fn a_relay_forwarding_records_it_cannot_have_verified_counts_toward_its_closing() {
        let result = |code| Message::RelaySubmissionResult {
            identity: "s1-rig".into(),
            job_id: 1,
            accepted: 0,
            rejected: vec![RefusalCount {
                code,
                count: 1,
                example: String::new(),
            }],
        };
        let mut c = Conduct::default();
        // Its miners' limits and the budget are not the relay's fault.
        c.relayed_result(&result(RefusalCode::OverLimit));
        c.relayed_result(&result(RefusalCode::OverBudget));
        c.relayed_result(&result(RefusalCode::StaleJob));
        assert_eq!(c.bad_submissions, 0);
        c.relayed_result(&result(RefusalCode::WrongDifficulty));
        c.relayed_result(&result(RefusalCode::NonceTooLong));
        assert_eq!(c.bad_submissions, 2);
        assert!(
            !c.lied,
            "one relayed miner's lie does not close the relay's link"
        );
    }
}
