//! Preparing a block's job at minute 1: grade the previous block's records (fetched from factomd)
//! to learn its winners, take the prices, and estimate the minimum difficulty worth paying for.

use factom::{ClientError, FactomdClient};
use hashcore::difficulty::minimum_difficulty;
use pegnet::{GradedBlock, Grader, GraderError, Network, OprTemplate, Pow, V1Content, V2Content};

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
        /// The error.
        source: ClientError,
    },
    /// The previous winners do not fit the grader.
    #[error(transparent)]
    Grader(#[from] GraderError),
}

/// Grades block `height - 1` and builds the plan for `height`. `prev_winners` is the winner list in
/// force for block `height - 1` (the winners of the last graded block before it). Empty means
/// unknown (a coordinator that just started): the list is then taken from the block's own records. `cutoff` is how many records a block is expected to pay for network-wide (PegNet's
/// `SubmissionCutOff`, 200 by default; 0 disables the floor).
pub async fn plan(
    client: &FactomdClient,
    pow: &(dyn Pow + Sync),
    network: Network,
    height: u32,
    prev_winners: &[String],
    prices: Vec<u64>,
    cutoff: usize,
) -> Result<BlockPlan, PlanError> {
    let previous_height = height.saturating_sub(1);
    let entries = client
        .entries_at(&network.opr_chain(), previous_height)
        .await
        .map_err(|source| PlanError::Node {
            height: previous_height,
            source,
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
    let previous = if prev_winners.is_empty() {
        // No history (a fresh start): the honest records of the block carry the winner list in
        // force. Try each list they carry and keep the one most records validate under.
        let mut best: Option<GradedBlock> = None;
        for candidate in carried_winner_lists(version, &entries) {
            if let Ok(g) = grade_with(&candidate) {
                let better = best
                    .as_ref()
                    .is_none_or(|b| (g.graded.len(), g.valid) > (b.graded.len(), b.valid));
                if better {
                    best = Some(g);
                }
            }
        }
        match best {
            Some(b) => b,
            None => grade_with(&[])?,
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

/// The distinct previous-winner lists that a block's records carry (at most 8, most common first).
fn carried_winner_lists(version: u8, entries: &[([u8; 32], factom::Entry)]) -> Vec<Vec<String>> {
    let mut counts: std::collections::HashMap<Vec<String>, usize> = Default::default();
    for (_, e) in entries {
        let list = if version == 1 {
            V1Content::parse(&e.content).ok().map(|c| c.winners)
        } else {
            V2Content::parse(&e.content)
                .ok()
                .map(|c| c.winners.iter().map(hex::encode).collect())
        };
        if let Some(l) = list {
            *counts.entry(l).or_default() += 1;
        }
    }
    let mut lists: Vec<(Vec<String>, usize)> = counts.into_iter().collect();
    lists.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    lists.into_iter().take(8).map(|(l, _)| l).collect()
}
