//! Validation and grading of a block's OPR entries, exactly as `pegnet/modules/grader` (spec §4),
//! which is what pegnetd — and so the network — uses.

use crate::assets;
use crate::proto::V2Content;
use crate::v1::V1Content;
use crate::validate::{
    check_v2_prices, valid_coinbase, valid_identity, winners_format_ok, InvalidRecord,
};
use sha2::{Digest, Sha256};

/// How many records grading keeps: the 50 highest-difficulty honest records, from which the
/// winners are picked.
pub const GRADED_SET: usize = 50;
/// Band of V2+ grading while at least 25 records remain.
const BAND: f64 = 0.01;

/// Computes proof-of-work difficulties: LXRHash(OPR hash ‖ nonce), first 8 bytes.
pub trait Pow {
    /// Difficulty of `opr_hash ‖ nonce`.
    fn difficulty(&self, opr_hash: &[u8; 32], nonce: &[u8]) -> u64;
}

impl Pow for hashcore::Table {
    fn difficulty(&self, opr_hash: &[u8; 32], nonce: &[u8]) -> u64 {
        let mut input = Vec::with_capacity(32 + nonce.len());
        input.extend_from_slice(opr_hash);
        input.extend_from_slice(nonce);
        hashcore::difficulty(&self.hash(&input))
    }
}

/// Winners a graded block of `version` names.
pub fn winner_count(version: u8) -> usize {
    if version == 1 {
        10
    } else {
        25
    }
}

/// Reward in pegtoshi (1e-8 PEG) of a graded position under `version`'s rules.
pub fn reward(version: u8, position: usize) -> u64 {
    const PEG: u64 = 100_000_000;
    match (version, position) {
        (1, 0) => 800 * PEG,
        (1, 1) => 600 * PEG,
        (1, 2..=9) => 450 * PEG,
        (2..=4, 0..=24) => 200 * PEG,
        (5.., 0..=24) => 360 * PEG,
        _ => 0,
    }
}

/// A valid record of the block.
#[derive(Debug, Clone, PartialEq)]
pub struct GradedRecord {
    /// Hash of the Factom entry carrying the record; its first 8 bytes are the short hash that
    /// names a winner.
    pub entry_hash: [u8; 32],
    /// The miner's nonce (ExtID 0), hashed after `opr_hash` for the proof of work.
    pub nonce: Vec<u8>,
    /// Self-reported difficulty (ExtID 1).
    pub srd: u64,
    /// SHA-256 of the content.
    pub opr_hash: [u8; 32],
    /// Prices as graded (V1: the JSON floats; V2+: u64 / 1e8), in asset order.
    pub prices: Vec<f64>,
    /// Coinbase FA address as written in the content; rewards go to it.
    pub coinbase: String,
    /// Miner identity as written in the content (validated: letters, digits and commas).
    pub identity: String,
    /// Grade from the last grading pass that included it (lower is better).
    pub grade: f64,
}

impl GradedRecord {
    /// First 8 bytes of the entry hash, lowercase hex.
    pub fn short_hash(&self) -> String {
        hex::encode(&self.entry_hash[..8])
    }
}

/// The outcome of grading one block's OPR entries: the kept records in final order and the
/// winner list the next block's records must carry.
#[derive(Debug, Clone)]
pub struct GradedBlock {
    /// Height of the graded block.
    pub height: u32,
    /// Version whose grading loop ran.
    pub version: u8,
    /// How many entries passed validation and were graded (before the top-50 cut).
    pub valid: usize,
    /// The honest records kept (at most 50), in final order.
    pub graded: Vec<GradedRecord>,
    /// This block's winner list: the first 10/25 short hashes, or the inherited list when the
    /// block has no winners.
    pub winners: Vec<String>,
    /// True if the block had enough honest records to name winners.
    pub has_winners: bool,
}

impl GradedBlock {
    /// Reward of a graded position (0 when the block has no winners).
    pub fn reward(&self, position: usize) -> u64 {
        if self.has_winners {
            reward(self.version, position)
        } else {
            0
        }
    }

    /// Self-reported difficulties of the graded records, highest first (for the minimum-difficulty
    /// estimate of the next block).
    pub fn difficulties_desc(&self) -> Vec<u64> {
        let mut d: Vec<u64> = self.graded.iter().map(|r| r.srd).collect();
        d.sort_unstable_by(|a, b| b.cmp(a));
        d
    }
}

/// Errors creating a grader.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GraderError {
    /// Versions are 1..=5.
    #[error("OPR version {0} is not supported (1 to 5)")]
    Version(u8),
    /// The previous winner list does not fit the version.
    #[error("previous winners ({0} entries) do not fit version {1}")]
    PrevWinners(usize, u8),
}

