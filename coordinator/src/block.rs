//! Preparing a block's job at minute 1: grade the previous block's records (fetched from factomd)
//! to learn its winners, take the prices, and estimate the minimum difficulty worth paying for.
//!
//! The previous block is fetched with every entry block and entry checked against what was asked
//! for ([`factom::check`]) within a [`FetchBudget`] ([`fetch_budget`]): a node that serves anything
//! else is faulty for that block, and no job is built on winners that could not be established.

use factom::{ClientError, FactomdClient, FetchBudget, FetchError, NodeFault};
use hashcore::difficulty::minimum_difficulty;
use pegnet::{GradedBlock, Grader, GraderError, Network, OprTemplate, Pow, V1Content, V2Content};
use std::time::Duration;

/// What the coordinator needs to build a job for `height`.
#[derive(Debug, Clone)]
pub struct BlockPlan {
    /// The record fields (winners and prices included).
    pub template: OprTemplate,
    /// Records at or below this are not worth paying for.
    pub min_difficulty: u64,
    /// The previous block as graded.
    pub previous: GradedBlock,
}

/// Why no job can be built.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// factomd could not be asked.
    #[error("fetching block {height} from factomd: {source}")]
    Node {
        /// The block fetched.
        height: u32,
        /// What the client reported (transport failure or factomd's JSON-RPC error).
        source: ClientError,
    },
    /// factomd served the block wrongly (an entry or entry block that is not what was asked for),
    /// or the fetch ran past its budget.
    #[error("node fault ({}) fetching block {height}: {fault}; no record is built on winners that could not be established", .fault.kind())]
    Fault {
        /// The block fetched.
        height: u32,
        /// What was wrong.
        fault: NodeFault,
    },
    /// The previous winners do not fit the grader.
    #[error(transparent)]
    Grader(#[from] GraderError),
    /// factomd has no records for the previous block (missing, or the node is not synced): the
    /// winner list and the difficulty floor cannot be learnt from it.
    #[error("block {height} has no OPR records on factomd (node not synced, or the block is missing): cannot learn the winners or the difficulty floor")]
    NoPreviousRecords {
        /// The previous block.
        height: u32,
    },
    /// A coordinator without history found no winner list under which any record is honest.
    #[error("no winner list in force for block {height} could be recovered from its {records} entries: pin it with --previous-winners")]
    NoWinnerList {
        /// The previous block.
        height: u32,
        /// How many entries the block holds on the OPR chain.
        records: usize,
    },
}

/// The share of what is left of the block at minute 1 that fetching the previous block may take:
/// a fifth (about 2 minutes of a 10-minute block), so the miners still get most of the block.
pub const FETCH_TIME_SHARE: u32 = 5;

/// The least time the fetch gets, however short the block (so a busy machine with 6-second
/// blocks is not taken for a slow node).
pub const MIN_FETCH_TIME: Duration = Duration::from_secs(2);

/// The fetch time when the block's end is unknown: a fifth of a mainnet block.
pub const DEFAULT_FETCH_TIME: Duration = Duration::from_secs(120);

/// The budget of minute 1's fetch of the previous block: [`factom::check::MAX_FETCH_ENTRIES`]
/// entries, [`factom::check::MAX_FETCH_BYTES`] (64 MiB) of answers, and a
/// [`FETCH_TIME_SHARE`]th of `left` (what is left of the block), at least [`MIN_FETCH_TIME`]
/// ([`DEFAULT_FETCH_TIME`] when `left` is unknown).
pub fn fetch_budget(left: Option<Duration>) -> FetchBudget {
    let time = left.map_or(DEFAULT_FETCH_TIME, |l| {
        (l / FETCH_TIME_SHARE).max(MIN_FETCH_TIME)
    });
    FetchBudget::within(time)
}

/// Grades block `height - 1` and builds the plan for `height`, fetching it within the default
/// [`FetchBudget`] (no deadline); see [`plan_within`].
pub async fn plan(
    client: &FactomdClient,
    pow: &(dyn Pow + Sync),
    network: Network,
    height: u32,
    prev_winners: &[String],
    prices: Vec<u64>,
    cutoff: usize,
) -> Result<BlockPlan, PlanError> {
    let budget = FetchBudget::default();
    plan_within(
        client,
        pow,
        network,
        height,
        prev_winners,
        prices,
        cutoff,
        &budget,
    )
    .await
}

