//! The minute monitor: polls `current-minute` and turns it into block/minute events (spec
//! `factom-node.md` §3–4).
//!
//! Unlike PegNet's monitor it never kills the process: an unreachable node produces one
//! [`MonitorEvent::NodeDown`], a node whose minute stops moving one [`MonitorEvent::NodeStalled`],
//! and polling goes on (with backoff while down) until [`MonitorEvent::NodeUp`].

use crate::client::FactomdClient;
use rand::RngExt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// What the monitor reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MonitorEvent {
    /// A new minute of the block being built.
    Minute {
        /// Height of the block being built (`directoryblockheight + 1`).
        height: u32,
        /// Minute 0..=9.
        minute: u8,
    },
    /// The node cannot be reached.
    NodeDown {
        /// The last error.
        reason: String,
    },
    /// The node answers but its minute has not moved for too long.
    NodeStalled {
        /// Seconds since the last change.
        since_secs: u64,
    },
    /// The node is reachable and moving again.
    NodeUp,
}

/// How the monitor polls factomd: how often, after how long without an answer the node counts
/// as down, and the longest backoff between failed polls.
#[derive(Debug, Clone)]
pub struct MonitorConfig {
    /// Poll interval (PegNet: 1 s).
    pub poll: Duration,
    /// Failing this long makes the node "down".
    pub down_after: Duration,
    /// Longest wait between polls while the node is down.
    pub max_backoff: Duration,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        MonitorConfig {
            poll: Duration::from_secs(1),
            down_after: Duration::from_secs(5),
            max_backoff: Duration::from_secs(10),
        }
    }
}

impl MonitorConfig {
    /// How often the monitor polls a node whose minutes last `minute`: [`poll`](Self::poll), but
    /// at least four times per minute, so that fast local networks (factomd LOCAL, the simulator)
    /// miss no minute. A minute's start is noticed up to this late (plus the node's answer time):
    /// two coordinators may see the same minute this far apart.
    pub fn poll_for(&self, minute: Duration) -> Duration {
        self.poll.min(minute / 4)
    }
}

/// A running monitor; stops when dropped.
pub struct Monitor {
    events: broadcast::Sender<MonitorEvent>,
    task: tokio::task::JoinHandle<()>,
}

impl Monitor {
    /// Starts polling. Subscribe before awaiting anything to miss no event.
    pub fn spawn(client: Arc<FactomdClient>, cfg: MonitorConfig) -> Monitor {
        let (events, _) = broadcast::channel(256);
        let tx = events.clone();
        let task = tokio::spawn(run(client, cfg, tx));
        Monitor { events, task }
    }

    /// A new receiver of events.
    pub fn subscribe(&self) -> broadcast::Receiver<MonitorEvent> {
        self.events.subscribe()
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(PartialEq)]
enum Health {
    Healthy,
    Down,
    Stalled,
}

async fn run(client: Arc<FactomdClient>, cfg: MonitorConfig, tx: broadcast::Sender<MonitorEvent>) {
    let emit = |e: MonitorEvent| {
        tracing::debug!(event = ?e, "monitor");
        let _ = tx.send(e);
    };
    let mut last: Option<(u32, u8)> = None;
    let mut last_change = Instant::now();
    let mut health = Health::Healthy;
    let mut failing_since: Option<Instant> = None;
    let mut backoff = cfg.poll;
    let mut poll = cfg.poll;
    let mut behind_since: Option<Instant> = None;
    loop {
        match client.current_minute_once().await {
            Ok(cm) => {
                failing_since = None;
                backoff = poll;
                if health == Health::Down {
                    health = Health::Healthy;
                    last_change = Instant::now();
                    emit(MonitorEvent::NodeUp);
                }
                let mut height = (cm.directoryblockheight + 1).clamp(0, u32::MAX as i64) as u32;
                let minute = cm.minute.clamp(0, 10) as u8;
                // Minute 0 usually still shows the previous height (the finished block is saved a
                // little later): after minute 9 of block B it is minute 0 of B + 1.
                if let Some((h, m)) = last {
                    if minute == 0 && h == height && m >= 9 {
                        height += 1;
                    }
                }
                let minute_len =
                    Duration::from_secs_f64((cm.directoryblockinseconds.max(1) as f64) / 10.0);
                // A node whose minute or height goes back (a rewind, a glitch, a node switch) is
                // ignored, and logged once: re-announcing a minute would let the engine start a
                // second job or payment round for a block. A node that stays behind for a whole
                // block is followed again.
                let backwards = minute != 10
                    && last.is_some_and(|(h, m)| height < h || (height == h && minute < m));
                let mut resync = false;
                if backwards {
                    let since = *behind_since.get_or_insert_with(|| {
                        if let Some((h, m)) = last {
                            tracing::warn!(
                                "factomd went back from block {h} minute {m} to block {height} minute {minute}: ignored"
                            );
                        }
                        Instant::now()
                    });
                    if since.elapsed() > minute_len * 10 {
                        tracing::warn!(
                            "factomd has stayed behind for a whole block: following it again at block {height} minute {minute}"
                        );
                        resync = true;
                        behind_since = None;
                    }
                } else {
                    behind_since = None;
                }
                let changed = minute != 10
                    && (resync
                        || match last {
                            None => true,
                            Some((h, m)) => height > h || (height == h && minute > m),
                        });
                poll = cfg.poll_for(minute_len);
                if changed {
                    last = Some((height, minute));
                    last_change = Instant::now();
                    if health == Health::Stalled {
                        health = Health::Healthy;
                        emit(MonitorEvent::NodeUp);
                    }
                    emit(MonitorEvent::Minute { height, minute });
                } else {
                    let limit = minute_len.mul_f64(1.5) + poll;
                    if health == Health::Healthy
                        && (last_change.elapsed() > limit || cm.stalldetected)
                    {
                        health = Health::Stalled;
                        emit(MonitorEvent::NodeStalled {
                            since_secs: last_change.elapsed().as_secs(),
                        });
                    }
                }
                tokio::time::sleep(poll).await;
            }
            Err(e) => {
                let since = *failing_since.get_or_insert_with(Instant::now);
                if health != Health::Down && since.elapsed() >= cfg.down_after {
                    health = Health::Down;
                    emit(MonitorEvent::NodeDown {
                        reason: e.to_string(),
                    });
                }
                let jitter = rand::rng().random_range(0.5..1.5);
                tokio::time::sleep(backoff.mul_f64(jitter)).await;
                backoff = (backoff * 2).min(cfg.max_backoff);
            }
        }
    }
}
