//! The job book: the current job, what each miner handed in for it, and the job's counters. The
//! hub keeps one behind its lock; everything here is plain bookkeeping (no locks, no I/O, no
//! hashing), so each rule can be tested on its own.
//!
//! A submission passes through the book twice: [`JobBook::admit`] does the checks that need no
//! hashing and counts the records against the miner's limit (so a miner never costs more than its
//! records per block of LXRHashes), and after the hashing [`JobBook::settle`] keeps what verified,
//! unless the job was collected meanwhile.

use super::submission::refused_all;
use crate::verify::{precheck, Accepted, Candidate, Limits, MinerRecord, RecordRefusal};
use pegnet::OprTemplate;
use protocol::{Message, MinerHello, RefusalCode, SubmittedRecord};
use std::collections::{HashMap, HashSet};

/// The job miners are working on.
#[derive(Debug, Clone)]
pub struct CurrentJob {
    /// Job id.
    pub job_id: u64,
    /// The record's fields, except each miner's identity and coinbase.
    pub template: OprTemplate,
    /// Records must be strictly above this difficulty (the floor estimated from the last block).
    pub min_difficulty: u64,
    /// Records wanted per miner.
    pub records_wanted: u32,
}

impl CurrentJob {
    /// The job a `job` message announces (`None` for another message, or OPR fields that do not
    /// describe a record: an unknown network, a version not the network's at the height).
    pub fn from_message(m: &Message) -> Option<CurrentJob> {
        let Message::Job {
            job_id,
            opr,
            min_difficulty,
            records_wanted,
        } = m
        else {
            return None;
        };
        Some(CurrentJob {
            job_id: *job_id,
            template: OprTemplate::try_from(opr.clone()).ok()?,
            min_difficulty: min_difficulty.0,
            records_wanted: *records_wanted,
        })
    }

    /// The `job` message announcing it.
    pub fn message(&self) -> Message {
        Message::Job {
            job_id: self.job_id,
            opr: (&self.template).into(),
            min_difficulty: protocol::Difficulty(self.min_difficulty),
            records_wanted: self.records_wanted,
        }
    }
}

/// What one miner handed in for the current job.
#[derive(Debug, Clone)]
pub struct MinerWork {
    /// The miner's record (its content, built with its own identity and coinbase).
    pub record: MinerRecord,
    /// Its verified records.
    pub accepted: Vec<Accepted>,
    /// Nonces accepted, for the duplicate check.
    pub(super) nonces: HashSet<Vec<u8>>,
    /// Records counted against the miner's limit for this job (every record, refused or not).
    pub(super) submitted: usize,
}

/// Counters of the current job.
#[derive(Debug, Clone, Default)]
pub struct JobCounts {
    /// Records submitted.
    pub received: usize,
    /// Records that verified.
    pub verified: usize,
    /// Refusals by reason: the [`RefusalCode`] names (a fixed, small set of keys).
    pub rejected: HashMap<String, usize>,
}

impl JobCounts {
    /// Counts `n` records refused with `code` (none: nothing is recorded, so a block's summary
    /// lists only the refusals that happened).
    fn refuse(&mut self, code: RefusalCode, n: usize) {
        if n > 0 {
            *self.rejected.entry(code.name().into()).or_default() += n;
        }
    }
}

/// A submission past [`JobBook::admit`]: what is left to hash, and what was refused already.
pub(super) struct Admitted {
    /// The job it counts for.
    pub(super) job_id: u64,
    /// The miner's record, to hash the candidates with.
    pub(super) record: MinerRecord,
    /// Records to hash.
    pub(super) candidates: Vec<Candidate>,
    /// Records refused without hashing.
    pub(super) refused: Vec<(usize, RecordRefusal)>,
}

/// What [`JobBook::settle`] kept.
pub(super) struct Settled {
    /// Records newly accepted (a repeated nonce from another connection of the same miner is not).
    pub(super) accepted: Vec<SubmittedRecord>,
    /// Nonces that another connection of the same identity had accepted meanwhile.
    pub(super) late_duplicates: usize,
}

/// The current job and everyone's work for it.
#[derive(Default)]
pub(super) struct JobBook {
    job: Option<CurrentJob>,
    work: HashMap<String, MinerWork>,
    counts: JobCounts,
}

impl JobBook {
    /// Starts `job`, forgetting the previous job's submissions.
    pub(super) fn start(&mut self, job: CurrentJob) {
        self.job = Some(job);
        self.work.clear();
        self.counts = JobCounts::default();
    }

    /// The open job, if any.
    pub(super) fn job(&self) -> Option<&CurrentJob> {
        self.job.as_ref()
    }

    /// Closes job `job_id` and hands over everyone's work and the counters (nothing if another
    /// job is open).
    pub(super) fn take(&mut self, job_id: u64) -> (Vec<MinerWork>, JobCounts) {
        if self.job.as_ref().map(|j| j.job_id) != Some(job_id) {
            return (Vec::new(), JobCounts::default());
        }
        self.job = None;
        (
            self.work.drain().map(|(_, w)| w).collect(),
            std::mem::take(&mut self.counts),
        )
    }

    /// Miners with work for the open job.
    pub(super) fn miners_with_work(&self) -> usize {
        self.work.len()
    }

    /// (miners with work, accepted records, nonces held, refusal keys): the book's size.
    pub(super) fn sizes(&self) -> (usize, usize, usize, usize) {
        (
            self.work.len(),
            self.work.values().map(|w| w.accepted.len()).sum(),
            self.work.values().map(|w| w.nonces.len()).sum(),
            self.counts.rejected.len(),
        )
    }

