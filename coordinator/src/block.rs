//! Preparing a block's job at minute 1: grade the previous block's records (fetched from factomd)
//! to learn its winners, take the prices, and estimate the minimum difficulty worth paying for.

use factom::{ClientError, FactomdClient};
use hashcore::difficulty::minimum_difficulty;
use pegnet::{GradedBlock, Grader, GraderError, Network, OprTemplate, Pow};

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
/// force for block `height - 1` (the winners of the last graded block before it; empty at the start
/// of a chain). `cutoff` is how many records a block is expected to pay for network-wide (PegNet's
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
    let mut grader = Grader::new(
        network.version(previous_height),
        previous_height,
        prev_winners,
    )?;
    for (hash, e) in &entries {
        if let Err(why) = grader.add(hash, &e.ext_ids, &e.content) {
            tracing::debug!(entry = %hex::encode(hash), "previous block: invalid record: {why}");
        }
    }
    let previous = grader.grade(pow);
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
