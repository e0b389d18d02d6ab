//! The minute-9 fence between two coordinators paying with one EC key (a primary and a standby,
//! see `docs/availability.md`).
//!
//! Both coordinators follow every block and build its job, and the miners use the first one they
//! can reach. Before paying, each compares the farm's EC balance with the balance it saw when the
//! block's job started (minute 1). factomd debits a commit as soon as it accepts it, so a balance
//! that went down means another coordinator with the farm's key has already paid for this block:
//! this one then pays nothing. The standby looks later than the primary (it waits
//! [`standby_delay`](super::window::standby_delay) after its submit window, counted from when
//! minute 9 began: the primary may notice the minute a poll interval later than the standby), so
//! when both hold records the primary pays and the standby stands down; when the primary is gone,
//! nothing was spent and the standby pays.
//!
//! What it cannot see: a top-up of the same address in the same block (it hides a spend of up to
//! its amount), and a standby whose factomd does not see the primary's commits in time (a
//! partition): then both may pay, at most one cap each.

/// What the balance says about a block, from the balance at minute 1 and the balance now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fence {
    /// Nothing was spent with the key since minute 1: this coordinator may pay.
    Clear,
    /// `ec` entry credits were spent since minute 1: another coordinator paid for the block.
    PaidElsewhere {
        /// Entry credits spent since minute 1.
        ec: u64,
    },
    /// The balance could not be compared (no minute-1 balance, or factomd did not answer): the
    /// coordinator pays, as a single coordinator always did.
    Unknown,
}

impl Fence {
    /// Compares the balance at minute 1 with the balance now. A balance that went up (a top-up)
    /// counts as nothing spent.
    pub fn judge(at_start: Option<i64>, now: Option<i64>) -> Fence {
        match (at_start, now) {
            (Some(start), Some(now)) if now < start => Fence::PaidElsewhere {
                ec: (start - now) as u64,
            },
            (Some(_), Some(_)) => Fence::Clear,
            _ => Fence::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lower_balance_means_paid_elsewhere_and_anything_else_lets_it_pay() {
        assert_eq!(Fence::judge(Some(100), Some(100)), Fence::Clear);
        assert_eq!(Fence::judge(Some(100), Some(150)), Fence::Clear);
        assert_eq!(
            Fence::judge(Some(100), Some(97)),
            Fence::PaidElsewhere { ec: 3 }
        );
        assert_eq!(Fence::judge(None, Some(97)), Fence::Unknown);
        assert_eq!(Fence::judge(Some(100), None), Fence::Unknown);
    }
}