    /// Records `n` records of job `job_id` refused as `code` (when it is still open).
    pub(super) fn refuse(&mut self, job_id: u64, code: RefusalCode, n: usize) {
        if self.job.as_ref().map(|j| j.job_id) == Some(job_id) {
            self.counts.refuse(code, n);
        }
    }

    /// The checks that need no hashing, and the miner's count, for a submission of `records`
    /// (nonce, claimed difficulty) for `job_id` by `miner`. `Err` is the whole submission's
    /// answer when none of it can be hashed. `max_work` caps the miners with work per job;
    /// `connected` says which identities still hold a connection (the others' empty entries may
    /// be dropped to make room).
    pub(super) fn admit(
        &mut self,
        miner: &MinerHello,
        job_id: u64,
        records: Vec<(Vec<u8>, u64)>,
        per_miner: usize,
        max_work: usize,
        connected: impl Fn(&str) -> bool,
    ) -> Result<Admitted, Box<Message>> {
        let n = records.len();
        self.counts.received += n;
        let Some(job) = self.job.clone() else {
            self.counts.refuse(RefusalCode::StaleJob, n);
            return Err(Box::new(refused_all(
                job_id,
                RefusalCode::StaleJob,
                n,
                format!("job {job_id} is over"),
            )));
        };
        if !self.work.contains_key(&miner.identity) {
            if self.work.len() >= max_work {
                self.work
                    .retain(|id, w| !w.accepted.is_empty() || connected(id));
            }
            let record =
                match MinerRecord::new(&job.template, job.job_id, &miner.identity, &miner.coinbase)
                {
                    Ok(r) => r,
                    Err(e) => {
                        self.counts.refuse(RefusalCode::BadRecord, n);
                        return Err(Box::new(refused_all(
                            job_id,
                            RefusalCode::BadRecord,
                            n,
                            e.to_string(),
                        )));
                    }
                };
            if self.work.len() >= max_work {
                self.counts.refuse(RefusalCode::OverLimit, n);
                return Err(Box::new(refused_all(
                    job_id,
                    RefusalCode::OverLimit,
                    n,
                    "too many miners submitted for this block".into(),
                )));
            }
            self.work.insert(
                miner.identity.clone(),
                MinerWork {
                    record,
                    accepted: Vec::new(),
                    nonces: HashSet::new(),
                    submitted: 0,
                },
            );
        }
        let w = self.work.get_mut(&miner.identity).expect("inserted above");
        if w.record.coinbase != miner.coinbase {
            // One identity, two payout addresses (a relayed miner named like another miner):
            // the first to submit keeps the identity for this block; nothing else is touched.
            self.counts.refuse(RefusalCode::BadRecord, n);
            return Err(Box::new(refused_all(
                job_id,
                RefusalCode::BadRecord,
                n,
                format!(
                    "identity {} already submitted for this block with another coinbase: identities must be unique across the farm",
                    miner.identity
                ),
            )));
        }
        let limits = Limits {
            current_job: job.job_id,
            min_difficulty: job.min_difficulty,
            per_miner,
        };
        let (candidates, refused) = precheck(
            &w.record,
            job_id,
            records,
            limits,
            &w.nonces,
            &mut w.submitted,
        );
        Ok(Admitted {
            job_id: job.job_id,
            record: w.record.clone(),
            candidates,
            refused,
        })
    }

    /// Keeps `miner`'s verified records of `admitted`'s job and counts the refusals. `None` when
    /// that job was collected while they were hashed: too late for the block.
    pub(super) fn settle(
        &mut self,
        miner: &str,
        job_id: u64,
        verified: Vec<Accepted>,
        refused: &[(usize, RecordRefusal)],
    ) -> Option<Settled> {
        if self.job.as_ref().map(|j| j.job_id) != Some(job_id) {
            return None;
        }
        for (_, r) in refused {
            self.counts.refuse(r.code(), 1);
        }
        let mut settled = Settled {
            accepted: Vec::new(),
            late_duplicates: 0,
        };
        if let Some(w) = self.work.get_mut(miner) {
            for a in verified {
                // Another connection of the same identity may have had it accepted meanwhile.
                if w.nonces.insert(a.nonce.clone()) {
                    settled.accepted.push(SubmittedRecord {
                        nonce: protocol::HexBytes(a.nonce.clone()),
                        difficulty: protocol::Difficulty(a.difficulty),
                    });
                    w.accepted.push(a);
                } else {
                    settled.late_duplicates += 1;
                }
            }
        }
        self.counts.verified += settled.accepted.len();
        self.counts
            .refuse(RefusalCode::Duplicate, settled.late_duplicates);
        Some(settled)
    }

    /// The records `identity` counted against its limit for the open job.
    #[cfg(test)]
    pub(super) fn submitted(&self, identity: &str) -> usize {
        self.work.get(identity).map_or(0, |w| w.submitted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_refusals_that_happened_are_counted() {
        let mut c = JobCounts::default();
        c.refuse(RefusalCode::Duplicate, 0);
        assert!(c.rejected.is_empty(), "a block without refusals lists none");
        c.refuse(RefusalCode::Duplicate, 2);
        c.refuse(RefusalCode::Duplicate, 1);
        assert_eq!(c.rejected["duplicate"], 3);
    }
}
