//! Checking a miner's submitted records before anything is paid: each record is rebuilt from the
//! job and the miner's own identity and coinbase (from its authenticated handshake), its LXRHash is
//! recomputed, and it is accepted only if the difficulty matches exactly, the job is current, it
//! beats the minimum, it is not a duplicate, and the miner is within its records per block. Every
//! record counts toward that limit, refused or not, and the checks that need no hashing come
//! first: a miner can never make the coordinator compute more than its records per block of
//! LXRHashes.

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
    /// The miner's coinbase: the FA address its records pay (what `max_entries_per_coinbase`
    /// counts by).
    pub coinbase: String,
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
            coinbase: coinbase.to_string(),
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
    /// Not hashed: the block's verification budget left to identities the roster does not know
    /// yet (this many LXRHashes) is spent; enrolled boxes are served first.
    #[error("not verified: this block's verification budget for identities new to the farm ({0} LXRHashes) is spent (enrolled boxes are served first)")]
    OverBudget(u64),
    /// Not hashed: the identity sent a record with a wrong difficulty earlier in this block.
    #[error("not verified: this identity sent a record with a wrong difficulty in this block, so none of its records are checked until the next block")]
    Closed,
}

impl RecordRefusal {
    /// The refusal's fixed code (what refusals are counted and summarized by).
    pub fn code(&self) -> protocol::RefusalCode {
        use protocol::RefusalCode as C;
        match self {
            RecordRefusal::StaleJob { .. } => C::StaleJob,
            RecordRefusal::NonceTooLong(_) => C::NonceTooLong,
            RecordRefusal::WrongDifficulty { .. } => C::WrongDifficulty,
            RecordRefusal::BelowMinimum { .. } => C::BelowMinimum,
            RecordRefusal::Duplicate => C::Duplicate,
            RecordRefusal::OverLimit(_) => C::OverLimit,
            RecordRefusal::OverBudget(_) | RecordRefusal::Closed => C::OverBudget,
        }
    }
}

/// A record that passed the cheap checks: its index in the submission, nonce and claimed
/// difficulty, still to be hashed.
pub type Candidate = (usize, Vec<u8>, u64);

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

/// The checks that need no hashing, in this order: the job (a stale record is not counted), the
/// miner's records per block (**every** record for the current job counts, refused or not, so
/// the excess is refused before any hashing), the nonce's length, duplicates (of `accepted`, the
/// nonces already accepted from this miner, or earlier in this submission) and the minimum.
/// `submitted` is the number of this miner's records already counted for this job (updated).
/// Returns the records left to hash, and the refused ones by index.
pub fn precheck(
    miner: &MinerRecord,
    submitted_job: u64,
    records: Vec<(Vec<u8>, u64)>,
    limits: Limits,
    accepted: &HashSet<Vec<u8>>,
    submitted: &mut usize,
) -> (Vec<Candidate>, Vec<(usize, RecordRefusal)>) {
    let mut to_hash = Vec::new();
    let mut refused = Vec::new();
    let mut here: HashSet<Vec<u8>> = HashSet::new();
    for (k, (nonce, claimed)) in records.into_iter().enumerate() {
        let verdict = if submitted_job != limits.current_job || miner.job_id != limits.current_job {
            Err(RecordRefusal::StaleJob {
                got: submitted_job,
                current: limits.current_job,
            })
        } else if *submitted >= limits.per_miner {
            Err(RecordRefusal::OverLimit(limits.per_miner))
        } else {
            *submitted += 1;
            if nonce.len() > MAX_NONCE {
                Err(RecordRefusal::NonceTooLong(nonce.len()))
            } else if accepted.contains(&nonce) || here.contains(&nonce) {
                Err(RecordRefusal::Duplicate)
            } else if claimed <= limits.min_difficulty {
                Err(RecordRefusal::BelowMinimum {
                    difficulty: claimed,
                    min: limits.min_difficulty,
                })
            } else {
                Ok(())
            }
        };
        match verdict {
            Ok(()) => {
                here.insert(nonce.clone());
                to_hash.push((k, nonce, claimed));
            }
            Err(r) => refused.push((k, r)),
        }
    }
    (to_hash, refused)
}

/// Hashes the records left by [`precheck`]: accepted if LXRHash gives exactly the claimed
/// difficulty.
pub fn check_pow(
    pow: &dyn Pow,
    miner: &MinerRecord,
    candidates: Vec<Candidate>,
) -> (Vec<Accepted>, Vec<(usize, RecordRefusal)>) {
    let mut ok = Vec::new();
    let mut refused = Vec::new();
    for (k, nonce, claimed) in candidates {
        let actual = pow.difficulty(&miner.opr_hash, &nonce);
        if actual == claimed {
            ok.push(Accepted {
                nonce,
                difficulty: claimed,
            });
        } else {
            refused.push((k, RecordRefusal::WrongDifficulty { claimed, actual }));
        }
    }
    (ok, refused)
}

/// Checks a submission of `(nonce, claimed difficulty)` pairs for `miner`: [`precheck`] then
/// [`check_pow`]. `accepted` holds the nonces already accepted from this miner for this job
/// (updated); they are taken as the records already counted. Returns accepted records and, per
/// refused record, its index and the reason (in index order).
pub fn verify(
    pow: &dyn Pow,
    miner: &MinerRecord,
    submitted_job: u64,
    records: &[(Vec<u8>, u64)],
    limits: Limits,
    accepted: &mut HashSet<Vec<u8>>,
) -> (Vec<Accepted>, Vec<(usize, RecordRefusal)>) {
    let mut submitted = accepted.len();
    let (to_hash, mut refused) = precheck(
        miner,
        submitted_job,
        records.to_vec(),
        limits,
        accepted,
        &mut submitted,
    );
    let (ok, wrong) = check_pow(pow, miner, to_hash);
    refused.extend(wrong);
    refused.sort_by_key(|(k, _)| *k);
    accepted.extend(ok.iter().map(|a| a.nonce.clone()));
    (ok, refused)
}

