//! Checking a submission as it arrives: the cheap checks and the miner's count in the hub's job
//! book, the LXRHash on the bounded verification pool, then the verified records kept in the book
//! (and, in relay mode, sent upstream). The answer is the `submission_result` the miner gets.

use super::hub::Hub;
use crate::verify::{check_pow, RecordRefusal};
use protocol::text::sanitize_to;
use protocol::{Message, MinerHello, RefusalCode, RefusalCount};
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
                example: sanitize_to(&example, RefusalCount::MAX_EXAMPLE).into_owned(),
            }),
        }
    }
    out
}

pub(super) fn refused_all(job_id: u64, code: RefusalCode, n: usize, why: String) -> Message {
    Message::SubmissionResult {
        job_id,
        accepted: 0,
        rejected: vec![RefusalCount {
            code,
            count: u32::try_from(n).unwrap_or(u32::MAX),
            example: sanitize_to(&why, RefusalCount::MAX_EXAMPLE).into_owned(),
        }],
    }
}

/// Checks one submission and answers it: the hub's book admits it (the checks that need no
/// hashing, and the miner's count), the survivors are hashed on the bounded pool, and the book
/// keeps what verified. In relay mode the newly accepted records also go upstream.
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
    let admitted = match hub.admit(hello, job_id, pairs) {
        Ok(a) => a,
        Err(answer) => return *answer,
    };
    let (job, mut refused) = (admitted.job_id, admitted.refused);
    // LXRHash (~0.3 ms a record at 30 bits) on the bounded pool; the miner's accepted work stays
    // in the hub meanwhile, so minute 9's collection gets every record accepted so far.
    let (ok, wrong) = if admitted.candidates.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        let table = hub.table().clone();
        let (record, candidates) = (admitted.record, admitted.candidates);
        let hashed = candidates.len();
        match hub
            .on_pool(move || check_pow(table.as_ref(), &record, candidates))
            .await
        {
            Some(v) => v,
            None => {
                tracing::error!(identity = %hello.identity, "verifying a submission failed");
                hub.count_refused(job, RefusalCode::VerificationFailed, hashed);
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
    let Some(settled) = hub.settle(&hello.identity, job, ok, &refused) else {
        // Collected (minute 9) while this submission was checked: too late for the block.
        return refused_all(
            job_id,
            RefusalCode::StaleJob,
            n,
            format!("job {job_id} is over"),
        );
    };
    let late =
        vec![(RefusalCode::Duplicate, "duplicate nonce".to_string()); settled.late_duplicates];
    let accepted = u32::try_from(settled.accepted.len()).unwrap_or(u32::MAX);
    hub.forward(hello, job_id, settled.accepted);
    Message::SubmissionResult {
        job_id,
        accepted,
        rejected: summarize(&refused, &late),
    }
}