/// Collects a block's entries, then grades them.
pub struct Grader {
    version: u8,
    algorithm: u8,
    height: u32,
    prev: Vec<String>,
    records: Vec<GradedRecord>,
}

impl Grader {
    /// A grader for block `height` under `version`, given the previous graded block's winners
    /// (empty: none yet).
    pub fn new(version: u8, height: u32, prev: &[String]) -> Result<Grader, GraderError> {
        if !(1..=5).contains(&version) {
            return Err(GraderError::Version(version));
        }
        let prev = if prev.is_empty() {
            vec![String::new(); winner_count(version)]
        } else {
            let ok = match version {
                1 => winners_format_ok(prev, 10),
                2 => winners_format_ok(prev, 10) || winners_format_ok(prev, 25),
                _ => winners_format_ok(prev, 25),
            };
            if !ok {
                return Err(GraderError::PrevWinners(prev.len(), version));
            }
            prev.to_vec()
        };
        Ok(Grader {
            version,
            algorithm: version,
            height,
            prev,
            records: Vec::new(),
        })
    }

    /// Grades with another version's loop (validation stays that of the block's version).
    pub fn with_algorithm(mut self, algorithm: u8) -> Result<Grader, GraderError> {
        if !(1..=5).contains(&algorithm) {
            return Err(GraderError::Version(algorithm));
        }
        self.algorithm = algorithm;
        Ok(self)
    }

    /// Valid records so far.
    pub fn valid(&self) -> &[GradedRecord] {
        &self.records
    }

    /// Validates and adds an entry; an invalid one is reported and not added.
    pub fn add(
        &mut self,
        entry_hash: &[u8],
        ext_ids: &[Vec<u8>],
        content: &[u8],
    ) -> Result<(), InvalidRecord> {
        let r = self.validate(entry_hash, ext_ids, content)?;
        self.records.push(r);
        Ok(())
    }

    /// Validates an entry without adding it.
    pub fn validate(
        &self,
        entry_hash: &[u8],
        ext_ids: &[Vec<u8>],
        content: &[u8],
    ) -> Result<GradedRecord, InvalidRecord> {
        let entry_hash: [u8; 32] = entry_hash
            .try_into()
            .map_err(|_| InvalidRecord::EntryHashLen(entry_hash.len()))?;
        if ext_ids.len() != 3 {
            return Err(InvalidRecord::ExtIdCount(ext_ids.len()));
        }
        if ext_ids[2] != [self.version] {
            return Err(InvalidRecord::Version {
                got: ext_ids[2].clone(),
                want: self.version,
            });
        }
        let srd: [u8; 8] = ext_ids[1]
            .as_slice()
            .try_into()
            .map_err(|_| InvalidRecord::DifficultyLen(ext_ids[1].len()))?;
        let (prices, coinbase, identity) = if self.version == 1 {
            self.validate_v1(content)?
        } else {
            self.validate_v2(content)?
        };
        Ok(GradedRecord {
            entry_hash,
            nonce: ext_ids[0].clone(),
            srd: u64::from_be_bytes(srd),
            opr_hash: Sha256::digest(content).into(),
            prices,
            coinbase,
            identity,
            grade: 0.0,
        })
    }

    fn check_height(&self, h: i64) -> Result<(), InvalidRecord> {
        if h != self.height as i64 {
            return Err(InvalidRecord::Height {
                got: h,
                want: self.height,
            });
        }
        Ok(())
    }

    fn validate_v1(&self, content: &[u8]) -> Result<(Vec<f64>, String, String), InvalidRecord> {
        let c = V1Content::parse(content).map_err(InvalidRecord::Decode)?;
        self.check_height(c.dbht as i64)?;
        let prices = c.prices().map_err(InvalidRecord::MissingAsset)?;
        for (k, p) in prices.iter().enumerate().skip(1) {
            if *p == 0.0 {
                return Err(InvalidRecord::ZeroPrice(assets::V1[k]));
            }
        }
        if !winners_format_ok(&c.winners, 10) {
            return Err(InvalidRecord::WinnerFormat);
        }
        if c.winners != self.prev {
            return Err(InvalidRecord::WinnersMismatch);
        }
        Ok((prices, c.coinbase, c.minerid))
    }

