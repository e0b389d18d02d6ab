//! Checking a miner's submitted records before anything is paid: each record is rebuilt from the
//! job and the miner's own identity and coinbase (from its authenticated handshake), its LXRHash is
//! recomputed, and it is accepted only if the difficulty matches exactly, the job is current, it
//! beats the minimum, it is not a duplicate, and the miner is within its records per block.

use pegnet::{opr_entry, opr_hash, InvalidRecord, Network, OprTemplate, Pow};
use std::collections::HashSet;

/// Longest nonce the coordinator accepts (our miners use at most 9 bytes).
pub const MAX_NONCE: usize = 16;

/// One miner's record for one job: the content it hashes.
#[derive(Debug, Clone)]
pub struct MinerRecord {
    /// The job it belongs to.
    pub job_id: u64,
    /// Network (decides the chain and version).
    pub network: Network,
    /// Record version.
    pub version: u8,
    /// Miner identity.
    pub identity: String,
    /// Content (the protobuf OPR).
    pub content: Vec<u8>,
    /// SHA-256 of the content: the prefix the miner hashes.
    pub opr_hash: [u8; 32],
}

impl MinerRecord {
    /// Builds the miner's record from the job template (refusing an identity or coinbase the
    /// grader would reject).
    pub fn new(
        template: &OprTemplate,
        job_id: u64,
        identity: &str,
        coinbase: &str,
    ) -> Result<Self, InvalidRecord> {
        let content = template.content(identity, coinbase)?;
        Ok(MinerRecord {
            job_id,
            network: template.network,
            version: template.version(),
            identity: identity.to_string(),
            opr_hash: opr_hash(&content),
            content,
        })
    }

    /// The Factom entry for one mined nonce.
    pub fn entry(&self, nonce: &[u8], difficulty: u64) -> factom::Entry {
        opr_entry(self.network, self.version, &self.content, nonce, difficulty)
    }
}

/// Why a submitted record was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordRefusal {
    /// Submitted for another job than the current one.
    #[error("record for job {got}, the current job is {current}")]
    StaleJob {
        /// Job named in the submission.
        got: u64,
        /// The current job.
        current: u64,
    },
    /// Nonce longer than [`MAX_NONCE`].
    #[error("nonce of {0} bytes (at most 16)")]
    NonceTooLong(usize),
    /// The claimed difficulty is not what LXRHash gives.
    #[error("claimed difficulty {claimed:016x} but the record hashes to {actual:016x}")]
    WrongDifficulty {
        /// Claimed.
        claimed: u64,
        /// Recomputed.
        actual: u64,
    },
    /// Not above the job's minimum difficulty.
    #[error("difficulty {difficulty:016x} is not above the minimum {min:016x}")]
    BelowMinimum {
        /// The record's difficulty.
        difficulty: u64,
        /// The job's floor.
        min: u64,
    },
    /// The same nonce was already accepted.
    #[error("duplicate nonce")]
    Duplicate,
    /// More records than the miner may submit per block.
    #[error("over the limit of {0} records per block")]
    OverLimit(usize),
}

/// An accepted record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// Nonce.
    pub nonce: Vec<u8>,
    /// Verified difficulty.
    pub difficulty: u64,
}

/// What the coordinator knows about the current job when checking a submission.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The current job.
    pub current_job: u64,
    /// Records must be strictly above this.
    pub min_difficulty: u64,
    /// Records per miner per block.
    pub per_miner: usize,
}

/// Checks a submission of `(nonce, claimed difficulty)` pairs for `miner`. `accepted` holds the
/// nonces already accepted from this miner for this job (updated). Returns accepted records and,
/// per refused record, its index and the reason.
pub fn verify(
    pow: &dyn Pow,
    miner: &MinerRecord,
    submitted_job: u64,
    records: &[(Vec<u8>, u64)],
    limits: Limits,
    accepted: &mut HashSet<Vec<u8>>,
) -> (Vec<Accepted>, Vec<(usize, RecordRefusal)>) {
    let mut ok = Vec::new();
    let mut refused = Vec::new();
    for (k, (nonce, claimed)) in records.iter().enumerate() {
        let verdict = if submitted_job != limits.current_job || miner.job_id != limits.current_job {
            Err(RecordRefusal::StaleJob {
                got: submitted_job,
                current: limits.current_job,
            })
        } else if nonce.len() > MAX_NONCE {
            Err(RecordRefusal::NonceTooLong(nonce.len()))
        } else if accepted.contains(nonce) {
            Err(RecordRefusal::Duplicate)
        } else if accepted.len() >= limits.per_miner {
            Err(RecordRefusal::OverLimit(limits.per_miner))
        } else if *claimed <= limits.min_difficulty {
            // Checked before hashing: cheap refusals first, LXRHash only for plausible records.
            Err(RecordRefusal::BelowMinimum {
                difficulty: *claimed,
                min: limits.min_difficulty,
            })
        } else {
            let actual = pow.difficulty(&miner.opr_hash, nonce);
            if actual != *claimed {
                Err(RecordRefusal::WrongDifficulty {
                    claimed: *claimed,
                    actual,
                })
            } else {
                Ok(())
            }
        };
        match verdict {
            Ok(()) => {
                accepted.insert(nonce.clone());
                ok.push(Accepted {
                    nonce: nonce.clone(),
                    difficulty: *claimed,
                });
            }
            Err(r) => refused.push((k, r)),
        }
    }
    (ok, refused)
}

/// The `max` best of everyone's accepted records (highest difficulty first; ties by miner, nonce).
pub fn select_best<'a>(
    all: impl IntoIterator<Item = (&'a MinerRecord, &'a Accepted)>,
    max: usize,
) -> Vec<(&'a MinerRecord, &'a Accepted)> {
    let mut v: Vec<_> = all.into_iter().collect();
    v.sort_by(|a, b| {
        b.1.difficulty
            .cmp(&a.1.difficulty)
            .then_with(|| a.0.identity.cmp(&b.0.identity))
            .then_with(|| a.1.nonce.cmp(&b.1.nonce))
    });
    v.truncate(max);
    v
}
