//! The relay tests' in-process upstream (a hub), jobs, relay options and miners.

use crate::common::{self, until, PATIENCE};
use std::time::Instant;

/// An in-process upstream for the relay tests: a hub on a 10-bit table with the farm secret
/// [`crate::SECRET`], listening on loopback, that takes `relays` (with `relay_secret` when
/// given). Stops when `.stop` is dropped or sent.
pub struct Primary {
    pub hub: std::sync::Arc<coordinator::server::Hub>,
    pub addr: std::net::SocketAddr,
    pub table: std::sync::Arc<hashcore::Table>,
    pub stop: tokio::sync::watch::Sender<bool>,
}

pub async fn primary(relays: &[&str], relay_secret: Option<&str>) -> Primary {
    use coordinator::server::{serve, Hub, ServerConfig};
    use protocol::Secret;
    let table = std::sync::Arc::new(hashcore::Table::generate(10, &mut |_, _| {}).unwrap());
    let hub = Hub::new(
        ServerConfig {
            secret: Some(Secret::new(crate::SECRET)),
            relays: relays.iter().map(|r| r.to_string()).collect(),
            relay_secret: relay_secret.map(Secret::new),
            records_per_miner: 5,
            ..ServerConfig::default()
        },
        table.clone(),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let (stop, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(serve(hub.clone(), l, rx));
    Primary {
        hub,
        addr,
        table,
        stop,
    }
}

/// A devnet job for block `height`.
pub fn devnet_job(
    job_id: u64,
    height: u32,
    records_wanted: u32,
) -> coordinator::server::CurrentJob {
    coordinator::server::CurrentJob {
        job_id,
        template: pegnet::OprTemplate {
            network: pegnet::Network::DevNet,
            height,
            winners: vec![String::new(); 25],
            prices: (1..=62).map(|k| k * 1000).collect(),
        },
        min_difficulty: 0,
        records_wanted,
    }
}

/// A relay named `name` under `upstream` (with `upstream_secret`), its own miners on `own`,
/// relaying for `relays`, its tables in `tables`.
pub fn relay_options(
    name: &str,
    upstream: String,
    upstream_secret: &str,
    own: &str,
    relays: Vec<String>,
    bits: u32,
    tables: std::path::PathBuf,
) -> netcoordinator::relay::RelayOptions {
    use protocol::Secret;
    netcoordinator::relay::RelayOptions {
        upstream: vec![upstream.parse().unwrap()],
        upstream_secret: Secret::new(upstream_secret),
        upstream_tls: Default::default(),
        name: name.into(),
        listen: "127.0.0.1:0".parse().unwrap(),
        server: coordinator::server::ServerConfig {
            secret: Some(Secret::new(own)),
            records_per_miner: 100,
            relays,
            ..coordinator::server::ServerConfig::default()
        },
        bits: Some(bits),
        data_dir: tables.join(format!("relay-{name}-{}", std::process::id())),
        table_dir: Some(tables),
        http: None,
    }
}

/// A netminer `identity` mining at `addr` (with `secret`) until `stop`; returns once it has
/// hashed, before `deadline`.
pub async fn mining(
    addr: std::net::SocketAddr,
    secret: &str,
    identity: &str,
    table: std::sync::Arc<hashcore::Table>,
    stop: tokio::sync::watch::Receiver<bool>,
    deadline: Instant,
) {
    use hashcore::{CpuBackend, MiningBackend};
    let backend: std::sync::Arc<dyn MiningBackend> =
        std::sync::Arc::new(CpuBackend::start(table, 1, 0).unwrap());
    tokio::spawn(netminer::client::run(
        netminer::client::MinerConfig {
            link: netmine_link::LinkConfig {
                coordinators: vec![addr.to_string().parse().unwrap()],
                secret: protocol::Secret::new(secret),
                identity: identity.into(),
                coinbase: common::FA.into(),
                ..Default::default()
            },
            ..Default::default()
        },
        backend.clone(),
        stop,
    ));
    let within = deadline.saturating_duration_since(Instant::now());
    until(&format!("{identity} to mine"), within, || {
        backend.hash_counts().iter().sum::<u64>() >= 1000
    })
    .await;
}

/// Waits until `relay` has job `(height, job_id)`.
pub async fn relayed_job(relay: &netcoordinator::relay::Relay, height: u32, job_id: u64) {
    until("the relay to get the job", PATIENCE, || {
        relay.hub.current_job() == Some((height, job_id))
    })
    .await;
}

/// `url`'s JSON, asked with `token` (a coordinator with a token answers nothing without it).
pub async fn get_json(url: &str, token: &str) -> Option<serde_json::Value> {
    let r = reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .ok()?;
    r.json().await.ok()
}

/// Sending a text frame, for the bare upstream of the unacknowledged-submission test.
pub trait SendText {
    async fn send_text(&mut self, t: String);
}

impl<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin> SendText
    for tokio_tungstenite::WebSocketStream<S>
{
    async fn send_text(&mut self, t: String) {
        use futures_util::SinkExt;
        let _ = self
            .send(tokio_tungstenite::tungstenite::Message::Text(t.into()))
            .await;
    }
}