    fn validate_v2(&self, content: &[u8]) -> Result<(Vec<f64>, String, String), InvalidRecord> {
        let v = self.version;
        let c = V2Content::parse(content).map_err(InvalidRecord::Decode)?;
        self.check_height(c.height as i64)?;
        check_v2_prices(v, &c.assets)?;
        let n = c.winners.len();
        let counts_ok = if v == 2 { n == 10 || n == 25 } else { n == 25 };
        if !counts_ok {
            return Err(InvalidRecord::WinnerCount {
                got: n,
                want: 25,
                version: v,
            });
        }
        if !valid_coinbase(&c.address) {
            return Err(InvalidRecord::Coinbase(
                String::from_utf8_lossy(&c.address).into_owned(),
            ));
        }
        if !valid_identity(&c.id) {
            return Err(InvalidRecord::Identity(
                String::from_utf8_lossy(&c.id).into_owned(),
            ));
        }
        let winners: Vec<String> = c.winners.iter().map(hex::encode).collect();
        if !(winners_format_ok(&winners, 10) || winners_format_ok(&winners, 25)) {
            return Err(InvalidRecord::WinnerFormat);
        }
        if winners != self.prev {
            return Err(InvalidRecord::WinnersMismatch);
        }
        Ok((
            c.assets.iter().map(|&u| u as f64 / 1e8).collect(),
            String::from_utf8_lossy(&c.address).into_owned(),
            String::from_utf8_lossy(&c.id).into_owned(),
        ))
    }

    /// Grades the block (`GradeCustom(50)`): drop duplicates, keep the 50 best honest records by
    /// self-reported difficulty (computing LXRHash only as far as needed), run the version's loop.
    pub fn grade(&self, pow: &dyn Pow) -> GradedBlock {
        let mut seen = std::collections::HashSet::new();
        let mut list: Vec<GradedRecord> = self
            .records
            .iter()
            .filter(|r| {
                let mut key = r.nonce.clone();
                key.extend_from_slice(&r.opr_hash);
                seen.insert(key)
            })
            .cloned()
            .collect();
        list.sort_by_key(|r| std::cmp::Reverse(r.srd)); // stable: ties keep entry order
        let mut honest = Vec::with_capacity(GRADED_SET);
        for r in list {
            if honest.len() == GRADED_SET {
                break;
            }
            if pow.difficulty(&r.opr_hash, &r.nonce) == r.srd {
                honest.push(r);
            }
        }
        let need = winner_count(self.algorithm);
        let c = honest.len();
        if c >= need {
            let (last, band) = if self.algorithm == 1 {
                (need, 0.0)
            } else {
                (1, BAND)
            };
            for i in (last..=c).rev() {
                let avg = if self.algorithm == 5 {
                    average_trimmed(&honest[..i])
                } else {
                    average(&honest[..i])
                };
                let band = if self.algorithm != 1 && i >= 25 {
                    band
                } else {
                    0.0
                };
                for r in &mut honest[..i] {
                    r.grade = grade(&r.prices, &avg, band, self.algorithm == 1);
                }
                honest[..i].sort_by_key(|r| std::cmp::Reverse(r.srd));
                honest[..i].sort_by(|a, b| {
                    a.grade
                        .partial_cmp(&b.grade)
                        .unwrap_or(std::cmp::Ordering::Equal)
                });
            }
        }
        let has_winners = c >= need;
        let winners = if has_winners {
            honest[..need]
                .iter()
                .map(GradedRecord::short_hash)
                .collect()
        } else {
            self.prev.clone()
        };
        GradedBlock {
            height: self.height,
            version: self.algorithm,
            valid: self.records.len(),
            graded: honest,
            winners,
            has_winners,
        }
    }
}

/// `averageV1`: mean of absolute prices, summed in list order.
fn average(list: &[GradedRecord]) -> Vec<f64> {
    let n = list.len() as f64;
    let assets = list.first().map_or(0, |r| r.prices.len());
    (0..assets)
        .map(|a| {
            list.iter()
                .map(|r| r.prices[a].abs())
                .fold(0.0, |s, x| s + x)
                / n
        })
        .collect()
}

/// `averageV5`: trimmed mean dropping ⌊n/10⌋ + 1 values at each end (middle value for n ≤ 3).
fn average_trimmed(list: &[GradedRecord]) -> Vec<f64> {
    let n = list.len();
    let assets = list.first().map_or(0, |r| r.prices.len());
    (0..assets)
        .map(|a| {
            let mut v: Vec<f64> = list.iter().map(|r| r.prices[a]).collect();
            v.sort_by(|x, y| x.partial_cmp(y).unwrap_or(std::cmp::Ordering::Equal));
            if n <= 3 {
                return v[n / 2];
            }
            let p = (n as f64 * 0.1) as usize + 1;
            v[p..n - p].iter().fold(0.0, |s, x| s + x) / (n - 2 * p) as f64
        })
        .collect()
}

fn grade(prices: &[f64], avg: &[f64], band: f64, v1: bool) -> f64 {
    let mut g = 0.0;
    for (p, a) in prices.iter().zip(avg) {
        if *a > 0.0 {
            let d = (p - a) / a;
            g += if v1 {
                d * d * d * d
            } else {
                let mut e = d.abs();
                e = if e <= band { 0.0 } else { e - band };
                e * e * e * e
            };
        }
    }
    g
}
