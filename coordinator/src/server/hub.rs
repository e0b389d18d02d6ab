//! The hub: the only owner of the current job and of each miner's verified work for it. The
//! block engine starts and collects jobs here; the connections register miners, report their hash
//! rates and hand in submissions, which are verified (off the async threads) and accounted here.

use super::ServerConfig;
use crate::verify::{verify, Accepted, Limits, MinerRecord};
use hashcore::Table;
use pegnet::OprTemplate;
use protocol::{Message, MinerHello, Stats};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::broadcast;

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
    pub(super) nonces: HashSet<Vec<u8>>,
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

/// A connected miner's registration: which connection holds the identity, and how to tell it
/// that a newer connection replaced it.
pub(super) struct Registration {
    pub(super) conn: u64,
    pub(super) replaced: tokio::sync::oneshot::Sender<String>,
}

#[derive(Default)]
pub(super) struct State {
    pub(super) connected: HashMap<String, Registration>,
    pub(super) job: Option<CurrentJob>,
    pub(super) work: HashMap<String, MinerWork>,
    pub(super) counts: JobCounts,
    pub(super) stats: HashMap<String, Stats>,
}

/// Shared by the listener, the connections and the block engine.
pub struct Hub {
    pub(super) cfg: ServerConfig,
    pub(super) table: Arc<Table>,
    pub(super) events: broadcast::Sender<Message>,
    pub(super) next_conn: std::sync::atomic::AtomicU64,
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
            next_conn: std::sync::atomic::AtomicU64::new(1),
            state: Mutex::new(State::default()),
        })
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
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

    /// The current job as (height, job id), if a job is open (started and not yet collected).
    pub fn current_job(&self) -> Option<(u32, u64)> {
        self.lock()
            .job
            .as_ref()
            .map(|j| (j.template.height, j.job_id))
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
        let mut v: Vec<String> = self.lock().connected.keys().cloned().collect();
        v.sort();
        v
    }

    /// Sum of the miners' last reported 10 s hash rates.
    pub fn hash_rate(&self) -> f64 {
        self.lock().stats.values().map(|s| s.rate_10s).sum()
    }
}

pub(super) fn job_message(job: &CurrentJob) -> Message {
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

pub(super) async fn submission(
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
    use crate::server::ServerConfig;
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