/// Grades block `height - 1` and builds the plan for `height`. `prev_winners` is the winner list in
/// force for block `height - 1` (the winners of the last graded block before it). Empty means
/// unknown (a coordinator that just started): the list is then taken from the block's own records. `cutoff` is how many records a block is expected to pay for network-wide (PegNet's
/// `SubmissionCutOff`, 200 by default; 0 disables the floor). The block is fetched within
/// `budget`, every entry checked: a [`PlanError::Fault`] if anything served is not what was
/// asked for.
#[allow(clippy::too_many_arguments)]
pub async fn plan_within(
    client: &FactomdClient,
    pow: &(dyn Pow + Sync),
    network: Network,
    height: u32,
    prev_winners: &[String],
    prices: Vec<u64>,
    cutoff: usize,
    budget: &FetchBudget,
) -> Result<BlockPlan, PlanError> {
    let previous_height = height.saturating_sub(1);
    let entries = client
        .entries_at_within(&network.opr_chain(), previous_height, budget)
        .await
        .map_err(|e| match e {
            FetchError::Node(source) => PlanError::Node {
                height: previous_height,
                source,
            },
            FetchError::Fault(fault) => PlanError::Fault {
                height: previous_height,
                fault,
            },
        })?;
    let version = network.version(previous_height);
    let grade_with = |prev: &[String]| -> Result<GradedBlock, GraderError> {
        let mut grader = Grader::new(version, previous_height, prev)?;
        for (hash, e) in &entries {
            if let Err(why) = grader.add(hash, &e.ext_ids, &e.content) {
                tracing::trace!(entry = %hex::encode(hash), "previous block: invalid record: {why}");
            }
        }
        Ok(grader.grade(pow))
    };
    if entries.is_empty() && network != Network::DevNet {
        return Err(PlanError::NoPreviousRecords {
            height: previous_height,
        });
    }
    let previous = if prev_winners.is_empty() {
        // No history (a fresh start): the records of the block carry the winner list in force.
        // Anyone can write cheap records carrying a bogus list, so the list is chosen by work, not
        // by count: the one whose honest records (LXRHash checked) add up to the most proof of
        // work.
        let mut best: Option<(f64, GradedBlock)> = None;
        for candidate in carried_winner_lists(version, &entries, pow) {
            if let Ok(g) = grade_with(&candidate) {
                let w = work(&g);
                if g.graded.is_empty() {
                    continue;
                }
                if best.as_ref().is_none_or(|(bw, _)| w > *bw) {
                    best = Some((w, g));
                }
            }
        }
        match best {
            Some((w, b)) => {
                tracing::info!(
                    height = previous_height,
                    records = b.graded.len(),
                    entries = entries.len(),
                    work = format!("{w:.3e}"),
                    "no winner history: recovered the list in force from the block's records with the most work: {:?}",
                    prev_list(&b, version, &entries)
                );
                b
            }
            None if network == Network::DevNet => grade_with(&[])?,
            None => {
                return Err(PlanError::NoWinnerList {
                    height: previous_height,
                    records: entries.len(),
                })
            }
        }
    } else {
        grade_with(prev_winners)?
    };
    let mut winners = previous.winners.clone();
    if network.version(height) >= 3 && winners.len() != 25 {
        // A V2 hand-over list of 10 cannot be carried into V3+: start from the empty list.
        winners = vec![String::new(); 25];
    }
    Ok(BlockPlan {
        template: OprTemplate {
            network,
            height,
            winners,
            prices,
        },
        min_difficulty: minimum_difficulty(&previous.difficulties_desc(), cutoff),
        previous,
    })
}

/// Expected hashes behind a difficulty: 2^64 / (2^64 - difficulty).
fn hashes(difficulty: u64) -> f64 {
    18_446_744_073_709_551_616.0 / ((u64::MAX - difficulty) as f64 + 1.0)
}

/// The proof of work of a graded block's honest records.
fn work(g: &GradedBlock) -> f64 {
    g.graded.iter().map(|r| hashes(r.srd)).sum()
}

/// The winner list the graded records carry (for the log).
fn prev_list(
    g: &GradedBlock,
    version: u8,
    entries: &[([u8; 32], factom::Entry)],
) -> Option<Vec<String>> {
    let first = g.graded.first()?;
    let (_, e) = entries.iter().find(|(h, _)| *h == first.entry_hash)?;
    carried_list(version, e)
}

fn carried_list(version: u8, e: &factom::Entry) -> Option<Vec<String>> {
    if version == 1 {
        V1Content::parse(&e.content).ok().map(|c| c.winners)
    } else {
        V2Content::parse(&e.content)
            .ok()
            .map(|c| c.winners.iter().map(hex::encode).collect())
    }
}

/// The distinct previous-winner lists that a block's records carry, at most 8, those whose best
/// record has the most proof of work first. A list's best record is its highest self-reported
/// difficulty that LXRHash confirms (up to 3 tried per list): claiming a high difficulty costs
/// nothing, having it does.
fn carried_winner_lists(
    version: u8,
    entries: &[([u8; 32], factom::Entry)],
    pow: &(dyn Pow + Sync),
) -> Vec<Vec<String>> {
    let mut by_list: std::collections::HashMap<Vec<String>, Vec<(u64, &factom::Entry)>> =
        Default::default();
    for (_, e) in entries {
        let srd = e
            .ext_ids
            .get(1)
            .and_then(|d| <[u8; 8]>::try_from(d.as_slice()).ok())
            .map(u64::from_be_bytes);
        if let (Some(l), Some(srd)) = (carried_list(version, e), srd) {
            by_list.entry(l).or_default().push((srd, e));
        }
    }
    let mut lists: Vec<(u64, Vec<String>)> = by_list
        .into_iter()
        .filter_map(|(list, mut recs)| {
            recs.sort_by_key(|r| std::cmp::Reverse(r.0));
            let best = recs.iter().take(3).find(|(srd, e)| {
                let opr_hash = pegnet::opr_hash(&e.content);
                e.ext_ids
                    .first()
                    .is_some_and(|nonce| pow.difficulty(&opr_hash, nonce) == *srd)
            })?;
            Some((best.0, list))
        })
        .collect();
    lists.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    lists.into_iter().take(8).map(|(_, l)| l).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn the_fetch_gets_a_fifth_of_the_block_left_at_least_2_s() {
        let deadline = |left: Option<Duration>| {
            let b = fetch_budget(left);
            assert_eq!(b.max_bytes, 64 << 20);
            assert_eq!(b.max_entries, factom::check::MAX_FETCH_ENTRIES);
            b.deadline
                .unwrap()
                .saturating_duration_since(Instant::now())
        };
        let near = |d: Duration, want: u64| {
            let ms = d.as_millis() as u64;
            assert!(
                ms <= want * 1000 && ms + 500 >= want * 1000,
                "{d:?}, not {want} s"
            )
        };
        // Mainnet, at minute 1: 9 minutes left.
        near(deadline(Some(Duration::from_secs(540))), 108);
        // 6-second blocks: at least 2 s.
        near(deadline(Some(Duration::from_millis(5400))), 2);
        near(deadline(None), 120);
    }
}
