//! Serving the HTTP surface within budgets of its own, apart from the miners' listener:
//!
//! * **Connections.** At most [`HttpLimits::max_connections`] at once, and
//!   [`HttpLimits::max_per_address`] from one address (an IPv6 /64 counts as one, see
//!   `server::admission::ban_key`). A new connection over the per-address share is closed at
//!   once; when every place is taken, the oldest connection of the address holding the most is
//!   closed to make room, so a flood from a few addresses never locks out the operator.
//! * **Headers.** A request's headers must arrive within [`HttpLimits::header_timeout`] of the
//!   connection being ready for them (a slow sender, one byte at a time, is closed when it
//!   passes), and be at most [`MAX_HEADER_BYTES`].
//! * **Requests.** A request not answered within [`HttpLimits::request_timeout`] is answered
//!   `503` (and its handler dropped).

use crate::server::admission::Gate;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::IntoResponse;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// The most bytes of request line and headers read (a dashboard's request is well under 2 KiB).
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// The HTTP surface's budgets (`http_max_connections`, `http_header_timeout_secs`,
/// `http_request_timeout_secs`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HttpLimits {
    /// Connections at once, all addresses.
    pub max_connections: usize,
    /// Connections at once from one address (an IPv6 /64).
    pub max_per_address: usize,
    /// A request's headers must be read within this.
    pub header_timeout: Duration,
    /// A request must be answered within this.
    pub request_timeout: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_connections: 128,
            max_per_address: 16,
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Serves `router` on `listener` within `limits` until `shutdown` turns true; connections still
/// open then are given the request timeout to finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let timeout = limits.request_timeout;
    let router = router.layer(axum::middleware::from_fn(
        move |req: Request, next: Next| async move {
            match tokio::time::timeout(timeout, next.run(req)).await {
                Ok(r) => r,
                Err(_) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("not answered within {timeout:?}\n"),
                )
                    .into_response(),
            }
        },
    ));
    let gate = Arc::new(Gate::new(limits.max_connections, limits.max_per_address));
    let mut tasks = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = stopped(&mut shutdown) => break,
            a = listener.accept() => a,
        };
        while tasks.try_join_next().is_some() {}
        let (stream, addr) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors, most likely: wait a moment instead of spinning.
                tracing::warn!("HTTP accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(mut slot) = gate.admit(addr.ip()) else {
            tracing::debug!(%addr, "HTTP: over the per-address connection share: closed");
            continue;
        };
        let service = TowerToHyperService::new(router.clone());
        let mut stop = shutdown.clone();
        tasks.spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .max_buf_size(MAX_HEADER_BYTES);
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        tracing::debug!(%addr, "HTTP connection: {e}");
                    }
                }
                _ = &mut slot.evicted => {
                    tracing::debug!(%addr, "HTTP: connection closed to make room for a newer one");
                }
                _ = stopped(&mut stop) => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(limits.request_timeout, conn).await;
                }
            }
            drop(slot);
        });
    }
    let _ = tokio::time::timeout(limits.request_timeout, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    Ok(())
}

/// Resolves once `shutdown` is (or has become) true, or its sender is gone.
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    while !*shutdown.borrow_and_update() {
        if shutdown.changed().await.is_err() {
            return;
        }
    }
}
