//! The coordinator daemon as a library, in the style of tokio's mini-redis: [`run`] takes the
//! resolved settings, a bound listener and a shutdown future, and runs until the future
//! completes. The binary (`netcoordinator`) owns what belongs to a process: reading the
//! environment and the flags, signals, the open-file limit.
//!
//! [`spawn`] is the layer below: it wires given parts (the miners' listener, the minute monitor,
//! the block engine) together, for [`run`], the devnet and the tests.

use crate::config::{CoordinatorConfig, Role};
use crate::engine::{fit_submit_window, BlockSummary, EngineBuilder, EngineConfig, EngineError};
use crate::roster::RosterBook;
use crate::server::{serve, Hub, ServerConfig};
use crate::store::Store;
use crate::telemetry::{Telemetry, RATE_SAMPLES, RATE_SAMPLE_EVERY};
use anyhow::{bail, Context, Result};
use factom::{EcSecret, FactomdClient, Monitor, MonitorConfig, RpcConfig, WalletdClient};
use hashcore::Table;
use pegnet::Network;
use prices::Oracle;
use secrecy::{ExposeSecret, SecretString};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Everything a coordinator runs with, made by its caller: the daemon's [`run`] from the
/// settings, the devnet and the tests from their own pieces.
pub struct Parts {
    /// The miners' listener, already bound (port 0 is fine: [`Running::addr`] says which port).
    pub listener: tokio::net::TcpListener,
    /// factomd's JSON-RPC client, shared by the monitor and the engine.
    pub client: Arc<FactomdClient>,
    /// The LXRHash table the submissions are verified with (30 bits on the real networks).
    pub table: Arc<Table>,
    /// The durable record of entries to pay for (and of planned and paid heights).
    pub store: Store,
    /// The entry-credit key that pays for the entries.
    pub key: EcSecret,
    /// The price oracle polled at minute 1.
    pub prices: Arc<Oracle>,
    /// The miners' listener: secret, connection limits, bans, records per miner.
    pub server: ServerConfig,
    /// How blocks are run: network, entries per block, submit window.
    pub engine: EngineConfig,
    /// How factomd's minutes are polled (interval, when the node counts as down).
    pub monitor: MonitorConfig,
    /// The farm's live picture the hub reports to (see [`telemetry_for`]); the HTTP API, if
    /// any, serves the same one.
    pub telemetry: Arc<Telemetry>,
}

/// Where the operators' HTTP surface listens, and its token.
#[derive(Clone)]
pub struct HttpSettings {
    /// The address (loopback unless a token is set).
    pub addr: SocketAddr,
    /// The token every request must carry (required beyond loopback).
    pub token: Option<SecretString>,
    /// Its budgets: connections, the header deadline, the request timeout.
    pub limits: crate::http::HttpLimits,
}

/// A running coordinator; stops when dropped.
pub struct Running {
    /// The bound miners' address.
    pub addr: SocketAddr,
    /// One summary per finished block (records, entries paid, EC balance), as the engine sends
    /// them.
    pub summaries: mpsc::UnboundedReceiver<BlockSummary>,
    /// The miners' hub.
    pub hub: Arc<Hub>,
    /// The block engine's task: it only ends with an error (or a panic).
    pub engine: tokio::task::JoinHandle<Result<(), EngineError>>,
    /// The miners' listener's task: it only ends when stopped (or on a panic).
    pub listener: tokio::task::JoinHandle<()>,
    stop: watch::Sender<bool>,
    _monitor: Monitor,
}

/// Why a task that should run forever ended.
fn task_failure(
    what: &str,
    r: std::result::Result<std::result::Result<(), EngineError>, tokio::task::JoinError>,
) -> anyhow::Error {
    match r {
        Ok(r) => match r {
            Ok(()) => anyhow::anyhow!("the {what} stopped"),
            Err(e) => anyhow::Error::new(e).context(format!("the {what} failed")),
        },
        Err(e) if e.is_panic() => {
            let p = e.into_panic();
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(no message)".into());
            anyhow::anyhow!("the {what} panicked: {msg}")
        }
        Err(e) => anyhow::anyhow!("the {what} was cancelled: {e}"),
    }
}

