//! Remote control (protocol version 3): the operator asks a miner to pause, resume, run another
//! number of threads or other OpenCL devices, or restart its backends, and hears back what the
//! miner did.
//!
//! [`Hub::control`] finds the miner's connection (or, for a miner behind a relay, the relay's),
//! checks that it speaks protocol 3 (a version-1 or -2 peer would close the link on a message
//! it does not know, so it is never sent one: the answer is [`ControlOutcome::NeedsProtocol3`]),
//! queues the request on that connection's own bounded channel (the session sends it), and waits
//! at most [`CONTROL_WAIT`] for the answer. A relay passes the request on to its miner and sends
//! the miner's answer back (`relay_control`, `relay_control_result`).
//!
//! Answers are matched by id *and* by who sent them: a miner can only answer requests sent to
//! it, a relay only requests for its own miners. The requests waiting are bounded
//! ([`MAX_WAITING`]); each is forgotten when answered or when its wait ends.

use super::hub::Hub;
use crate::telemetry::views::MinerView;
use protocol::{ControlAction, Message};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;
use tokio::sync::oneshot;

/// Requests queued for one connection at most (more: [`ControlOutcome::Busy`]).
pub(super) const QUEUE: usize = 16;

/// Requests waiting for their answers, all miners together, at most.
pub const MAX_WAITING: usize = 4096;

/// How long [`Hub::control`] waits for a miner's answer (restarting an OpenCL backend uploads
/// the table to the devices: seconds).
pub const CONTROL_WAIT: Duration = Duration::from_secs(20);

/// Where the HTTP API finds the hub (the API is up before the hub exists: the daemon serves it
/// while it waits for factomd).
#[derive(Default)]
pub struct ControlDesk(OnceLock<Weak<Hub>>);

impl ControlDesk {
    /// The hub that answers from now on (the first one attached).
    pub(super) fn attach(&self, hub: &Arc<Hub>) {
        let _ = self.0.set(Arc::downgrade(hub));
    }

    /// The hub, once it runs.
    pub fn hub(&self) -> Option<Arc<Hub>> {
        self.0.get().and_then(Weak::upgrade)
    }
}

/// What became of a remote-control request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlOutcome {
    /// The miner did it.
    Done,
    /// The miner answered that it could not (its `detail` says why).
    Refused,
    /// The request's values are out of range (threads 0, an empty device list, …).
    Invalid,
    /// No miner of that identity is known here.
    Unknown,
    /// The miner is listed but not connected (or its relay's link is down).
    Offline,
    /// The miner (or the relay it is behind) speaks protocol 1 or 2: it cannot be controlled.
    NeedsProtocol3,
    /// No answer within [`CONTROL_WAIT`].
    NoAnswer,
    /// Too many requests waiting (for this miner or in all): try again.
    Busy,
}

/// One request's outcome, as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlReport {
    /// The miner.
    pub identity: String,
    /// The action (`pause`, `resume`, `set_threads`, `set_devices`, `restart`).
    pub action: String,
    /// What became of it.
    pub outcome: ControlOutcome,
    /// One line for the operator: what the miner did, or why not.
    pub detail: String,
}

/// A request waiting for its answer.
struct Waiting {
    /// The miner it was sent to.
    identity: String,
    /// The relay it went through (`None`: sent to the miner directly).
    via: Option<String>,
    answer: oneshot::Sender<(bool, String)>,
}

/// The requests waiting for answers.
#[derive(Default)]
pub(super) struct Controls {
    next: AtomicU64,
    waiting: Mutex<HashMap<u64, Waiting>>,
}

