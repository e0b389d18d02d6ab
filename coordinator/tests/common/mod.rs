//! What the coordinator's tests share: small tables, scratch stores, a simulated factomd on a
//! manual clock, a hub listening on port 0, raw WebSocket clients that authenticate with
//! `protocol::ws::client_handshake`, in-process netminers, and a whole coordinator
//! (`coordinator::daemon::spawn`) whose minutes a test steps.
#![allow(dead_code)] // each test file uses its own part

use coordinator::daemon::{spawn, telemetry_for, Parts, Running};
use coordinator::engine::{BlockSummary, EngineConfig};
use coordinator::server::{serve, Hub, ServerConfig};
use coordinator::store::Store;
use factom::{EcSecret, FactomdClient, MonitorConfig, RpcConfig};
use factomd_sim::{SimConfig, SimServer};
use hashcore::{CpuBackend, MiningBackend, Table};
use pegnet::Network;
use protocol::{HandshakeError, Message, Secret, Session};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::{broadcast, watch};
use tokio_tungstenite::tungstenite::Message as Ws;

#[allow(unused_imports)] // each test file uses its own part
pub use netmine_testkit::{until, until_some};

/// The coinbase test miners are paid to.
pub const FA: &str = "FA2jK2HcLnRdS94dEcU27rF3meoJfpUcZPSinpb7AwQvPRY6RL1Q";
/// The farm secret of most tests.
pub const SECRET: &str = "farm-secret-0123456789";
/// How long a test waits for something that takes milliseconds when all is well.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A generated LXRHash table of `bits` bits, made once per test binary.
pub fn table(bits: u32) -> Arc<Table> {
    type Tables = Mutex<Vec<(u32, Arc<Table>)>>;
    static TABLES: OnceLock<Tables> = OnceLock::new();
    let mut v = TABLES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some((_, t)) = v.iter().find(|(b, _)| *b == bits) {
        return t.clone();
    }
    let t = Arc::new(Table::generate(bits, &mut |_, _| {}).unwrap());
    v.push((bits, t.clone()));
    t
}