impl Running {
    /// Stops accepting miners.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// A fresh telemetry sized for `server`'s limits, naming the network and the paying EC address
/// (shown by the API and the dashboard).
pub fn telemetry_for(server: &ServerConfig, network: Network, ec: &EcSecret) -> Arc<Telemetry> {
    let t = Arc::new(Telemetry::new(server.max_work_entries()));
    t.set_identity(&network.to_string(), &ec.public().to_string());
    t
}

/// Starts the hub on the bound listener, the minute monitor and the block engine.
pub async fn spawn(p: Parts) -> Result<Running> {
    let addr = p.listener.local_addr()?;
    let store = p.store.clone();
    let roster = tokio::task::spawn_blocking(move || RosterBook::open(store)).await??;
    let hub = Hub::with_roster(
        p.server,
        p.table.clone(),
        p.telemetry.clone(),
        Arc::new(roster),
    );
    // The verification budget is the pool's rate times this window.
    hub.set_submit_window(p.engine.submit_window);
    let (stop, stop_rx) = watch::channel(false);
    tokio::spawn(follow_roster(hub.clone(), stop_rx.clone()));
    seed_rate_history(&p.store, &p.telemetry).await;
    tokio::spawn(sample_rates(p.telemetry, stop_rx.clone()));
    let listener = tokio::spawn(serve(hub.clone(), p.listener, stop_rx));
    let monitor = Monitor::spawn(p.client.clone(), p.monitor);
    let (engine, summaries) = EngineBuilder {
        cfg: p.engine,
        hub: hub.clone(),
        client: p.client,
        table: p.table,
        store: p.store,
        key: p.key,
        prices: p.prices,
    }
    .build();
    let engine = tokio::spawn(engine.run(monitor.subscribe()));
    Ok(Running {
        addr,
        summaries,
        hub,
        engine,
        listener,
        stop,
        _monitor: monitor,
    })
}

/// The operators' HTTP API, metrics and dashboard, served until `stop` turns true: the bound
/// address and the server's task.
pub async fn start_http(
    h: &HttpSettings,
    telemetry: Arc<Telemetry>,
    store: Store,
    stop: watch::Receiver<bool>,
) -> Result<(SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let l = crate::http::bind(h.addr, h.token.as_ref()).await?;
    let addr = l.local_addr()?;
    let router = crate::http::router(telemetry, store, h.token.as_ref());
    Ok((
        addr,
        tokio::spawn(crate::http::serve(l, router, h.limits, stop)),
    ))
}

/// Logs where the HTTP surface listens (the line operators, and the process tests, read the
/// address from: `dashboard and API on … http=ADDR`). The daemon and a relay log it alike.
pub fn announce_http(a: SocketAddr) {
    match a.ip().is_unspecified() {
        true => tracing::info!(
            http = %a,
            "dashboard and API on port {} of every interface (http://<this box>:{}/, metrics at /metrics)",
            a.port(),
            a.port()
        ),
        false => {
            tracing::info!(http = %a, "dashboard and API on http://{a}/ (metrics: http://{a}/metrics)")
        }
    }
}

/// How often the store's roster is checked for changes another process made.
pub const ROSTER_POLL: Duration = Duration::from_secs(2);

/// Follows the roster in the store until stopped: a change made by `netcoordinator miners` (or
/// the HTTP API) is read within [`ROSTER_POLL`], and a revoked or re-keyed identity's session
/// is ended at once.
pub async fn follow_roster(hub: Arc<Hub>, mut stop: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(ROSTER_POLL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            r = stop.changed() => if r.is_err() || *stop.borrow() { return },
        }
        let book = hub.roster().clone();
        match tokio::task::spawn_blocking(move || book.reload()).await {
            Ok(Ok(true)) => {
                let n = hub.enforce_roster();
                tracing::info!(disconnected = n, "the roster changed");
            }
            Ok(Ok(false)) => {}
            Ok(Err(e)) => tracing::warn!("reading the roster: {e}"),
            Err(e) => tracing::warn!("reading the roster: {e}"),
        }
    }
}

