//! The simulated miners: authenticated protocol clients that do no hashing. Each has its own
//! identity and a valid coinbase, notes when every broadcast reaches it, answers pings, and at
//! `stop` submits records found before the clock started (so what is timed is the coordinator).

use crate::{now_ns, template, COINBASES, SECRET};
use anyhow::{bail, Context, Result};
use coordinator::verify::MinerRecord;
use hashcore::Table;
use pegnet::Pow;
use protocol::ws::{recv_text, send_text};
use protocol::{Difficulty, HexBytes, Message, MinerHandshake, Secret, SubmittedRecord};
use rayon::prelude::*;
use std::sync::Arc;
use tokio::sync::{mpsc, Semaphore};

/// What a client saw, and when (wall clock, ns since the epoch, taken as the frame was read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Authenticated.
    Connected,
    /// A `job`.
    Job,
    /// A `minute`.
    Minute,
    /// A `stop`.
    Stop,
    /// The answer to its submission, with the number of records accepted.
    Result(u32),
    /// The link failed or the coordinator sent an error: the client is gone.
    Failed,
}

/// One event from one client.
#[derive(Debug, Clone, Copy)]
pub struct Event {
    /// What it saw.
    pub seen: Seen,
    /// When, ns since the epoch.
    pub ns: u64,
}

/// Client `k`'s identity.
pub fn identity(k: usize) -> String {
    format!("load{k}")
}

/// Client `k`'s coinbase (the clients alternate between two valid addresses).
pub fn coinbase(k: usize) -> &'static str {
    COINBASES[k % COINBASES.len()]
}

/// Every client's submission for the benchmark's job: `records` valid records each (nonces
/// 0..records, difficulties computed here with `table`, best first). The job's minimum difficulty
/// is 0, so any record is above it; the coordinator verifies each by recomputing its LXRHash.
pub fn records(table: &Table, clients: usize, records: usize) -> Result<Vec<Vec<SubmittedRecord>>> {
    let tpl = template();
    (0..clients)
        .into_par_iter()
        .map(|k| {
            let rec = MinerRecord::new(&tpl, 1, &identity(k), coinbase(k))
                .with_context(|| format!("client {k}'s record"))?;
            let mut out: Vec<SubmittedRecord> = (0..records as u32)
                .map(|n| {
                    let nonce = n.to_be_bytes().to_vec();
                    let d = table.difficulty(&rec.opr_hash, &nonce);
                    SubmittedRecord {
                        nonce: HexBytes(nonce),
                        difficulty: Difficulty(d),
                    }
                })
                .collect();
            out.sort_by_key(|r| std::cmp::Reverse(r.difficulty.0));
            Ok(out)
        })
        .collect()
}

/// Starts `submissions.len()` clients, client k against `addrs[k % addrs.len()]` (the
/// coordinator, or the relays), at most `concurrency` handshaking at once; each reports to
/// `events` until its link ends.
pub fn start(
    addrs: &[String],
    submissions: Vec<Vec<SubmittedRecord>>,
    concurrency: usize,
    events: mpsc::UnboundedSender<Event>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let gate = Arc::new(Semaphore::new(concurrency.max(1)));
    submissions
        .into_iter()
        .enumerate()
        .map(|(k, records)| {
            let addr = addrs[k % addrs.len().max(1)].clone();
            let (gate, events) = (gate.clone(), events.clone());
            tokio::spawn(async move {
                if let Err(e) = client(k, &addr, records, &gate, &events).await {
                    eprintln!("client {k}: {e:#}");
                    let _ = events.send(Event {
                        seen: Seen::Failed,
                        ns: now_ns(),
                    });
                }
            })
        })
        .collect()
}

async fn client(
    k: usize,
    addr: &str,
    records: Vec<SubmittedRecord>,
    gate: &Semaphore,
    events: &mpsc::UnboundedSender<Event>,
) -> Result<()> {
    let tell = |seen: Seen, ns: u64| {
        let _ = events.send(Event { seen, ns });
    };
    let (mut ws, mut session) = {
        let _slot = gate.acquire().await?;
        let (mut ws, _) = tokio_tungstenite::connect_async_with_config(
            format!("ws://{addr}"),
            Some(protocol::ws::config()),
            false,
        )
        .await
        .context("connecting")?;
        let challenge = recv_text(&mut ws, "coordinator").await?;
        let (pending, auth) = MinerHandshake::new(&Secret::new(SECRET), &identity(k), coinbase(k))
            .respond(&challenge)?;
        send_text(&mut ws, auth).await?;
        let welcome = recv_text(&mut ws, "coordinator").await?;
        let session = pending.finish(&welcome)?;
        (ws, session)
    };
    tell(Seen::Connected, now_ns());
    loop {
        let frame = recv_text(&mut ws, "coordinator").await?;
        let ns = now_ns();
        let reply = match session.open(&frame)? {
            Message::Job { .. } => {
                tell(Seen::Job, ns);
                None
            }
            Message::Minute { .. } => {
                tell(Seen::Minute, ns);
                None
            }
            Message::Stop { job_id } => {
                tell(Seen::Stop, ns);
                Some(Message::Submission {
                    job_id,
                    records: records.clone(),
                })
            }
            Message::SubmissionResult { accepted, .. } => {
                tell(Seen::Result(accepted), ns);
                None
            }
            Message::Ping { nonce } => Some(Message::Pong { nonce }),
            Message::Error { message } => bail!("the coordinator says: {message}"),
            _ => None,
        };
        if let Some(msg) = reply {
            send_text(&mut ws, session.seal(&msg)?).await?;
        }
    }
}
