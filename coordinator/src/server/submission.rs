//! Checking a submission as it arrives: the cheap checks and the miner's count in the hub's job
//! book, the LXRHash on the bounded verification pool (in the order and within the budget of
//! `verifier.rs`), then the verified records kept in the book (and, in relay mode, sent upstream).
//! The answer is the `submission_result` the miner gets.

use super::hub::Hub;
use super::verifier::Verdict;
use crate::verify::RecordRefusal;
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
/// hashing, and the miner's count), the survivors queue for the bounded pool (enrolled identities
/// first, see `budget.rs`), and the book keeps what verified. `via` is the relay the submission
/// came through (`None`: the miner's own connection). In relay mode the newly accepted records
/// also go upstream.
pub(super) async fn submission(
    hub: &Arc<Hub>,
    hello: &MinerHello,
    via: Option<&str>,
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
    let mut ok = Vec::new();
    let mut failed = 0usize;
    if hub.verifier.is_closed(job, &hello.identity) {
        // It lied earlier in the block: nothing of it is queued.
        refused.extend(
            admitted
                .candidates
                .iter()
                .map(|(k, _, _)| (*k, RecordRefusal::Closed)),
        );
    } else if !admitted.candidates.is_empty() {
        let standing = hub.standing(&hello.identity, via, job);
        let mut verdicts = hub
            .verifier
            .verify(
                job,
                &hello.identity,
                standing,
                admitted.record,
                admitted.candidates,
            )
            .await;
        verdicts.sort_by_key(|(k, _)| *k);
        for (k, verdict) in verdicts {
            match verdict {
                Verdict::Accepted(a) => ok.push(a),
                Verdict::Refused(r) => refused.push((k, r)),
                Verdict::Failed => failed += 1,
            }
        }
    }
    if failed > 0 {
        tracing::error!(identity = %hello.identity, failed, "verifying records failed");
        hub.count_refused(job, RefusalCode::VerificationFailed, failed);
    }
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
    let mut extra =
        vec![(RefusalCode::Duplicate, "duplicate nonce".to_string()); settled.late_duplicates];
    extra.extend(std::iter::repeat_n(
        (
            RefusalCode::VerificationFailed,
            "the coordinator could not verify this record".to_string(),
        ),
        failed,
    ));
    let accepted = u32::try_from(settled.accepted.len()).unwrap_or(u32::MAX);
    hub.forward(hello, job_id, settled.accepted);
    Message::SubmissionResult {
        job_id,
        accepted,
        rejected: summarize(&refused, &extra),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::{CurrentJob, ServerConfig};
    use crate::verify::MinerRecord;
    use hashcore::Table;
    use pegnet::{Network, OprTemplate, Pow};
    use protocol::{Difficulty, HexBytes, SubmittedRecord};

    #[tokio::test]
    async fn a_liar_gets_nothing_more_verified_in_the_block_and_v1_peers_never_see_the_code() {
        let table = Arc::new(Table::generate(10, &mut |_, _| {}).unwrap());
        let hub = Hub::new(
            ServerConfig {
                records_per_miner: 10,
                ..ServerConfig::default()
            },
            table.clone(),
        );
        let template = OprTemplate {
            network: Network::DevNet,
            height: 10,
            winners: vec![String::new(); 25],
            prices: (1..=62).map(|k| k * 1000).collect(),
        };
        hub.start_job(CurrentJob {
            job_id: 3,
            template: template.clone(),
            min_difficulty: 0,
            records_wanted: 3,
        });
        let fa = factom::FactoidSecret::generate().public().to_string();
        let mine = MinerRecord::new(&template, 3, "liar", &fa).unwrap();
        let rec = |n: u8, lie: bool| {
            let d = table.difficulty(&mine.opr_hash, &[n]);
            SubmittedRecord {
                nonce: HexBytes(vec![n]),
                difficulty: Difficulty(if lie { d ^ 1 } else { d }),
            }
        };
        let liar = MinerHello {
            identity: "liar".into(),
            coinbase: fa.clone(),
        };
        let Message::SubmissionResult { rejected, .. } =
            submission(&hub, &liar, None, 3, vec![rec(1, true)]).await
        else {
            panic!("not a result")
        };
        assert_eq!(rejected[0].code, RefusalCode::WrongDifficulty);
        let hashed = hub.verify_stats().hashes;
        // Honest records afterwards (a new connection, say) are refused unhashed.
        let answer = submission(&hub, &liar, None, 3, vec![rec(2, false), rec(3, false)]).await;
        let Message::SubmissionResult {
            accepted, rejected, ..
        } = answer.clone()
        else {
            panic!("not a result")
        };
        assert_eq!(accepted, 0);
        assert_eq!(
            (rejected[0].code, rejected[0].count),
            (RefusalCode::OverBudget, 2)
        );
        assert!(
            rejected[0].example.contains("wrong difficulty"),
            "{rejected:?}"
        );
        assert_eq!(hub.verify_stats().hashes, hashed, "nothing more hashed");
        // A version-1 peer is told a code it knows.
        let Message::SubmissionResult { rejected, .. } = answer.for_version(1) else {
            panic!("not a result")
        };
        assert_eq!(rejected[0].code, RefusalCode::VerificationFailed);
        // The next block, it is checked again.
        hub.start_job(CurrentJob {
            job_id: 4,
            template: template.clone(),
            min_difficulty: 0,
            records_wanted: 3,
        });
        let mine4 = MinerRecord::new(&template, 4, "liar", &fa).unwrap();
        let d = table.difficulty(&mine4.opr_hash, &[5]);
        let Message::SubmissionResult { accepted, .. } = submission(
            &hub,
            &liar,
            None,
            4,
            vec![SubmittedRecord {
                nonce: HexBytes(vec![5]),
                difficulty: Difficulty(d),
            }],
        )
        .await
        else {
            panic!("not a result")
        };
        assert_eq!(accepted, 1);
    }
}