/// Samples the farm's hash rate for the dashboard's chart until stopped.
async fn sample_rates(telemetry: Arc<Telemetry>, mut stop: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(RATE_SAMPLE_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => telemetry.sample_rate(),
            r = stop.changed() => if r.is_err() || *stop.borrow() { return },
        }
    }
}

/// Fills the chart's history from the stored blocks of the last hours, so a restarted
/// coordinator's dashboard still shows them.
async fn seed_rate_history(store: &Store, telemetry: &Telemetry) {
    let horizon = RATE_SAMPLE_EVERY.as_secs() * RATE_SAMPLES as u64;
    let since = crate::telemetry::unix_now().saturating_sub(horizon);
    match store.call(|s| s.blocks(RATE_SAMPLES)).await {
        Ok(blocks) => {
            for b in blocks.iter().rev() {
                if b.skipped.is_none() && b.recorded_at >= since {
                    telemetry.push_rate(b.recorded_at, b.hash_rate);
                }
            }
        }
        Err(e) => tracing::warn!("reading the block history: {e}"),
    }
}

/// The periodic stats line: what the farm did since the previous line.
pub fn log_stats(telemetry: &Telemetry, period: Duration) {
    let s = telemetry.status();
    let p = telemetry.take_period();
    let r = s.hash_rate;
    tracing::info!(
        miners = s.miners_connected,
        rate_10s = %protocol::format_rate(r.rate_10s),
        rate_60s = %protocol::format_rate(r.rate_60s),
        rate_15m = %protocol::format_rate(r.rate_15m),
        blocks = p.blocks,
        records = p.records,
        accepted = p.records_accepted,
        entries_paid = p.entries_paid,
        entries_failed = p.entries_failed,
        ec_spent = p.ec_spent,
        ec_left = %s.ec_balance.map_or_else(|| "unknown".to_string(), |b| b.to_string()),
        winners = p.winners,
        "stats for the last {}",
        netmine_age(period)
    );
}

/// `15 min`, `90 s`: a period for the stats line.
fn netmine_age(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 120 && s % 60 == 0 {
        format!("{} min", s / 60)
    } else {
        format!("{s} s")
    }
}

/// The EC key: `ec_secret` (from the file or `NETMINE_EC_SECRET`, already laid over it), else
/// the secret of `ec_address` from walletd.
async fn ec_key(cfg: &CoordinatorConfig) -> Result<EcSecret> {
    if let Some(s) = &cfg.ec_secret {
        return s
            .expose_secret()
            .parse()
            .context("the EC secret (config ec_secret or NETMINE_EC_SECRET)");
    }
    if let (Some(addr), Some(w)) = (&cfg.ec_address, &cfg.walletd) {
        let ec = addr.parse().context("config ec_address")?;
        return WalletdClient::new(RpcConfig::new(w))?
            .ec_secret(&ec)
            .await
            .with_context(|| format!("fetching the secret of {addr} from walletd at {w}"));
    }
    bail!("no EC key to pay for entries: set ec_secret in the config, NETMINE_EC_SECRET, or ec_address + walletd")
}