impl Controls {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Waiting>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Where a request goes.
struct Route {
    version: u32,
    tx: tokio::sync::mpsc::Sender<Box<Message>>,
    via: Option<String>,
}

impl Hub {
    /// Asks miner `identity` to do `action` and waits (at most [`CONTROL_WAIT`]) for its answer.
    pub async fn control(&self, identity: &str, action: ControlAction) -> ControlReport {
        let report = |outcome, detail: String| ControlReport {
            identity: identity.to_string(),
            action: action.name().to_string(),
            outcome,
            detail,
        };
        if let Err(e) = action.check() {
            return report(ControlOutcome::Invalid, e.to_string());
        }
        let route = match self.route(identity) {
            Ok(r) => r,
            Err((outcome, why)) => return report(outcome, why),
        };
        if route.version < protocol::control::CONTROL_VERSION {
            let who = match &route.via {
                Some(relay) => format!("the relay {relay:?} it is behind"),
                None => format!("{identity:?}"),
            };
            return report(
                ControlOutcome::NeedsProtocol3,
                format!(
                    "needs protocol 3: {who} speaks protocol {}; upgrade it to control this miner",
                    route.version
                ),
            );
        }
        let (tx, rx) = oneshot::channel();
        let id = {
            let mut w = self.controls.lock();
            if w.len() >= MAX_WAITING {
                return report(ControlOutcome::Busy, "too many requests waiting".into());
            }
            let id = self.controls.next.fetch_add(1, Ordering::Relaxed) + 1;
            w.insert(
                id,
                Waiting {
                    identity: identity.to_string(),
                    via: route.via.clone(),
                    answer: tx,
                },
            );
            id
        };
        let msg = match &route.via {
            None => Message::Control {
                id,
                action: action.clone(),
            },
            Some(_) => Message::RelayControl {
                identity: identity.to_string(),
                id,
                action: action.clone(),
            },
        };
        if route.tx.try_send(Box::new(msg)).is_err() {
            self.controls.lock().remove(&id);
            return report(
                ControlOutcome::Busy,
                "too many requests queued for this miner".into(),
            );
        }
        let answer = tokio::time::timeout(CONTROL_WAIT, rx).await;
        self.controls.lock().remove(&id);
        match answer {
            Ok(Ok((true, detail))) => {
                match action {
                    ControlAction::Pause => self.telemetry().miner_paused(identity, true),
                    ControlAction::Resume => self.telemetry().miner_paused(identity, false),
                    _ => {}
                }
                tracing::info!(identity, action = action.name(), "remote control: {detail}");
                report(ControlOutcome::Done, detail)
            }
            Ok(Ok((false, detail))) => {
                tracing::warn!(
                    identity,
                    action = action.name(),
                    "remote control refused: {detail}"
                );
                report(ControlOutcome::Refused, detail)
            }
            // The connection ended (its session is gone with the request).
            Ok(Err(_)) => report(
                ControlOutcome::Offline,
                "the connection ended before the miner answered".into(),
            ),
            Err(_) => report(
                ControlOutcome::NoAnswer,
                format!("no answer within {} s", CONTROL_WAIT.as_secs()),
            ),
        }
    }

    /// The connection a request for `identity` goes to, or why there is none.
    fn route(&self, identity: &str) -> Result<Route, (ControlOutcome, String)> {
        if let Some((version, tx)) = self.control_route(identity) {
            if !self.is_relay(identity) {
                return Ok(Route {
                    version,
                    tx,
                    via: None,
                });
            }
        }
        let view: Option<MinerView> = self.telemetry().miner(identity);
        let Some(view) = view else {
            return Err((
                ControlOutcome::Unknown,
                format!("no miner {identity:?} is known here"),
            ));
        };
        if !view.connected {
            return Err((
                ControlOutcome::Offline,
                format!("{identity:?} is not connected"),
            ));
        }
        let Some(relay) = view.via else {
            return Err((
                ControlOutcome::Offline,
                format!("{identity:?} is not connected"),
            ));
        };
        match self.control_route(&relay) {
            Some((version, tx)) => Ok(Route {
                version,
                tx,
                via: Some(relay),
            }),
            None => Err((
                ControlOutcome::Offline,
                format!("the relay {relay:?} that {identity:?} is behind is not connected"),
            )),
        }
    }

    /// An answer to request `id`, about miner `identity`, from the connection of the miner itself
    /// (`via` is `None`) or of the relay `via`. An answer nobody waits for, or from a connection
    /// the request was not sent to, is ignored.
    pub(super) fn control_answered(
        &self,
        identity: &str,
        via: Option<&str>,
        id: u64,
        ok: bool,
        detail: &str,
    ) {
        let mut w = self.controls.lock();
        let Some(waiting) = w.get(&id) else {
            return;
        };
        if waiting.identity != identity || waiting.via.as_deref() != via {
            tracing::debug!(
                identity,
                id,
                "an answer to a request not sent to it: ignored"
            );
            return;
        }
        if let Some(waiting) = w.remove(&id) {
            let detail =
                protocol::text::sanitize_to(detail, protocol::control::MAX_DETAIL).into_owned();
            let _ = waiting.answer.send((ok, detail));
        }
    }
}