/// The `max` best of everyone's accepted records (highest difficulty first; ties by miner, nonce),
/// with at most `per_coinbase` of them paying any one coinbase (`None`: no such limit).
///
/// The cap is the farm's payout policy (`max_entries_per_coinbase`): when one payout address
/// already has its share among the best, its next record is passed over and the next best record
/// of another address takes the place, so one big coinbase cannot crowd out the others. Fewer than
/// `max` are returned only when the other addresses have no more records.
pub fn select_best<'a>(
    all: impl IntoIterator<Item = (&'a MinerRecord, &'a Accepted)>,
    max: usize,
    per_coinbase: Option<usize>,
) -> Vec<(&'a MinerRecord, &'a Accepted)> {
    let mut v: Vec<_> = all.into_iter().collect();
    v.sort_by(|a, b| {
        b.1.difficulty
            .cmp(&a.1.difficulty)
            .then_with(|| a.0.identity.cmp(&b.0.identity))
            .then_with(|| a.1.nonce.cmp(&b.1.nonce))
    });
    let Some(cap) = per_coinbase else {
        v.truncate(max);
        return v;
    };
    let mut taken: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    v.into_iter()
        .filter(|(rec, _)| {
            let n = taken.entry(rec.coinbase.as_str()).or_default();
            *n += 1;
            *n <= cap
        })
        .take(max)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn miner(identity: &str, coinbase: &str) -> MinerRecord {
        MinerRecord {
            job_id: 1,
            network: Network::DevNet,
            version: 2,
            identity: identity.into(),
            coinbase: coinbase.into(),
            content: Vec::new(),
            opr_hash: [0; 32],
        }
    }

    fn acc(nonce: u8, difficulty: u64) -> Accepted {
        Accepted {
            nonce: vec![nonce],
            difficulty,
        }
    }

    /// (identity, difficulty) of the selection, in order.
    fn picked(best: &[(&MinerRecord, &Accepted)]) -> Vec<(String, u64)> {
        best.iter()
            .map(|(m, a)| (m.identity.clone(), a.difficulty))
            .collect()
    }

    /// Two rigs paying the farm's address `big` with the best records, one rig paying `small`.
    struct Farm {
        rig1: MinerRecord,
        rig2: MinerRecord,
        solo: MinerRecord,
        work: Vec<(usize, Accepted)>,
    }

    fn farm() -> Farm {
        Farm {
            rig1: miner("rig1", "big"),
            rig2: miner("rig2", "big"),
            solo: miner("solo", "small"),
            work: vec![
                (0, acc(1, 100)),
                (0, acc(2, 90)),
                (1, acc(3, 95)),
                (1, acc(4, 80)),
                (2, acc(5, 10)),
                (2, acc(6, 5)),
                (2, acc(7, 1)),
            ],
        }
    }

    fn all(f: &Farm) -> Vec<(&MinerRecord, &Accepted)> {
        let by = [&f.rig1, &f.rig2, &f.solo];
        f.work.iter().map(|(k, a)| (by[*k], a)).collect()
    }

    #[test]
    fn without_a_cap_the_best_records_win_whoever_they_pay() {
        let f = farm();
        let best = select_best(all(&f), 4, None);
        assert_eq!(
            picked(&best),
            [("rig1", 100), ("rig2", 95), ("rig1", 90), ("rig2", 80)]
                .map(|(i, d)| (i.to_string(), d))
        );
    }

    #[test]
    fn the_cap_passes_over_a_crowded_coinbase_and_lower_records_fill_in() {
        let f = farm();
        let best = select_best(all(&f), 4, Some(2));
        assert_eq!(
            picked(&best),
            [("rig1", 100), ("rig2", 95), ("solo", 10), ("solo", 5)]
                .map(|(i, d)| (i.to_string(), d))
        );
        // The cap counts by payout address, not by miner: both rigs share "big".
        let best = select_best(all(&f), 4, Some(1));
        assert_eq!(
            picked(&best),
            [("rig1", 100), ("solo", 10)].map(|(i, d)| (i.to_string(), d))
        );
    }

    #[test]
    fn a_cap_no_coinbase_reaches_changes_nothing() {
        let f = farm();
        for cap in [4, 100] {
            assert_eq!(
                picked(&select_best(all(&f), 4, Some(cap))),
                picked(&select_best(all(&f), 4, None)),
                "cap {cap}"
            );
        }
        assert_eq!(select_best(all(&f), 3, Some(2)).len(), 3);
    }

    #[test]
    fn ties_keep_their_order_by_miner_then_nonce_under_the_cap() {
        let (b, a, c) = (miner("b", "x"), miner("a", "x"), miner("c", "y"));
        let (n2, n1, n3, n4) = (acc(2, 50), acc(1, 50), acc(3, 50), acc(4, 50));
        let work = [(&b, &n2), (&a, &n2), (&a, &n1), (&c, &n3), (&c, &n4)];
        let best = select_best(work, 3, Some(2));
        let got: Vec<_> = best
            .iter()
            .map(|(m, r)| (m.identity.as_str(), r.nonce[0]))
            .collect();
        // "x" is full after a/1 and a/2, so b/2 is passed over for c's records.
        assert_eq!(got, [("a", 1), ("a", 2), ("c", 3)]);
    }
}