/// The submit window for the network factomd runs, and factomd's block length: asks the node for
/// its block length (waiting for it while it cannot be reached) and refuses a window that leaves
/// no time to pay. `None` when `shutdown` came first.
async fn fit_window(
    client: &FactomdClient,
    explicit: Option<f64>,
    telemetry: &Telemetry,
    mut shutdown: Pin<&mut impl Future<Output = ()>>,
) -> Result<Option<(Duration, Duration)>> {
    let mut warned = false;
    let block_secs = loop {
        let attempt = tokio::select! {
            r = client.current_minute() => r,
            () = shutdown.as_mut() => return Ok(None),
        };
        match attempt {
            Ok(cm) if cm.directoryblockinseconds > 0 => break cm.directoryblockinseconds,
            Ok(cm) => {
                bail!(
                    "factomd at {} reports a block length of {} s",
                    client.url(),
                    cm.directoryblockinseconds
                )
            }
            Err(e) => {
                telemetry.node(
                    crate::telemetry::views::NodeState::Down,
                    Some(format!(
                        "waiting for factomd to learn its block length: {e}"
                    )),
                );
                if !warned {
                    tracing::warn!(
                        "waiting for factomd at {} to learn its block length: {e}",
                        client.url()
                    );
                    warned = true;
                }
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(2)) => {}
                    () = shutdown.as_mut() => return Ok(None),
                }
            }
        }
    };
    let block = Duration::from_secs(block_secs as u64);
    let window = fit_submit_window(explicit.map(Duration::from_secs_f64), block)?;
    tracing::info!(
        block_secs,
        "submissions are collected for {:.3} s after minute 9",
        window.as_secs_f64()
    );
    Ok(Some((window, block)))
}

/// The HTTP settings of `cfg`: the address (`off` → none) and its token.
pub fn http_settings(cfg: &CoordinatorConfig) -> Result<Option<HttpSettings>> {
    let Some(addr) = crate::http::parse_addr(&cfg.http)? else {
        return Ok(None);
    };
    crate::http::check(addr, cfg.http_token.as_ref())?;
    Ok(Some(HttpSettings {
        addr,
        token: cfg.http_token.clone(),
        limits: cfg.http_limits(),
    }))
}

