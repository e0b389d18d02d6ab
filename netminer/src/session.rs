//! One mining session with one coordinator, from the welcome to its end: what each message of the
//! coordinator makes the miner do.
//!
//! * `job`: build this box's record template with its own identity and the coinbase the
//!   coordinator's welcome assigned (its own, or the farm's; the coordinator sends the prices
//!   and the previous winners, never the names) and hand the job to
//!   the backend; a template that cannot make a valid record pauses the backend and says why.
//! * `stop`: pause the backend and submit its best records for that job (at most `top`). A box
//!   submits once per block: a job for a block it already submitted to another coordinator (met
//!   by failing back in minute 9) is not mined (see [`Carried`]).
//! * `skip`: the coordinator will not submit this block (no prices, say): pause.
//! * `submission_result`: log what was accepted and what was refused, and why.
//! * `ping`: answer `pong`. `minute`, `error`: log.
//! * `control` (protocol 3): pause, resume, set threads or devices, restart the backends (see
//!   `control.rs`); answered with `control_result`, followed at once by a `stats` report so the
//!   coordinator sees the change without waiting for the next one. A rebuild runs on the blocking
//!   pool while the session goes on; a second request meanwhile is refused as busy.
//!
//! Every `stats_every` the session reports the backend's hash rates (`stats`). It ends when the
//! link fails, when the preferred coordinator is back (failback, from `netmine_link`'s dialer),
//! or at shutdown; the dialer then decides what comes next. Failback waits until no job is being
//! mined (after `stop` and the submission, or a `skip`): a coordinator that comes back in the
//! middle of a block has no job for it (or another one), so moving then would throw away the
//! block's work; between blocks it costs nothing.

use crate::client::MinerConfig;
use crate::control::Controlled;
use crate::rates::RateTracker;
use crate::stats_line::Activity;
use hashcore::{Job, MiningBackend};
use netmine_link::{recv, send, Ended, Linked};
use pegnet::{opr_hash, OprTemplate};
use protocol::text::sanitize;
use protocol::{Message, SubmittedRecord};
use std::sync::Arc;
use tokio::sync::watch;

/// The job being mined, as the coordinator named it: its id, height and the hashed prefix (the
/// record's hash with this box's identity and coinbase). A job that comes again with the same
/// key, after a reconnect, is the same work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JobKey {
    id: u64,
    height: u32,
    prefix: Vec<u8>,
}

/// What the miner carries from one session to the next.
#[derive(Debug, Default)]
pub(crate) struct Carried {
    /// The job being mined: a coordinator that serves it again after a reconnect (restarted, or
    /// a standby) keeps this box's work since minute 1.
    pub(crate) current: Option<JobKey>,
    /// The last block this box submitted records for. A coordinator met after the submission
    /// (the preferred one, failed back to in minute 9) may still serve a job for that same block;
    /// the box does not mine it or submit to it: its records for the block went to the other
    /// coordinator, and two coordinators of one farm each paying for the same box's block is
    /// what the standby fence (`docs/availability.md`) exists to prevent.
    pub(crate) submitted: Option<u32>,
}

/// Mines over `linked` until it ends: `Some(how)` for the dialer, `None` at shutdown. `carried`
/// is the job being mined and the last block submitted, kept across sessions.
pub(crate) async fn run(
    cfg: &MinerConfig,
    linked: Linked,
    ctl: &Arc<Controlled>,
    carried: &mut Carried,
    shutdown: &mut watch::Receiver<bool>,
    activity: &Activity,
) -> Option<Ended> {
    let Linked {
        mut ws,
        mut session,
        mut failback,
        coinbase,
        version,
        ..
    } = linked;
    let backend: Arc<dyn MiningBackend> = ctl.clone();
    let backend = &backend;
    // A rebuild asked by the coordinator, running on the blocking pool: its request id.
    let mut working: Option<(u64, tokio::task::JoinHandle<Result<String, String>>)> = None;
    if coinbase != cfg.link.coinbase {
        tracing::info!(%coinbase, "the coordinator pays this box's records to the farm's coinbase");
    }
    let mut stats = RateTracker::new();
    let mut tick = tokio::time::interval(cfg.stats_every);
    loop {
        tokio::select! {
            _ = shutdown.changed() => {
                let _ = ws.close(None).await;
                return None;
            }
            _ = failback.preferred_back(), if carried.current.is_none() => {
                let _ = ws.close(None).await;
                return Some(Ended::Failback);
            }
            _ = tick.tick() => {
                let s = stats_report(&mut stats, ctl, version);
                if let Err(e) = send(&mut ws, &mut session, &s).await {
                    return Some(Ended::Lost(e.to_string()));
                }
            }
            done = async { (&mut working.as_mut().expect("guarded").1).await }, if working.is_some() => {
                let (id, _) = working.take().expect("guarded");
                let outcome = done.unwrap_or_else(|e| Err(format!("the request failed: {e}")));
                for m in [answer(id, outcome), stats_report(&mut stats, ctl, version)] {
                    if let Err(e) = send(&mut ws, &mut session, &m).await {
                        return Some(Ended::Lost(e.to_string()));
                    }
                }
            }
            msg = recv(&mut ws, &mut session) => {
                let msg = match msg {
                    Ok(m) => m,
                    Err(e) => return Some(Ended::Lost(e.to_string())),
                };
                if let Message::Control { id, action } = msg {
                    let replies = if working.is_some() {
                        vec![answer(id, Err("busy: the previous request is still being carried out".into()))]
                    } else if Controlled::blocks(&action) {
                        let c = ctl.clone();
                        working = Some((id, tokio::task::spawn_blocking(move || c.apply(&action))));
                        Vec::new()
                    } else {
                        vec![answer(id, ctl.apply(&action)), stats_report(&mut stats, ctl, version)]
                    };
                    for m in replies {
                        if let Err(e) = send(&mut ws, &mut session, &m).await {
                            return Some(Ended::Lost(e.to_string()));
                        }
                    }
                    continue;
                }
                if let Some(reply) = on_message(cfg, &coinbase, backend, carried, msg, activity) {
                    if let Err(e) = send(&mut ws, &mut session, &reply).await {
                        return Some(Ended::Lost(e.to_string()));
                    }
                }
            }
        }
    }
}

