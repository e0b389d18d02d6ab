//! Delivering alert messages: a task per webhook that POSTs each message in turn, retrying with
//! backoff (1 s doubling to 5 min, `max_attempts` tries) when the receiver fails or is
//! unreachable. Messages wait in a bounded queue ([`QUEUE`]); the order is kept (an incident's
//! "resolved" never arrives before its alert). The URL never reaches a log: reqwest's errors are
//! logged without it, and redirects are not followed (a redirect could carry it elsewhere).

use super::watch::Event;
use super::AlertConfig;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use std::time::Duration;
use tokio::sync::mpsc;

/// Messages waiting for delivery, per webhook, at most.
pub const QUEUE: usize = 64;

/// The longest wait between two tries.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Discord refuses a `content` over 2000 characters.
const MAX_TEXT: usize = 1900;

/// The JSON body: `text` for Slack (and Mattermost, Rocket.Chat…), `content` for Discord, and the
/// fields for a program.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Payload {
    /// The message, one line.
    pub text: String,
    /// The same, for Discord.
    pub content: String,
    /// `firing` or `resolved`.
    pub status: &'static str,
    /// The condition (`miner_offline`, `farm_rate_drop`, `ec_balance_low`, `factomd_down`,
    /// `block_unpaid`, `price_source_down`, `node_fault`).
    pub alert: &'static str,
    /// The incident (`miner_offline:rig01`): its firing and resolved messages share it.
    pub key: String,
    /// The entry's `name`, if set.
    pub farm: Option<String>,
    /// Unix seconds when the condition was judged.
    pub at: u64,
}

impl Payload {
    /// The message for `event` of the entry named `name`.
    pub fn new(event: &Event, name: Option<&str>, at: u64) -> Payload {
        let mut text = match name {
            Some(n) => format!("[{n}] {}", event.text),
            None => event.text.clone(),
        };
        if text.len() > MAX_TEXT {
            let mut cut = MAX_TEXT;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push('…');
        }
        Payload {
            content: text.clone(),
            text,
            status: if event.firing { "firing" } else { "resolved" },
            alert: event.alert,
            key: event.key.clone(),
            farm: name.map(str::to_string),
            at,
        }
    }
}

/// One webhook's sender.
pub struct Delivery {
    client: reqwest::Client,
    url: SecretString,
    max_attempts: u32,
}

impl Delivery {
    /// The sender for `cfg`, if it has a URL (and its HTTP client can be built).
    pub fn new(cfg: &AlertConfig) -> Option<Delivery> {
        let url = cfg.url.clone()?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs_f64(cfg.timeout_secs.clamp(0.1, 300.0)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("netcoordinator/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| tracing::error!("alerts: no HTTP client: {}", e.without_url()))
            .ok()?;
        Some(Delivery {
            client,
            url,
            max_attempts: cfg.max_attempts.max(1),
        })
    }

    /// Starts the delivery task: the queue's sending side and the task.
    pub fn spawn(self) -> (mpsc::Sender<Payload>, tokio::task::JoinHandle<()>) {
        let (tx, mut rx) = mpsc::channel::<Payload>(QUEUE);
        let task = tokio::spawn(async move {
            while let Some(p) = rx.recv().await {
                self.send(&p).await;
            }
        });
        (tx, task)
    }

    /// POSTs `p` until it is taken, refused for good (a 4xx other than 429) or `max_attempts`
    /// tries failed.
    pub async fn send(&self, p: &Payload) {
        let mut wait = Duration::from_secs(1);
        for attempt in 1..=self.max_attempts {
            let why = match self
                .client
                .post(self.url.expose_secret())
                .json(p)
                .send()
                .await
            {
                Ok(r) if r.status().is_success() => {
                    tracing::info!(alert = %p.key, status = p.status, "alert sent: {}", p.text);
                    return;
                }
                Ok(r) if r.status().is_client_error() && r.status().as_u16() != 429 => {
                    tracing::error!(alert = %p.key, "alert refused by the webhook ({}): check the [[alerts]] url; message dropped: {}", r.status(), p.text);
                    return;
                }
                Ok(r) => format!("answered {}", r.status()),
                Err(e) => e.without_url().to_string(),
            };
            if attempt == self.max_attempts {
                tracing::error!(alert = %p.key, "alert not delivered after {attempt} tries ({why}): {}", p.text);
                return;
            }
            tracing::warn!(alert = %p.key, "alert delivery failed ({why}); try {} in {} s", attempt + 1, wait.as_secs());
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(MAX_BACKOFF);
        }
    }
}
