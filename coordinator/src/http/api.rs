//! The JSON API's handlers and `/metrics`. Each reads the telemetry (one short lock) or the store
//! (on the blocking pool, never on the async threads).

use super::AppState;
use crate::telemetry::views::{BlocksView, HashRateView, MinersView};
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

/// Blocks `GET /api/blocks` returns without `limit`.
pub const DEFAULT_BLOCKS: usize = 50;
/// The most blocks one request returns.
pub const MAX_BLOCKS: usize = 2000;

pub(super) fn json<T: serde::Serialize>(v: T) -> Response {
    let mut r = Json(v).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    r
}

pub(super) async fn status(State(s): State<AppState>) -> Response {
    json(s.telemetry.status())
}

pub(super) async fn miners(State(s): State<AppState>) -> Response {
    json(MinersView {
        miners: s.telemetry.miners(),
    })
}

pub(super) async fn hashrate(State(s): State<AppState>) -> Response {
    json(HashRateView {
        samples: s.telemetry.rate_history(),
    })
}

/// `?limit=N`.
#[derive(Debug, Deserialize)]
pub(super) struct BlocksQuery {
    limit: Option<usize>,
}

pub(super) async fn blocks(
    State(s): State<AppState>,
    q: Result<Query<BlocksQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let limit = match q {
        Ok(Query(q)) => q.limit.unwrap_or(DEFAULT_BLOCKS).min(MAX_BLOCKS),
        Err(_) => {
            return (
                StatusCode::BAD_REQUEST,
                "limit must be a whole number of blocks\n",
            )
                .into_response()
        }
    };
    match s.store.call(move |st| st.blocks(limit)).await {
        Ok(blocks) => json(BlocksView { blocks }),
        Err(e) => {
            tracing::warn!("GET /api/blocks: {e}");
            (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response()
        }
    }
}

pub(super) async fn metrics(State(s): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.telemetry.metrics_text(),
    )
        .into_response()
}

pub(super) async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        "not found: try /, /api/status, /api/miners, /api/blocks, /api/hashrate or /metrics\n",
    )
        .into_response()
}
