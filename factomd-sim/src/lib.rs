//! A simulated factomd: the JSON-RPC calls a PegNet coordinator makes, with factomd's shapes, error
//! codes and block/minute timing, for tests and the devnet. See `SimState` for the rules it follows
//! and docs/factomd-sim.md for where it knowingly departs from factomd.

mod blocks;
mod entries;
mod server;
mod state;

pub use server::{router, router_with_faults, ErrorText, Faults, Lies, Sim};
pub use state::{SimConfig, SimState, LOCAL_NETWORK_ID, PREMADE_CHAINS};

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tokio::net::TcpListener;

/// A simulator serving HTTP on a local socket; stops when dropped or shut down.
pub struct SimServer {
    addr: SocketAddr,
    sim: Arc<Sim>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl SimServer {
    /// Binds `listen` (port 0 picks a free port) and serves a new simulated node.
    pub async fn start(cfg: SimConfig, listen: SocketAddr) -> std::io::Result<SimServer> {
        let listener = TcpListener::bind(listen).await?;
        Self::serve(cfg, listener)
    }

    /// Serves a new simulated node on an already-bound listener.
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
        let addr = listener.local_addr()?;
        let sim = Sim::new(SimState::new(cfg, Instant::now()));
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
