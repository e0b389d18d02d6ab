//! A simulated factomd: the JSON-RPC calls a PegNet coordinator makes, with factomd's shapes, error
//! codes and block/minute timing, for tests and the devnet. See `SimState` for the rules it follows
//! and docs/factomd-sim.md for where it knowingly departs from factomd.

mod blocks;
mod clock;
mod entries;
mod server;
mod state;

pub use clock::{Clock, ManualClock, SystemClock};
pub use server::{router, router_with_faults, ErrorText, Faults, Lies, Sim};
pub use state::{SimConfig, SimState, LOCAL_NETWORK_ID, PREMADE_CHAINS};

use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

/// A simulator serving HTTP on a local socket; stops when dropped or shut down.
pub struct SimServer {
    addr: SocketAddr,
    sim: Arc<Sim>,
    manual: Option<Arc<ManualClock>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl SimServer {
    /// Binds `listen` (port 0 picks a free port) and serves a new simulated node on the real
    /// clock.
    pub async fn start(cfg: SimConfig, listen: SocketAddr) -> std::io::Result<SimServer> {
        Self::start_with_clock(cfg, listen, Arc::new(SystemClock)).await
    }

    /// Binds `listen` and serves a new simulated node on a [`ManualClock`] of its own: the node
    /// stays at the start of its first block until [`advance`](SimServer::advance)d or
    /// [`advance_to`](SimServer::advance_to) a minute (tests).
    pub async fn start_manual(cfg: SimConfig, listen: SocketAddr) -> std::io::Result<SimServer> {
        let clock = Arc::new(ManualClock::new());
        let mut s = Self::start_with_clock(cfg, listen, clock.clone()).await?;
        s.manual = Some(clock);
        Ok(s)
    }

    /// Binds `listen` and serves a new simulated node whose time comes from `clock`: with a
    /// [`ManualClock`] the node stays in its first minute until the clock is advanced (see
    /// [`Sim::time_until`]).
    pub async fn start_with_clock(
        cfg: SimConfig,
        listen: SocketAddr,
        clock: Arc<dyn Clock>,
    ) -> std::io::Result<SimServer> {
        let listener = TcpListener::bind(listen).await?;
        Self::serve_with_clock(cfg, listener, clock)
    }

    /// Serves a new simulated node on an already-bound listener, on the real clock.
    pub fn serve(cfg: SimConfig, listener: TcpListener) -> std::io::Result<SimServer> {
        Self::serve_with(cfg, listener, false)
    }

    /// [`SimServer::serve`], with the faults route (`/sim/faults`, see [`router_with_faults`])
    /// when `faults_route` is set.
    pub fn serve_with(
        cfg: SimConfig,
        listener: TcpListener,
        faults_route: bool,
    ) -> std::io::Result<SimServer> {
        Self::serve_on(cfg, listener, Arc::new(SystemClock), faults_route)
    }

    /// Serves a new simulated node on an already-bound listener, on `clock`.
    pub fn serve_with_clock(
        cfg: SimConfig,
        listener: TcpListener,
        clock: Arc<dyn Clock>,
    ) -> std::io::Result<SimServer> {
        Self::serve_on(cfg, listener, clock, false)
    }

    /// [`SimServer::serve_with`] on a [`ManualClock`] of its own, as
    /// [`start_manual`](SimServer::start_manual) does: the node stays at the start of its first
    /// block until the test steps it.
    pub fn serve_manual(
        cfg: SimConfig,
        listener: TcpListener,
        faults_route: bool,
    ) -> std::io::Result<SimServer> {
        let clock = Arc::new(ManualClock::new());
        let mut s = Self::serve_on(cfg, listener, clock.clone(), faults_route)?;
        s.manual = Some(clock);
        Ok(s)
    }

    /// Serves a new simulated node on an already-bound listener, on `clock`, with the faults
    /// route when `faults_route` is set.
    pub fn serve_on(
        cfg: SimConfig,
        listener: TcpListener,
        clock: Arc<dyn Clock>,
        faults_route: bool,
    ) -> std::io::Result<SimServer> {
        let addr = listener.local_addr()?;
        let sim = Sim::with_clock(SimState::new(cfg, clock.now()), clock);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let app = if faults_route {
            router_with_faults(sim.clone())
        } else {
            router(sim.clone())
        };
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!("factomd simulator stopped: {e}");
            }
        });
        Ok(SimServer {
            addr,
            sim,
            manual: None,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// The address the server actually listens on (with the real port when started on port 0);
    /// clients use `http://{addr}/v2`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR` (clients add `/v2`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The simulated node (state and fault switches).
    pub fn sim(&self) -> &Arc<Sim> {
        &self.sim
    }

    /// The manual clock of a node started with [`start_manual`](SimServer::start_manual).
    pub fn manual_clock(&self) -> Option<&Arc<ManualClock>> {
        self.manual.as_ref()
    }

    fn manual(&self) -> &ManualClock {
        self.manual
            .as_deref()
            .expect("stepping the clock needs a node started with SimServer::start_manual")
    }

    /// Moves the node's manual clock forward by `by`. Panics on the real clock.
    pub fn advance(&self, by: std::time::Duration) {
        self.manual().advance(by);
    }

    /// Moves the node's manual clock to the start of minute `minute` of block `height` (no
    /// move if that minute has started already). Panics on the real clock.
    pub fn advance_to(&self, height: u32, minute: u8) {
        let by = self.sim.time_until(height, minute);
        self.manual().advance(by);
    }

    /// Moves the node's manual clock to minute 0 of the next block, saving the block being built;
    /// returns the new height being built. Panics on the real clock.
    pub fn next_block(&self) -> u32 {
        let (height, _) = self.sim.height_and_minute();
        self.advance_to(height + 1, 0);
        height + 1
    }

    /// Stops serving and waits for the server task.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