/// The answer to control request `id`.
fn answer(id: u64, outcome: Result<String, String>) -> Message {
    let (ok, detail) = match outcome {
        Ok(d) => (true, d),
        Err(d) => (false, d),
    };
    Message::ControlResult { id, ok, detail }
}

/// The `stats` report now: a paused miner reports zero current rates and says it is paused (to
/// a coordinator of protocol 3; an older one is never told).
fn stats_report(stats: &mut RateTracker, ctl: &Controlled, version: u32) -> Message {
    let mut s = stats.sample(&ctl.hash_counts());
    let running = ctl.current();
    s.backend = Some(running.name().to_string());
    s.devices = running.worker_labels();
    s.per_worker.resize(s.devices.len(), 0.0);
    s.device_health = crate::health::report(&running.device_health(), &s.devices, &s.per_worker);
    let paused = ctl.is_paused();
    if paused {
        s.rate_10s = 0.0;
        s.per_worker.iter_mut().for_each(|r| *r = 0.0);
    }
    if version >= protocol::control::CONTROL_VERSION {
        s.paused = Some(paused);
    }
    Message::Stats(s)
}

/// Acts on one message of the coordinator; the answer to send back, if any.
fn on_message(
    cfg: &MinerConfig,
    coinbase: &str,
    backend: &Arc<dyn MiningBackend>,
    carried: &mut Carried,
    msg: Message,
    activity: &Activity,
) -> Option<Message> {
    let current = &mut carried.current;
    match msg {
        Message::Job {
            job_id,
            opr,
            min_difficulty,
            records_wanted,
        } => {
            let template = match OprTemplate::try_from(opr) {
                Ok(t) => t,
                Err(e) => return Some(Message::error(e)),
            };
            if carried.submitted == Some(template.height) {
                tracing::info!(
                    job_id,
                    height = template.height,
                    "this box already submitted its records for block {} (to another \
                     coordinator): not mining it again, waiting for the next block",
                    template.height
                );
                backend.set_job(None);
                *current = None;
                return None;
            }
            match template.content(&cfg.link.identity, coinbase) {
                Ok(content) => {
                    let key = JobKey {
                        id: job_id,
                        height: template.height,
                        prefix: opr_hash(&content).to_vec(),
                    };
                    if current.as_ref() == Some(&key) {
                        tracing::info!(
                            job_id,
                            height = template.height,
                            "the same job as before the reconnect: its work since minute 1 is kept"
                        );
                        return None;
                    }
                    tracing::info!(job_id, height = template.height, "new job");
                    activity.job();
                    backend.set_job(Some(Job {
                        id: job_id,
                        prefix: key.prefix.clone(),
                        min_difficulty: min_difficulty.0,
                        keep: cfg.top.min(records_wanted as usize),
                    }));
                    *current = Some(key);
                    None
                }
                Err(e) => {
                    backend.set_job(None);
                    *current = None;
                    Some(Message::Error {
                        message: format!("cannot build a valid record for job {job_id}: {e}"),
                    })
                }
            }
        }
        Message::Stop { job_id } => {
            backend.set_job(None);
            let Some(mined) = current.take().filter(|k| k.id == job_id) else {
                tracing::info!(
                    job_id,
                    "stop for a job this box is not mining: nothing to submit"
                );
                return None;
            };
            carried.submitted = Some(mined.height);
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
            *current = None;
            let reason = sanitize(&reason);
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
                    sanitize(&r.example)
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
            tracing::warn!("coordinator reports: {}", sanitize(&message));
            None
        }
        other => Some(Message::Error {
            message: format!("{} is not a message coordinators send", other.kind()),
        }),
    }
}