/// A path for a fresh store (`prefix-tag-pid.db` in the temp dir, removed first).
pub fn store_path(prefix: &str, tag: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("{prefix}-{tag}-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

/// A simulated factomd on a manual clock, building block `start` (mainnet's 600 s blocks: the
/// coordinator's monitor and payments read the block length as real time, so a stepped block
/// must be long), with `funded` keys.
pub async fn manual_sim(start: u32, funded: &[(&EcSecret, i64)]) -> SimServer {
    SimServer::start_manual(
        SimConfig {
            block_time: Duration::from_secs(600),
            start_height: start,
            funded: funded.iter().map(|(k, n)| (k.public(), *n)).collect(),
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap()
}

/// A factomd client of `sim` that retries transport failures for `retry_for`.
pub fn client(sim: &SimServer, retry_for: Duration) -> FactomdClient {
    let mut rpc = RpcConfig::new(&sim.url());
    rpc.retry_for = retry_for;
    FactomdClient::new(rpc).unwrap()
}

/// Listener settings with `secret` and otherwise the defaults.
pub fn server_cfg(secret: &str) -> ServerConfig {
    ServerConfig {
        secret: Some(Secret::new(secret)),
        ..ServerConfig::default()
    }
}

/// A hub serving miners on a listener of its own; stops when dropped.
pub struct Listening {
    /// The hub.
    pub hub: Arc<Hub>,
    /// The address it listens on.
    pub addr: SocketAddr,
    /// Stops the listener when sent `true` (or dropped).
    pub stop: watch::Sender<bool>,
}

/// Serves `hub` on `addr` (`127.0.0.1:0`: a port of the system's choosing; an address the test
/// had before: the same one again).
pub async fn listen(hub: Arc<Hub>, addr: &str) -> Listening {
    serve_on(hub, tokio::net::TcpListener::bind(addr).await.unwrap())
}

/// Serves `hub` on a listener the test bound.
pub fn serve_on(hub: Arc<Hub>, l: tokio::net::TcpListener) -> Listening {
    let addr = l.local_addr().unwrap();
    let (stop, rx) = watch::channel(false);
    tokio::spawn(serve(hub.clone(), l, rx));
    Listening { hub, addr, stop }
}

/// A new hub with `cfg` on a 10-bit table, serving on `127.0.0.1:0`.
pub async fn hub(cfg: ServerConfig) -> Listening {
    listen(Hub::new(cfg, table(10)), "127.0.0.1:0").await
}

/// A raw miner link: the WebSocket to the coordinator.
pub type Stream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next text frame (ping/pong skipped); `None` when the link closes, fails, or stays
/// silent for 5 s.
pub async fn text(ws: &mut Stream) -> Option<String> {
    use futures_util::StreamExt;
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .ok()??
        {
            Ok(Ws::Text(t)) => return Some(t.as_str().to_string()),
            Ok(Ws::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

/// Waits until the coordinator closes the link: its close frame, then the end of the stream
/// (the coordinator's side has let go of the connection). False if the link is still open after
/// `within`.
pub async fn closed(ws: &mut Stream, within: Duration) -> bool {
    use futures_util::StreamExt;
    tokio::time::timeout(within, async { while let Some(Ok(_)) = ws.next().await {} })
        .await
        .is_ok()
}

/// Opens a WebSocket to `addr`.
pub async fn open(addr: impl std::fmt::Display) -> Stream {
    tokio_tungstenite::connect_async(format!("ws://{addr}"))
        .await
        .unwrap()
        .0
}

/// Connects and authenticates as `identity` (paid to [`FA`]): the session, or the coordinator's
/// refusal as the `rejected` message it sent.
pub async fn login(
    addr: impl std::fmt::Display,
    secret: &str,
    identity: &str,
) -> (Stream, Result<Session, Message>) {
    let mut ws = open(addr).await;
    let secret = Secret::new(secret);
    let shake = protocol::ws::client_handshake(&mut ws, &secret, identity, FA);
    match tokio::time::timeout(Duration::from_secs(10), shake).await {
        Ok(Ok(s)) => (ws, Ok(s)),
        Ok(Err(HandshakeError::Rejected { code, reason })) => {
            (ws, Err(Message::Rejected { code, reason }))
        }
        Ok(Err(e)) => panic!("handshake as {identity}: {e}"),
        Err(_) => panic!("handshake as {identity}: no answer within 10 s"),
    }
}

/// Sends `msg` sealed with the session.
pub async fn send(ws: &mut Stream, s: &mut Session, msg: &Message) {
    use futures_util::SinkExt;
    let frame = s.seal(msg).unwrap();
    ws.send(Ws::Text(frame.into())).await.unwrap();
}

/// The next message of the session; panics if the link closes first.
pub async fn next_msg(ws: &mut Stream, s: &mut Session) -> Message {
    s.open(&text(ws).await.expect("a frame")).unwrap()
}

/// An in-process netminer (one CPU thread) mining until stopped or dropped.
pub struct Miner {
    /// Its backend: the records it holds for a job ([`Miner::holds`]), its hash counts.
    pub backend: Arc<dyn MiningBackend>,
    /// The client's task.
    pub task: tokio::task::JoinHandle<Result<(), netminer::client::MinerError>>,
    stop: watch::Sender<bool>,
}

impl Miner {
    /// Whether it holds `n` records for job `job_id` (what it submits at the stop).
    pub fn holds(&self, job_id: u64, n: usize) -> bool {
        self.backend.best(job_id).len() >= n
    }

    /// Stops it: it disconnects.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }
}

impl Drop for Miner {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// The settings of a miner `identity` paid to `coinbase`, connecting to `coordinators` (in
/// order of preference) with [`SECRET`], keeping its 3 best records.
pub fn miner_cfg(
    coordinators: &[&str],
    identity: &str,
    coinbase: &str,
) -> netminer::client::MinerConfig {
    let coordinators: Vec<String> = coordinators.iter().map(|c| c.to_string()).collect();
    netminer::client::MinerConfig {
        link: netmine_link::LinkConfig {
            coordinators: netmine_link::CoordinatorAddr::parse_all(&coordinators).unwrap(),
            secret: Secret::new(SECRET),
            identity: identity.into(),
            coinbase: coinbase.into(),
            failback_every: Duration::from_secs(30),
            ..Default::default()
        },
        top: 3,
        stats_every: Duration::from_secs(1),
        ..Default::default()
    }
}

/// Starts a netminer with `cfg` on `table`.
pub fn miner(table: &Arc<Table>, cfg: netminer::client::MinerConfig) -> Miner {
    let backend: Arc<dyn MiningBackend> = Arc::new(CpuBackend::start(table.clone(), 1, 0).unwrap());
    let (stop, rx) = watch::channel(false);
    let task = tokio::spawn(netminer::client::run(cfg, backend.clone(), rx));
    Miner {
        backend,
        task,
        stop,
    }
}

/// A whole coordinator (`coordinator::daemon::spawn`: hub, monitor, engine) on a simulated
/// factomd with a manual clock: the test steps the node's minutes with [`Farm::step_to`].
pub struct Farm {
    /// The simulated node.
    pub sim: SimServer,
    /// A client of the node for the test's own questions.
    pub client: Arc<FactomdClient>,
    /// The running coordinator.
    pub running: Running,
    /// Everything the hub broadcast since the start.
    seen: broadcast::Receiver<Message>,
    /// The height the node started building.
    pub start: u32,
    /// Jobs broadcast per height, and skips, among the broadcasts read so far.
    pub jobs: BTreeMap<u32, usize>,
    /// Skipped heights with the reason, among the broadcasts read so far.
    pub skips: Vec<(u32, String)>,
}

/// How to build a [`Farm`]: start from [`FarmBuilder::new`], change fields, then
/// [`build`](FarmBuilder::build).
pub struct FarmBuilder {
    /// Names the store file.
    pub tag: String,
    /// The first block the node builds.
    pub start: u32,
    /// The paying key's credits.
    pub credits: i64,
    /// The listener's settings.
    pub server: ServerConfig,
    /// The engine's settings.
    pub engine: EngineConfig,
    /// How often the monitor asks for the minute.
    pub poll: Duration,
    /// The table the coordinator verifies with.
    pub table: Arc<Table>,
    /// `Some(block)`: the node runs on the real clock with blocks of `block` (tests of what the
    /// coordinator does over real time); `None`: on a manual clock with 600 s blocks.
    pub real_blocks: Option<Duration>,
}

impl FarmBuilder {
    /// A devnet farm building block `start` with 10,000 EC, 3 entries and 3 records per miner,
    /// a 1 s submit window (the miners' submissions arrive within it), polling every 20 ms, on
    /// a 10-bit table, on a manual clock.
    pub fn new(tag: &str, start: u32) -> FarmBuilder {
        FarmBuilder {
            tag: tag.into(),
            start,
            credits: 10_000,
            server: ServerConfig {
                records_per_miner: 3,
                ..server_cfg(SECRET)
            },
            engine: EngineConfig {
                network: Network::DevNet,
                max_entries: 3,
                max_entries_per_coinbase: None,
                records_wanted: 3,
                cutoff: 200,
                submit_window: Duration::from_secs(1),
                previous_winners: None,
                history_days: 0,
                standby: None,
            },
            poll: Duration::from_millis(20),
            table: table(10),
            real_blocks: None,
        }
    }

    /// Starts the node, then the coordinator. The node stays in minute 0 of `start` until the
    /// test steps it.
    pub async fn build(self) -> Farm {
        let key = EcSecret::generate();
        let sim = match self.real_blocks {
            None => manual_sim(self.start, &[(&key, self.credits)]).await,
            Some(block) => SimServer::start(
                SimConfig {
                    block_time: block,
                    start_height: self.start,
                    funded: vec![(key.public(), self.credits)],
                },
                "127.0.0.1:0".parse().unwrap(),
            )
            .await
            .unwrap(),
        };
        let client = Arc::new(client(&sim, Duration::from_millis(500)));
        let telemetry = telemetry_for(&self.server, self.engine.network, &key);
        let running = spawn(Parts {
            listener: tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
            client: client.clone(),
            table: self.table,
            store: Store::open(&store_path("farm", &self.tag)).unwrap(),
            key,
            prices: Arc::new(prices::Oracle::devnet().unwrap()),
            server: self.server,
            engine: self.engine,
            monitor: MonitorConfig {
                poll: self.poll,
                down_after: Duration::from_secs(2),
                max_backoff: Duration::from_millis(200),
            },
            telemetry,
        })
        .await
        .unwrap();
        // Subscribed before the node moves: every minute the test steps to is seen.
        let seen = running.hub.subscribe();
        Farm {
            sim,
            client,
            running,
            seen,
            start: self.start,
            jobs: BTreeMap::new(),
            skips: Vec::new(),
        }
    }
}

impl Farm {
    /// The miners' address, as netminers take it.
    pub fn addr(&self) -> String {
        self.running.addr.to_string()
    }

    /// The hub.
    pub fn hub(&self) -> &Arc<Hub> {
        &self.running.hub
    }

    /// The next broadcast of the hub (within [`PATIENCE`]); jobs and skips are counted.
    pub async fn next(&mut self) -> Message {
        loop {
            match tokio::time::timeout(PATIENCE, self.seen.recv()).await {
                Ok(Ok(m)) => {
                    match &m {
                        Message::Job { opr, .. } => *self.jobs.entry(opr.height).or_default() += 1,
                        Message::Skip { height, reason } => {
                            self.skips.push((*height, reason.clone()))
                        }
                        _ => {}
                    }
                    return m;
                }
                Ok(Err(broadcast::error::RecvError::Lagged(_))) => continue,
                Ok(Err(e)) => panic!("the hub's broadcasts ended: {e}"),
                Err(_) => panic!("the hub broadcast nothing for {PATIENCE:?}"),
            }
        }
    }

    /// Waits for the hub's broadcast of minute `minute` of `height`: the engine has handled every
    /// earlier minute (it handles them in order, and announces each before acting on it).
    pub async fn minute(&mut self, height: u32, minute: u8) {
        loop {
            if let Message::Minute {
                height: h,
                minute: m,
            } = self.next().await
            {
                if (h, m) == (height, minute) {
                    return;
                }
            }
        }
    }

    /// Moves the node to minute `minute` of `height` and waits until the coordinator has seen it.
    pub async fn step_to(&mut self, height: u32, minute: u8) {
        self.sim.advance_to(height, minute);
        self.minute(height, minute).await;
    }

    /// Steps to minute 1 of `height` and returns the job the engine sent for it (panics on a
    /// skip).
    pub async fn job(&mut self, height: u32) -> u64 {
        self.step_to(height, 1).await;
        loop {
            match self.next().await {
                Message::Job { job_id, opr, .. } if opr.height == height => return job_id,
                Message::Skip { reason, .. } => panic!("block {height} skipped: {reason}"),
                _ => continue,
            }
        }
    }

    /// Steps to minute 9 of `height` and returns the summary of the block the engine paid.
    pub async fn finish(&mut self, height: u32) -> BlockSummary {
        self.step_to(height, 9).await;
        tokio::time::timeout(PATIENCE, self.running.summaries.recv())
            .await
            .expect("a block summary")
            .expect("the engine is running")
    }

    /// Waits until the node has answered `current-minute` three more times: the coordinator's
    /// monitor has read what the node says now. (The first answer counted may have been made
    /// just before the change; the monitor asks again only after reading an answer, so the
    /// third question proves it read the second, made after the change.)
    pub async fn polled(&self) {
        let seen = self.sim.sim().calls("current-minute");
        until("the monitor to ask for the minute", PATIENCE, || {
            self.sim.sim().calls("current-minute") >= seen + 3
        })
        .await;
    }

    /// Entries with three ExtIDs (records) on the devnet chain in the saved block `height`.
    pub async fn records_in(&self, height: u32) -> usize {
        self.client
            .entries_at(&Network::DevNet.opr_chain(), height)
            .await
            .unwrap()
            .iter()
            .filter(|(_, e)| e.ext_ids.len() == 3)
            .count()
    }
}