/// Runs the coordinator daemon: the settings `cfg` (resolved by the caller, all four layers; they
/// are checked again here), miners on the already-bound `listener`, until `shutdown` completes
/// (then `Ok`) or a part fails (then the error: the engine, the listener or the HTTP server
/// ending is never a silent success). Signals, the open-file limit and the environment are the
/// binary's business, not this library's.
pub async fn run(
    cfg: CoordinatorConfig,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let plan = cfg.validate()?;
    tokio::pin!(shutdown);
    let network = cfg.network;
    let key = ec_key(&cfg).await?;
    tracing::info!(
        sources = ?plan.sources.iter().map(|s| s.source.name()).collect::<Vec<_>>(),
        "price sources"
    );
    let prices = Arc::new(Oracle::new(plan).context("starting the price oracle")?);
    let data_dir = cfg.data_dir()?;
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let server = cfg.server(Role::Coordinator, &data_dir)?;
    match &server.tls {
        Some(t) => tracing::info!(
            fingerprint = %t.fingerprint(),
            "miners connect over TLS (wss://HOST:PORT); pin this certificate on them with --tls-fingerprint {}",
            t.fingerprint()
        ),
        None => tracing::info!(
            "miners connect over plain WebSocket (ws://): use --tls on links that leave the LAN"
        ),
    }
    if !cfg.relays.is_empty() && server.relay_secret.is_none() {
        tracing::warn!(relays = ?cfg.relays, "relays authenticate with the farm secret: any box that knows it can claim a relay's name; set NETMINE_RELAY_SECRET (relay_secret) here and as the relays' upstream secret");
    }
    let store = Store::open(&data_dir.join("coordinator.db"))?;
    let (bits, dir) = (cfg.bits, cfg.table_dir.clone());
    let (table, _) = tokio::task::spawn_blocking(move || hashcore::cache::open(bits, dir))
        .await?
        .context("getting the LXRHash table")?;
    let client = Arc::new(FactomdClient::new(RpcConfig::new(&cfg.factomd))?);
    // The HTTP API is up before factomd is asked: an operator sees a node that is down at start.
    let telemetry = telemetry_for(&server, network, &key);
    // The [[alerts]] webhooks watch the telemetry on their own tasks (stopped with the daemon).
    let _alerts = crate::alerts::spawn(&cfg.alerts, telemetry.clone());
    let (_http_stop, http_stop_rx) = watch::channel(false);
    let mut http = match http_settings(&cfg)? {
        Some(h) => {
            let (a, task) = start_http(&h, telemetry.clone(), store.clone(), http_stop_rx).await?;
            announce_http(a);
            Some(task)
        }
        None => None,
    };
    let Some((submit_window, block)) = fit_window(
        &client,
        cfg.submit_window_secs,
        &telemetry,
        shutdown.as_mut(),
    )
    .await?
    else {
        tracing::info!("stopped while waiting for factomd");
        return Ok(());
    };
    let monitor = MonitorConfig::default();
    let standby = match cfg.standby {
        false => None,
        true => {
            let poll = monitor.poll_for(block / 10);
            let delay = crate::engine::standby_delay(block, submit_window, poll)?;
            tracing::info!(
                "standby: {:.3} s after minute 9 began (its submit window and {:.3} s more), this \
                 coordinator pays only if the farm's EC balance shows nothing was spent since \
                 minute 1",
                (submit_window + delay).as_secs_f64(),
                delay.as_secs_f64()
            );
            Some(crate::engine::StandbyTiming { delay, poll })
        }
    };
    telemetry.set_standby(standby.is_some());
    let mut running = spawn(Parts {
        listener,
        client: client.clone(),
        table,
        store,
        key: key.clone(),
        prices,
        server,
        engine: EngineConfig {
            network,
            max_entries: cfg.max_entries,
            max_entries_per_coinbase: cfg.max_entries_per_coinbase,
            records_wanted: cfg.records_per_miner as u32,
            cutoff: cfg.cutoff,
            submit_window,
            previous_winners: cfg.previous_winners.clone(),
            history_days: cfg.history_days,
            standby,
        },
        monitor,
        telemetry: telemetry.clone(),
    })
    .await?;
    tracing::info!(
        miners = %running.addr,
        factomd = %client.url(),
        network = %network,
        ec = %key.public(),
        "netcoordinator running"
    );
    // Every task is joined: the engine or the listener ending is a failure, and the daemon exits
    // non-zero with its error (never a silent exit 0).
    let stats_every = Duration::from_secs_f64(cfg.stats_interval_secs.clamp(1.0, 86_400.0));
    let mut stats_tick =
        tokio::time::interval_at(tokio::time::Instant::now() + stats_every, stats_every);
    let mut stats_since = std::time::Instant::now();
    loop {
        tokio::select! {
            s = running.summaries.recv() => match s {
                Some(s) => tracing::info!(
                    height = s.block.height,
                    entries = ?s.block.entry_hashes,
                    "block {}: {} entries paid",
                    s.block.height,
                    s.block.entries_paid
                ),
                None => {
                    let r = (&mut running.engine).await;
                    return Err(task_failure("block engine", r));
                }
            },
            r = &mut running.engine => return Err(task_failure("block engine", r)),
            r = &mut running.listener => {
                return Err(task_failure("miners' listener", r.map(|()| Ok::<(), EngineError>(()))))
            }
            _ = stats_tick.tick() => {
                log_stats(&telemetry, stats_since.elapsed());
                stats_since = std::time::Instant::now();
            }
            r = async { http.as_mut().expect("guarded").await }, if http.is_some() => {
                let why = match r {
                    Ok(Ok(())) => "stopped".to_string(),
                    Ok(Err(e)) => e.to_string(),
                    Err(e) => e.to_string(),
                };
                return Err(anyhow::anyhow!("the HTTP server failed: {why}"));
            }
            () = shutdown.as_mut() => {
                tracing::info!("stopping");
                log_stats(&telemetry, stats_since.elapsed());
                running.stop();
                return Ok(());
            }
        }
    }
}
