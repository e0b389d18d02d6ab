//! The submit window: how long after minute 9's `stop` the coordinator waits for submissions
//! before it pays. Long enough for every miner's records to arrive and be verified, short enough to
//! pay before the block ends.

use std::time::Duration;

/// The longest default submit window (a mainnet minute is 60 s).
pub const DEFAULT_SUBMIT_WINDOW_CAP: Duration = Duration::from_secs(20);

/// The default submit window on a network whose blocks last `block`: a third of a Factom minute
/// (a tenth of the block), at most [`DEFAULT_SUBMIT_WINDOW_CAP`]. On mainnet 20 s; with 6 s blocks
/// 0.2 s.
pub fn default_submit_window(block: Duration) -> Duration {
    (block / 30).min(DEFAULT_SUBMIT_WINDOW_CAP)
}

/// The longest submit window that still leaves time to pay before the block ends: minute 9 lasts a
/// tenth of the block, and half of it is kept for paying (and for noticing minute 9 late).
pub fn max_submit_window(block: Duration) -> Duration {
    block / 20
}

/// A submit window longer than the network allows.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "a submit window of {window:.3} s leaves no time to pay before the block ends: factomd's blocks \
     last {block:.1} s, so minute 9 lasts {minute:.2} s, and the largest window that fits is \
     {max:.3} s (unset submit_window_secs / --submit-window for the default, {default:.3} s)"
)]
pub struct SubmitWindowError {
    /// The window asked for, in seconds.
    pub window: f64,
    /// The block length factomd reports, in seconds.
    pub block: f64,
    /// A minute, in seconds.
    pub minute: f64,
    /// The largest window that fits, in seconds.
    pub max: f64,
    /// The default window, in seconds.
    pub default: f64,
}

/// The submit window to use with blocks of `block`: `explicit` if it fits, else an error naming
/// the largest that does; the default when `explicit` is `None`.
pub fn fit_submit_window(
    explicit: Option<Duration>,
    block: Duration,
) -> Result<Duration, SubmitWindowError> {
    let max = max_submit_window(block);
    match explicit {
        None => Ok(default_submit_window(block)),
        Some(w) if w <= max => Ok(w),
        Some(w) => Err(SubmitWindowError {
            window: w.as_secs_f64(),
            block: block.as_secs_f64(),
            minute: block.as_secs_f64() / 10.0,
            max: max.as_secs_f64(),
            default: default_submit_window(block).as_secs_f64(),
        }),
    }
}
