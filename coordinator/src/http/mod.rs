//! The operators' HTTP surface (`--http`, default `127.0.0.1:7780`; a relay's `127.0.0.1:7781`): a
//! read-only JSON API, the Prometheus metrics and the dashboard, served by axum in the daemon's
//! (or the relay's) runtime. A relay serves the same routes for its own miners: its status says
//! `"role": "relay"` with its upstream link, its blocks are empty (the primary pays), and its
//! metrics leave out what only a paying coordinator has. Only the roster's
//! and the remote-control routes change anything, and only with the token.
//!
//! | Route | What |
//! |---|---|
//! | `GET /` | the dashboard: one self-contained page (no CDN), refreshing itself |
//! | `GET /api/status` | [`StatusView`](crate::telemetry::views::StatusView) |
//! | `GET /api/miners` | [`MinersView`](crate::telemetry::views::MinersView) |
//! | `GET /api/blocks?limit=N` | [`BlocksView`](crate::telemetry::views::BlocksView), newest first, from the store |
//! | `GET /api/hashrate` | [`HashRateView`](crate::telemetry::views::HashRateView), the chart's samples |
//! | `GET /metrics` | Prometheus / OpenMetrics text |
//! | `GET, POST /api/roster`, `DELETE /api/roster/{identity}` | the farm's roster (see `roster.rs`) |
//! | `POST /api/miners/{identity}/{action}`, `POST /api/miners/control` | remote control: pause, resume, restart, threads, devices (see [`control`]) |
//!
//! On a loopback address anyone on the box may read it; changing anything (the roster, a miner) always
//! needs the token, as a Bearer header. Bound to any other address it needs a
//! token (`http_token`, `NETMINE_HTTP_TOKEN`; see [`auth`]): every request must then carry it,
//! and without one such an address is refused at start.
//!
//! It is served within budgets of its own ([`HttpLimits`]: connections, a header deadline, a
//! request timeout; see [`serve`]), and history is read on the store's read-only connection, so
//! no request ever waits for (or delays) the payer's writes.

mod api;
pub mod auth;
pub mod control;
mod dashboard;
mod roster;
mod serve;

pub use serve::{serve, HttpLimits, MAX_HEADER_BYTES};

use crate::store::Store;
use crate::telemetry::Telemetry;
use axum::routing::get;
use axum::Router;
use secrecy::SecretString;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

/// The default address: loopback only, so a fresh install shows nothing to the network.
pub const DEFAULT_ADDR: &str = "127.0.0.1:7780";

/// A relay's default address (`netcoordinator relay`): loopback too, one port up, so a relay and
/// a coordinator on one box both serve theirs without being told.
pub const RELAY_DEFAULT_ADDR: &str = "127.0.0.1:7781";

/// Why the HTTP surface cannot start as configured.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The address is neither `HOST:PORT`, `:PORT` nor `off`.
    #[error("http {0:?} is not IP:PORT, :PORT or off (an IP address: 127.0.0.1, 0.0.0.0, [::1])")]
    Address(String),
    /// A non-loopback address without a token.
    #[error("http on {0} is reachable from other machines: set a token (--http-token, http_token or NETMINE_HTTP_TOKEN) so every request must carry it, or bind to 127.0.0.1")]
    NoToken(SocketAddr),
    /// A token too short to resist guessing.
    #[error("http_token is too short: use at least {min} characters (`netcoordinator gen-secret` makes one)", min = auth::MIN_TOKEN_LEN)]
    WeakToken,
    /// The address could not be bound.
    #[error("serving HTTP on {addr}: {reason}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        reason: std::io::Error,
    },
}

/// `http` as configured: `off` (or empty) is `None`; `:PORT` means every interface.
pub fn parse_addr(s: &str) -> Result<Option<SocketAddr>, HttpError> {
    let t = s.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let full = if t.starts_with(':') {
        format!("0.0.0.0{t}")
    } else {
        t.to_string()
    };
    full.parse()
        .map(Some)
        .map_err(|_| HttpError::Address(s.to_string()))
}

/// Checks an address and token pair: beyond loopback a token is required; a token must be long
/// enough.
pub fn check(addr: SocketAddr, token: Option<&SecretString>) -> Result<(), HttpError> {
    use secrecy::ExposeSecret;
    match token {
        Some(t) if t.expose_secret().chars().count() < auth::MIN_TOKEN_LEN => {
            Err(HttpError::WeakToken)
        }
        Some(_) => Ok(()),
        None if addr.ip().is_loopback() => Ok(()),
        None => Err(HttpError::NoToken(addr)),
    }
}

/// What the handlers read.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) telemetry: Arc<Telemetry>,
    pub(crate) store: Store,
    pub(crate) token: Option<Arc<auth::Token>>,
}

/// The router: every route, behind the token check when there is a token.
pub fn router(telemetry: Arc<Telemetry>, store: Store, token: Option<&SecretString>) -> Router {
    let state = AppState {
        telemetry,
        store,
        token: token.map(|t| Arc::new(auth::Token::new(t))),
    };
    Router::new()
        .route("/", get(dashboard::page))
        .route("/api/status", get(api::status))
        .route("/api/miners", get(api::miners))
        .route("/api/blocks", get(api::blocks))
        .route("/api/hashrate", get(api::hashrate))
        .route("/metrics", get(api::metrics))
        .route("/api/roster", get(roster::list).post(roster::add))
        .route(
            "/api/roster/{identity}",
            axum::routing::delete(roster::remove),
        )
        .route("/api/miners/control", axum::routing::post(control::bulk))
        .route(
            "/api/miners/{identity}/{action}",
            axum::routing::post(control::one),
        )
        .fallback(api::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .with_state(state)
}

/// Binds `addr` after [`check`]ing it.
pub async fn bind(
    addr: SocketAddr,
    token: Option<&SecretString>,
) -> Result<TcpListener, HttpError> {
    check(addr, token)?;
    TcpListener::bind(addr)
        .await
        .map_err(|reason| HttpError::Bind { addr, reason })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_and_non_loopback_needs_a_long_token() {
        assert_eq!(parse_addr("off").unwrap(), None);
        assert_eq!(parse_addr("").unwrap(), None);
        assert_eq!(
            parse_addr(":7780").unwrap(),
            Some("0.0.0.0:7780".parse().unwrap())
        );
        assert!(matches!(parse_addr("nonsense"), Err(HttpError::Address(_))));
        let lo: SocketAddr = "127.0.0.1:7780".parse().unwrap();
        let any: SocketAddr = "0.0.0.0:7780".parse().unwrap();
        assert!(check(lo, None).is_ok());
        assert!(matches!(check(any, None), Err(HttpError::NoToken(_))));
        let weak = SecretString::from("weakvalue1");
        assert!(matches!(check(any, Some(&weak)), Err(HttpError::WeakToken)));
        let good = SecretString::from("a-long-enough-token-value");
        assert!(check(any, Some(&good)).is_ok());
        let shown = check(any, Some(&weak)).unwrap_err().to_string();
        assert!(!shown.contains("weakvalue1"), "{shown}");
    }
}
