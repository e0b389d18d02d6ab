//! `netcoordinator relay`: one coordinator per site, one primary that pays.
//!
//! To its miners a relay is a coordinator: the same protocol, its own secret and limits, and it
//! serves them the table. To its upstream (the primary, or another relay) it is one
//! authenticated miner link (the upstream's secret, TLS as a netminer does it) whose identity is
//! in the upstream's `relays` list. Down the link come the jobs, minutes, skips and stops, which
//! the relay passes on to its miners unchanged (job ids included; a block whose `stop` it passed on
//! is not started again from another upstream, see `from_upstream.rs`); up go its miners' records,
//! verified here first and forwarded as soon as they are accepted (`relay_submission`, each with
//! its miner's identity and coinbase), and every 10 s its miners' hash rates (`relay_stats`).
//! Remote control (protocol 3) comes down as `relay_control`, naming one of the relay's miners:
//! the relay's own hub sends it to that miner and the miner's answer goes up as
//! `relay_control_result` (a miner of protocol 1 or 2 behind the relay gets nothing; the answer
//! says it needs protocol 3).
//!
//! The link is a netminer's link (`netmine-link`'s dialer): the upstreams preferred first,
//! backoff with jitter, failback to the preferred upstream, and a refusal only the operator can
//! fix (a wrong secret, a name the upstream does not list) ends the relay, with why, once every
//! upstream refused it. While the link is down the miners stay connected and keep mining the
//! current job, and their accepted records wait in a bounded queue: sent when the link is back,
//! refused by the upstream (and logged here) if their block is over by then. Each sent record
//! waits for the upstream's answer; those still unanswered when a link dies go again on the
//! next one. The upstream pays: it verifies every record again and records each entry once, so
//! nothing is paid twice. A relay needs no factomd, no prices and no EC key.
//!
//! A relay is watched where it is: it serves the coordinator's dashboard, JSON API and
//! `/metrics` for its own miners (`http`, by default on 127.0.0.1:7781; the same token rule and
//! routes, remote control of its miners included), its status marked `relay` with its link's
//! state, which the link loop below reports to its telemetry.

mod from_upstream;

