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

/// How long a standby coordinator (`standby = true`) waits after its submit window before it
/// looks at the farm's EC balance and decides whether to pay, counted from the moment minute 9
/// began on its node (not from when its monitor noticed it): what is left of the largest window
/// once its own window is over, plus `poll`, the monitor's poll interval
/// ([`factom::MonitorConfig::poll_for`]).
///
/// The primary pays right after its window, counted from when *it* noticed minute 9, which may be
/// up to a poll interval after the minute began. The standby therefore waits that interval more,
/// and the rest of the largest window is the primary's time to commit (the margin: 10 s on
/// mainnet with the default window, 0.2 s with 12 s blocks). By then the primary's commits show in
/// the balance (see `fence.rs`). With the default window and poll this is 11 s on mainnet, 1.25 s
/// with 30 s blocks; the standby then still has a quarter of minute 9 to pay.
pub fn standby_delay(
    block: Duration,
    window: Duration,
    poll: Duration,
) -> Result<Duration, StandbyDelayError> {
    let margin = max_submit_window(block).saturating_sub(window);
    if margin < window / 2 || margin.is_zero() {
        return Err(StandbyDelayError {
            window: window.as_secs_f64(),
            max: max_submit_window(block).as_secs_f64(),
            default: default_submit_window(block).as_secs_f64(),
        });
    }
    Ok(margin + poll)
}

/// How a standby coordinator times its minute-9 decision (see [`standby_delay`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StandbyTiming {
    /// How long after its submit window it looks at the farm's EC balance, counted from when
    /// minute 9 began on its node ([`standby_delay`]).
    pub delay: Duration,
    /// The monitor's poll interval: how late this coordinator may have noticed minute 9. The
    /// node's word on when the minute began moves the decision earlier than "noticed + window +
    /// delay" by at most this much, so a node that lies about it cannot make the standby look
    /// before the primary could have paid.
    pub poll: Duration,
}

/// A submit window that leaves a standby coordinator no time to let the primary pay first.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "a standby coordinator needs time after its submit window to let the primary pay first: with \
     a window of {window:.3} s and the largest window of {max:.3} s there is too little (use the \
     default, {default:.3} s, or a window of at most two thirds of {max:.3} s)"
)]
pub struct StandbyDelayError {
    /// The window asked for, in seconds.
    pub window: f64,
    /// The largest window that fits the network, in seconds.
    pub max: f64,
    /// The default window, in seconds.
    pub default: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standby_waits_half_the_default_window_and_a_poll_and_refuses_a_window_leaving_no_room() {
        let mainnet = Duration::from_secs(600);
        let poll = factom::MonitorConfig::default().poll_for(mainnet / 10);
        assert_eq!(poll, Duration::from_secs(1));
        let w = default_submit_window(mainnet);
        assert_eq!(w, Duration::from_secs(20));
        assert_eq!(
            standby_delay(mainnet, w, poll).unwrap(),
            Duration::from_secs(11)
        );
        let thirty = Duration::from_secs(30);
        let poll = factom::MonitorConfig::default().poll_for(thirty / 10);
        let w = default_submit_window(thirty);
        assert_eq!(
            standby_delay(thirty, w, poll).unwrap(),
            Duration::from_millis(1250)
        );
        // The largest window leaves nothing: refused, naming the default.
        let e = standby_delay(mainnet, max_submit_window(mainnet), poll).unwrap_err();
        assert!(e.to_string().contains("20.000"), "{e}");
        assert!(standby_delay(mainnet, Duration::from_secs(25), poll).is_err());
    }

    #[test]
    fn the_standby_decides_after_the_latest_primary_and_before_the_block_ends() {
        // For every block length: the primary, noticing minute 9 a whole poll late, pays at
        // poll + window; the standby looks at delay + window after the minute began, which must
        // leave the margin after the primary and time to pay before the block ends.
        for secs in [6u64, 12, 30, 60, 600] {
            let block = Duration::from_secs(secs);
            let poll = factom::MonitorConfig::default().poll_for(block / 10);
            let w = default_submit_window(block);
            let standby = w + standby_delay(block, w, poll).unwrap();
            let primary = poll + w;
            assert!(standby >= primary + block / 60, "{secs} s blocks");
            assert!(standby + block / 40 <= block / 10, "{secs} s blocks");
        }
    }
}
