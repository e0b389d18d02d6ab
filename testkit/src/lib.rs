//! What the integration tests of netmine's crates share, whatever they start: waits with a
//! deadline on the condition that proves what a test expects (never a fixed sleep), and child
//! processes whose output is read as it comes, so a test learns the address a binary bound on
//! port 0 from its own output and the child never blocks on a full pipe; and the workspace's
//! other binaries, built as `cargo test --workspace` builds them.
//!
//! Each crate's `tests/common` builds what its tests start (a coordinator, a simulator, miners)
//! on top of these.

#![warn(missing_docs)]

mod bins;
mod process;

pub use bins::workspace_bins;
pub use process::{addr_after, Spawned};

use std::future::Future;
use std::time::{Duration, Instant};

/// How often the waits below look again.
const POLL: Duration = Duration::from_millis(10);

/// Waits until `ready` holds, looking again every 10 ms; panics naming `what` once `within` has
/// passed.
pub async fn until(what: &str, within: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !ready() {
        assert!(
            Instant::now() < deadline,
            "timed out after {within:?} waiting for {what}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Waits until `check` (an HTTP call, a query…) returns `Some`, and returns it; panics naming
/// `what` once `within` has passed.
pub async fn until_some<T, F, Fut>(what: &str, within: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {within:?} waiting for {what}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// [`until`] for tests without a runtime.
pub fn until_blocking(what: &str, within: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !ready() {
        assert!(
            Instant::now() < deadline,
            "timed out after {within:?} waiting for {what}"
        );
        std::thread::sleep(POLL);
    }
}