use anyhow::{bail, Context, Result};
use coordinator::server::{serve, stats_of, Hub, RelayedSubmission, ServerConfig};
use from_upstream::{from_upstream, Stopped};
use netmine_link::table_fetch::{check_size, fetch, FetchError};
use netmine_link::{send, CoordinatorAddr, Dialer, Ended, LinkConfig, Linked, TlsTrust, Ws};
use protocol::{Message, Secret, Session};
use std::collections::{BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Accepted records waiting for the link, at most.
const QUEUE: usize = 4096;

/// Remote-control requests from the upstream being passed on to this relay's miners at once, at
/// most (more are answered busy).
const CONTROLS: usize = 256;

/// How often the miners' rates go up.
const STATS_EVERY: Duration = Duration::from_secs(10);

/// The upstream pings every 15 s: a link silent this long is dead (a half-open connection).
const SILENT: Duration = Duration::from_secs(45);

/// A send to the upstream that cannot finish in this time ends the link.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends with [`SEND_TIMEOUT`].
async fn send_up(ws: &mut Ws, session: &mut Session, msg: &Message) -> Result<(), String> {
    tokio::time::timeout(SEND_TIMEOUT, send(ws, session, msg))
        .await
        .map_err(|_| format!("the upstream took more than {SEND_TIMEOUT:?} to take a message"))?
        .map_err(|e| e.to_string())
}

/// The coinbase the relay's link announces to a version-1 upstream, whose handshake needs one (a
/// version-2 upstream is told the relay's role instead). A fresh address nobody holds: it is
/// never paid (the relay mines nothing; the upstream pays each relayed record to the coinbase of
/// the miner that found it).
fn handshake_coinbase() -> String {
    factom::FactoidSecret::generate().public().to_string()
}

/// What a relay runs with.
pub struct RelayOptions {
    /// The upstream's addresses, preferred first (`host:port`, `ws://`, `wss://`).
    pub upstream: Vec<CoordinatorAddr>,
    /// The upstream's farm secret.
    pub upstream_secret: Secret,
    /// How `wss://` upstreams are trusted.
    pub upstream_tls: TlsTrust,
    /// This relay's name: its identity at the upstream (listed in the upstream's `relays`).
    pub name: String,
    /// Where this relay's miners connect.
    pub listen: SocketAddr,
    /// The relay's own miners' listener: its secret, limits and TLS.
    pub server: ServerConfig,
    /// LXRHash table size (the upstream's).
    pub bits: Option<u32>,
    /// Table cache directory.
    pub table_dir: Option<PathBuf>,
    /// The relay's data dir: its box key (`box.key`, which signs its link upstream) and its own
    /// roster of its miners (`relay.db`).
    pub data_dir: PathBuf,
    /// Its own dashboard, API and metrics (`None`: none served).
    pub http: Option<coordinator::daemon::HttpSettings>,
}

/// A running relay.
pub struct Relay {
    /// Where its miners connect.
    pub addr: SocketAddr,
    /// Its miners' hub.
    pub hub: Arc<Hub>,
    /// The link to the upstream: it ends only with a reason retrying cannot fix (the upstream
    /// refused the relay's secret or name), or when the relay is stopped.
    pub link: tokio::task::JoinHandle<Option<String>>,
    /// Where its dashboard and API are served, if they are, and the server's task (it ends only
    /// when the relay stops, or fails).
    pub http: Option<(SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>)>,
    stop: watch::Sender<bool>,
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Gets the table (from the upstream, else generated), binds the miners' listener and starts the
/// link. Runs until the returned [`Relay`] is dropped.
pub async fn start(o: RelayOptions) -> Result<Relay> {
    if o.upstream.is_empty() {
        bail!("no upstream: give --upstream HOST:PORT");
    }
    // The relay's identity at the upstream is its name; its box key signs the link.
    let key = netmine_link::key_file::load_or_create(&o.data_dir)?;
    let link = LinkConfig {
        coordinators: o.upstream.clone(),
        secret: o.upstream_secret.clone(),
        identity: o.name.clone(),
        coinbase: handshake_coinbase(),
        role: protocol::PeerRole::Relay,
        key: Some(key),
        tls: o.upstream_tls.clone(),
        ..Default::default()
    };
    let dialer = Dialer::new(link).context("the relay's --name or upstream TLS settings")?;
    let link = dialer.config();
    let bits = hashcore::params::resolve_bits(o.bits)?;
    if let Some(dir) = o.table_dir.clone().or_else(hashcore::cache::default_dir) {
        let dest = dir.join(hashcore::cache::file_name(bits));
        match fetch(link, bits, &dest).await {
            Ok(Some(f)) => tracing::info!(
                "table copied from the upstream: {} MiB in {:.1} s",
                f.received >> 20,
                f.elapsed.as_secs_f64()
            ),
            // Already here: the upstream must mine with the same size.
            Ok(None) => check_size(link, bits).await?,
            Err(e @ FetchError::WrongSize { .. }) => return Err(e.into()),
            Err(e) => tracing::warn!("{e}; generating the table here instead"),
        }
    }
    let (bits_opt, dir) = (Some(bits), o.table_dir.clone());
    let (table, _) = tokio::task::spawn_blocking(move || hashcore::cache::open(bits_opt, dir))
        .await?
        .context("getting the LXRHash table")?;
    let listener = tokio::net::TcpListener::bind(o.listen)
        .await
        .with_context(|| format!("listening for miners on {}", o.listen))?;
    let addr = listener.local_addr()?;
    // The relay's own miners' keys are pinned in its own roster (its store).
    // The same store serves the HTTP API (its roster routes; its blocks are none: the upstream
    // pays).
    let store = coordinator::store::Store::open(&o.data_dir.join("relay.db"))?;
    let book = store.clone();
    let roster =
        tokio::task::spawn_blocking(move || coordinator::roster::RosterBook::open(book)).await??;
    // Its telemetry is a relay's: its status says so, with its link's state.
    let upstream: Vec<&str> = o.upstream.iter().map(CoordinatorAddr::as_str).collect();
    let telemetry = Arc::new(coordinator::telemetry::Telemetry::for_relay(
        o.server.max_work_entries(),
        &o.name,
        upstream.iter().map(|u| u.to_string()).collect(),
    ));
    let (stop, stop_rx) = watch::channel(false);
    // The dashboard and API start before the link: an operator sees a relay that cannot link.
    let http = match &o.http {
        Some(h) => {
            let (a, task) = coordinator::daemon::start_http(
                h,
                telemetry.clone(),
                store.clone(),
                stop_rx.clone(),
            )
            .await?;
            coordinator::daemon::announce_http(a);
            Some((a, task))
        }
        None => None,
    };
    tokio::spawn(sample_rates(telemetry.clone(), stop_rx.clone()));
    let hub = Hub::with_roster(o.server, table, telemetry, Arc::new(roster));
    let (up_tx, up_rx) = mpsc::channel(QUEUE);
    hub.forward_to(up_tx);
    tokio::spawn(coordinator::daemon::follow_roster(
        hub.clone(),
        stop_rx.clone(),
    ));
    tokio::spawn(serve(hub.clone(), listener, stop_rx.clone()));
    let link = tokio::spawn(link_loop(dialer, hub.clone(), up_rx, stop_rx));
    tracing::info!(miners = %addr, ?upstream, name = %o.name, "relay running");
    Ok(Relay {
        addr,
        hub,
        link,
        http,
        stop,
    })
}

/// Samples the relay's miners' rate for its dashboard's chart (as the daemon does), until stopped.
async fn sample_rates(
    telemetry: Arc<coordinator::telemetry::Telemetry>,
    mut stop: watch::Receiver<bool>,
) {
    let mut every = tokio::time::interval(coordinator::telemetry::RATE_SAMPLE_EVERY);
    every.tick().await;
    loop {
        tokio::select! {
            _ = every.tick() => telemetry.sample_rate(),
            r = stop.changed() => if r.is_err() || *stop.borrow() { return },
        }
    }
}

/// Tells the telemetry how many submissions wait for the upstream.
fn report_waiting(hub: &Hub, pending: &VecDeque<RelayedSubmission>, unacked: usize) {
    hub.telemetry().relay_waiting(pending.len() + unacked);
}

/// Keeps the link up ([`Dialer`]) until stopped (`None`) or refused for good (`Some(why)`:
/// every upstream refused the relay's secret or name lately).
async fn link_loop(
    mut dialer: Dialer,
    hub: Arc<Hub>,
    mut up: mpsc::Receiver<RelayedSubmission>,
    mut stop: watch::Receiver<bool>,
) -> Option<String> {
    let mut pending: VecDeque<RelayedSubmission> = VecDeque::new();
    let mut stopped = Stopped::default();
    loop {
        // While down (dialling, backing off), keep draining (bounded) so the hub never blocks on
        // a full channel.
        let next = {
            let dial = dialer.next_session(&mut stop);
            tokio::pin!(dial);
            loop {
                tokio::select! {
                    r = &mut dial => break r,
                    Some(s) = up.recv() => {
                        queue(&mut pending, s);
                        report_waiting(&hub, &pending, 0);
                    }
                }
            }
        };
        let mut linked = match next {
            Ok(Some(linked)) => linked,
            Ok(None) => return None,
            Err(all) => {
                let why = format!(
                    "the upstream refused this relay ({}): check the relay's upstream secret (the upstream's relay_secret, or its farm secret without one) and that its `relays` list names this relay",
                    all.reasons.join("; ")
                );
                hub.telemetry().upstream_cut(&why);
                return Some(why);
            }
        };
        tracing::info!(upstream = %linked.addr, version = linked.version, "linked to the upstream");
        hub.telemetry().upstream_linked(linked.addr.as_str());
        // The upstream's farm may pay every record to one address: this relay's miners are told
        // it when they log in (an empty one, or a version-1 upstream's echo, means their own).
        let farm =
            (linked.version >= 2 && !linked.coinbase.is_empty()).then(|| linked.coinbase.clone());
        if hub.payout() != farm {
            tracing::info!(payout = ?farm, "the upstream's payout address");
            hub.set_payout(farm);
        }
        let mut unacked = VecDeque::new();
        let end = run_link(
            &hub,
            &mut linked,
            &mut up,
            (&mut pending, &mut unacked),
            &mut stopped,
            &mut stop,
        )
        .await;
        let _ = linked.ws.close(None).await;
        drop(linked);
        hub.telemetry().upstream_cut(&match &end {
            Ended::Lost(why) => format!("link lost: {why}"),
            Ended::Failback => "leaving for the preferred upstream, which is back".to_string(),
            Ended::Refused(why) => format!("refused: {why}"),
        });
        // Sent but not answered: the link may have died with them in flight. They go again
        // first (the upstream refuses what it already has as duplicates).
        while let Some(s) = unacked.pop_back() {
            if pending.len() < QUEUE {
                pending.push_front(s);
            }
        }
        report_waiting(&hub, &pending, 0);
        if *stop.borrow() {
            return None;
        }
        dialer.ended(match end {
            Ended::Lost(why) => Ended::Lost(format!(
                "link to the upstream lost: {why}; the miners keep mining, their records wait"
            )),
            other => other,
        });
    }
}

fn queue(pending: &mut VecDeque<RelayedSubmission>, s: RelayedSubmission) {
    if pending.len() >= QUEUE {
        let old = pending.pop_front();
        if let Some(o) = old {
            tracing::warn!(identity = %o.identity, job_id = o.job_id, "upstream down too long: dropping the oldest waiting records");
        }
    }
    pending.push_back(s);
}

fn submission(s: RelayedSubmission) -> Message {
    Message::RelaySubmission {
        job_id: s.job_id,
        identity: s.identity,
        coinbase: s.coinbase,
        records: s.records,
    }
}

/// One linked session: relays down what comes down, sends up what the miners hand in and their
/// rates. Returns why it ended (`Refused` when the upstream does not list this relay).
async fn run_link(
    hub: &Arc<Hub>,
    linked: &mut Linked,
    up: &mut mpsc::Receiver<RelayedSubmission>,
    (pending, unacked): (
        &mut VecDeque<RelayedSubmission>,
        &mut VecDeque<RelayedSubmission>,
    ),
    stopped: &mut Stopped,
    stop: &mut watch::Receiver<bool>,
) -> Ended {
    let Linked {
        ws,
        session,
        failback,
        version,
        ..
    } = linked;
    let version = *version;
    // Remote control from the upstream (protocol 3) for this relay's miners: each request is
    // passed on by this relay's hub (which waits for the miner's answer) in a task of its own,
    // at most CONTROLS at once; the answers come back here to go up.
    let (answers, mut answered) = mpsc::channel::<Message>(CONTROLS);
    let in_flight = Arc::new(tokio::sync::Semaphore::new(CONTROLS));
    // What waited while the link was down goes first (the upstream refuses what is too late).
    // Each submission sent is kept until its result comes back: the upstream answers a link's
    // messages in order, so results pop them in order.
    while let Some(s) = pending.pop_front() {
        if let Err(e) = send_up(ws, session, &submission(s.clone())).await {
            pending.push_front(s);
            return Ended::Lost(e);
        }
        queue(unacked, s);
    }
    // A harmless relay message first, so an upstream that does not list this relay says so at
    // once (with its `error`), not only when a miner's records arrive.
    let hello = Message::RelayMinerGone {
        identity: String::new(),
    };
    if let Err(e) = send_up(ws, session, &hello).await {
        return Ended::Lost(e);
    }
    let mut stats = tokio::time::interval(STATS_EVERY);
    let mut reported: BTreeSet<String> = BTreeSet::new();
    loop {
        report_waiting(hub, pending, unacked.len());
        tokio::select! {
            _ = stop.changed() => return Ended::Lost("stopping".into()),
            _ = failback.preferred_back() => return Ended::Failback,
            Some(answer) = answered.recv() => {
                if let Err(e) = send_up(ws, session, &answer).await {
                    return Ended::Lost(e);
                }
            }
            Some(s) = up.recv() => {
                if let Err(e) = send_up(ws, session, &submission(s.clone())).await {
                    queue(pending, s);
                    return Ended::Lost(e);
                }
                queue(unacked, s);
            }
            _ = stats.tick() => {
                let now: Vec<_> = hub.telemetry().miners().into_iter().filter(|m| m.connected).collect();
                let ids: BTreeSet<String> = now.iter().map(|m| m.identity.clone()).collect();
                for gone in reported.difference(&ids) {
                    if let Err(e) = send_up(ws, session, &Message::RelayMinerGone { identity: gone.clone() }).await {
                        return Ended::Lost(e);
                    }
                }
                for m in &now {
                    let msg = Message::RelayStats {
                        identity: m.identity.clone(),
                        coinbase: m.coinbase.clone(),
                        address: m.address.clone(),
                        stats: stats_of(m),
                    }
                    .for_version(version);
                    if let Err(e) = send_up(ws, session, &msg).await {
                        return Ended::Lost(e);
                    }
                }
                reported = ids;
            }
            frame = tokio::time::timeout(SILENT, protocol::ws::recv_text(ws, "upstream")) => {
                let text = match frame {
                    Ok(Ok(t)) => t,
                    Ok(Err(e)) => return Ended::Lost(e.to_string()),
                    Err(_) => return Ended::Lost(format!("nothing from the upstream for {SILENT:?}")),
                };
                let msg = match session.open(&text) {
                    Ok(m) => m,
                    Err(e) => return Ended::Lost(format!("protocol violation by the upstream: {e}")),
                };
                if matches!(msg, Message::RelaySubmissionResult { .. }) {
                    unacked.pop_front();
                }
                if let Message::RelayControl { identity, id, action } = msg {
                    let Ok(permit) = in_flight.clone().try_acquire_owned() else {
                        let busy = Message::RelayControlResult {
                            identity,
                            id,
                            ok: false,
                            detail: "the relay is busy with other requests".into(),
                        };
                        if let Err(e) = send_up(ws, session, &busy).await {
                            return Ended::Lost(e);
                        }
                        continue;
                    };
                    let (hub, answers) = (hub.clone(), answers.clone());
                    tokio::spawn(async move {
                        let r = hub.control(&identity, action).await;
                        let ok = r.outcome == coordinator::server::ControlOutcome::Done;
                        let _ = answers
                            .send(Message::RelayControlResult { identity, id, ok, detail: r.detail })
                            .await;
                        drop(permit);
                    });
                    continue;
                }
                if let Message::Error { message } = &msg {
                    if message.contains("is not a relay") {
                        return Ended::Refused(message.clone());
                    }
                }
                if let Some(reply) = from_upstream(hub, stopped, msg) {
                    if let Err(e) = send_up(ws, session, &reply).await {
                        return Ended::Lost(e);
                    }
                }
            }
        }
    }
}
