//! Checking a submission as it arrives: the cheap checks and the miner's count under the hub's
//! lock, the LXRHash on the bounded verification pool, then the verified records kept in the hub
//! (and, in relay mode, sent upstream). The answer is the `submission_result` the miner gets.

use super::hub::{Hub, MinerWork, State};
use crate::verify::{check_pow, precheck, Limits, MinerRecord, RecordRefusal};
use protocol::{Message, MinerHello, RefusalCode, RefusalCount};
use std::collections::HashSet;
use std::sync::Arc;

/// Refusals summarized per code: a count and the first one's reason as an example (bounded).
pub(super) fn summarize(
    refused: &[(usize, RecordRefusal)],
    extra: &[(RefusalCode, String)],
) -> Vec<RefusalCount> {
    let mut out: Vec<RefusalCount> = Vec::new();
    let all = refused
        .iter()
        .map(|(k, r)| (r.code(), format!("record {k}: {r}")))
        .chain(extra.iter().cloned());
    for (code, example) in all {
        match out.iter_mut().find(|c| c.code == code) {
            Some(c) => c.count = c.count.saturating_add(1),
            None => out.push(RefusalCount {
                code,
                count: 1,
                example: truncate(&example, RefusalCount::MAX_EXAMPLE),
            }),
        }
    }
    out
}

/// At most `max` bytes of `s`, cut at a character boundary.
pub(super) fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

fn refused_all(job_id: u64, code: RefusalCode, n: usize, why: String) -> Message {
    Message::SubmissionResult {
        job_id,
        accepted: 0,
        rejected: vec![RefusalCount {
            code,
            count: u32::try_from(n).unwrap_or(u32::MAX),
            example: truncate(&why, RefusalCount::MAX_EXAMPLE),
        }],
    }
}

pub(super) async fn submission(
    hub: &Arc<Hub>,
    hello: &MinerHello,
    job_id: u64,
    records: Vec<protocol::SubmittedRecord>,
) -> Message {
    let n = records.len();
    let pairs: Vec<(Vec<u8>, u64)> = records
        .into_iter()
        .map(|r| (r.nonce.0, r.difficulty.0))
        .collect();
    // The cheap checks, and the miner's count of records, under the lock: the records over the
    // limit are refused before anything is hashed.
    let (job, record, candidates, mut refused) = {
        let mut st = hub.lock();
        st.counts.received += n;
        let Some(job) = st.job.clone() else {
            *st.counts
                .rejected
                .entry(RefusalCode::StaleJob.name().into())
                .or_default() += n;
            return refused_all(
                job_id,
                RefusalCode::StaleJob,
                n,
                format!("job {job_id} is over"),
            );
        };
        if !st.work.contains_key(&hello.identity) {
            if st.work.len() >= hub.cfg.max_work_entries() {
                let State {
                    work, connected, ..
                } = &mut *st;
                work.retain(|id, w| !w.accepted.is_empty() || connected.contains_key(id));
            }
            let record =
                match MinerRecord::new(&job.template, job.job_id, &hello.identity, &hello.coinbase)
                {
                    Ok(r) => r,
                    Err(e) => {
                        *st.counts
                            .rejected
                            .entry(RefusalCode::BadRecord.name().into())
                            .or_default() += n;
                        return refused_all(job_id, RefusalCode::BadRecord, n, e.to_string());
                    }
                };
            if st.work.len() >= hub.cfg.max_work_entries() {
                *st.counts
                    .rejected
                    .entry(RefusalCode::OverLimit.name().into())
                    .or_default() += n;
                return refused_all(
                    job_id,
                    RefusalCode::OverLimit,
                    n,
                    "too many miners submitted for this block".into(),
                );
            }
            st.work.insert(
                hello.identity.clone(),
                MinerWork {
                    record,
                    accepted: Vec::new(),
                    nonces: HashSet::new(),
                    submitted: 0,
                    coinbase: hello.coinbase.clone(),
                },
            );
        }
        if st
            .work
            .get(&hello.identity)
            .is_some_and(|w| w.coinbase != hello.coinbase)
        {
            // One identity, two payout addresses (a relayed miner named like another miner):
            // the first to submit keeps the identity for this block; nothing else is touched.
            *st.counts
                .rejected
                .entry(RefusalCode::BadRecord.name().into())
                .or_default() += n;
            return refused_all(
                job_id,
                RefusalCode::BadRecord,
                n,
                format!(
                    "identity {} already submitted for this block with another coinbase: identities must be unique across the farm",
                    hello.identity
                ),
            );
        }
        let limits = Limits {
            current_job: job.job_id,
            min_difficulty: job.min_difficulty,
            per_miner: hub.cfg.records_per_miner,
        };
        let w = st.work.get_mut(&hello.identity).expect("inserted above");
        let (candidates, refused) = precheck(
            &w.record,
            job_id,
            pairs,
            limits,
            &w.nonces,
            &mut w.submitted,
        );
        (job, w.record.clone(), candidates, refused)
    };
    // LXRHash (~0.3 ms a record at 30 bits) on the bounded pool; the miner's accepted work stays
    // in the hub meanwhile, so minute 9's collection gets every record accepted so far.
    let (ok, wrong) = if candidates.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        let table = hub.table.clone();
        let hashed = candidates.len();
        match hub
            .on_pool(move || check_pow(table.as_ref(), &record, candidates))
            .await
        {
            Some(v) => v,
            None => {
                tracing::error!(identity = %hello.identity, "verifying a submission failed");
                let mut st = hub.lock();
                if st.job.as_ref().map(|j| j.job_id) == Some(job.job_id) {
                    *st.counts
                        .rejected
                        .entry(RefusalCode::VerificationFailed.name().into())
                        .or_default() += hashed;
                }
                let mut rejected = summarize(&refused, &[]);
                rejected.push(RefusalCount {
                    code: RefusalCode::VerificationFailed,
                    count: u32::try_from(hashed).unwrap_or(u32::MAX),
                    example: "the coordinator could not verify these records".into(),
                });
                return Message::SubmissionResult {
                    job_id,
                    accepted: 0,
                    rejected,
                };
            }
        }
    };
    refused.extend(wrong);
    refused.sort_by_key(|(k, _)| *k);
    let mut st = hub.lock();
    if st.job.as_ref().map(|j| j.job_id) != Some(job.job_id) {
        // Collected (minute 9) while this submission was checked: too late for the block.
        return refused_all(
            job_id,
            RefusalCode::StaleJob,
            n,
            format!("job {job_id} is over"),
        );
    }
    for (_, r) in &refused {
        *st.counts
            .rejected
            .entry(r.code().name().into())
            .or_default() += 1;
    }
    let mut accepted = 0u32;
    let mut late_duplicates = Vec::new();
    let mut fresh = Vec::new();
    if let Some(w) = st.work.get_mut(&hello.identity) {
        for a in ok {
            // Another connection of the same identity may have had it accepted meanwhile.
            if w.nonces.insert(a.nonce.clone()) {
                if hub.upstream.get().is_some() {
                    fresh.push(protocol::SubmittedRecord {
                        nonce: protocol::HexBytes(a.nonce.clone()),
                        difficulty: protocol::Difficulty(a.difficulty),
                    });
                }
                w.accepted.push(a);
                accepted += 1;
            } else {
                late_duplicates.push((RefusalCode::Duplicate, "duplicate nonce".to_string()));
            }
        }
    }
    st.counts.verified += accepted as usize;
    drop(st);
    hub.forward(hello, job_id, fresh);
    Message::SubmissionResult {
        job_id,
        accepted,
        rejected: summarize(&refused, &late_duplicates),
    }
}
