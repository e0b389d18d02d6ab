//! `/api/roster`: the farm's roster over HTTP, for a coordinator on another box (on its own box,
//! `netcoordinator miners` does the same on the data dir).
//!
//! | Route | What |
//! |---|---|
//! | `GET /api/roster` | every entry (as `netcoordinator miners list --json`) |
//! | `POST /api/roster` | add or replace one: `{"identity", "key"` or `"relay", "coinbases"?, "by"?}` |
//! | `DELETE /api/roster/{identity}` | revoke it |
//!
//! Changes need the token always, even on loopback, as `Authorization: Bearer` (a browser sends
//! a Basic password by itself to any page's request, a Bearer header only when a script sets it,
//! which another site's page cannot do here): see `auth.rs`. A running coordinator reads the
//! change from its store within seconds and ends a revoked identity's session.

use super::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

/// `POST /api/roster`'s body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Add {
    identity: String,
    key: Option<String>,
    relay: Option<String>,
    #[serde(default)]
    coinbases: Vec<String>,
    by: Option<String>,
}

fn failed(e: impl std::fmt::Display) -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("the store failed: {e}\n"),
    )
        .into_response()
}

pub(super) async fn list(State(s): State<AppState>) -> Response {
    match s.store.call(|st| st.roster()).await {
        Ok(entries) => super::api::json(entries),
        Err(e) => failed(e),
    }
}

pub(super) async fn add(
    State(s): State<AppState>,
    body: Result<Json<Add>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(a) = match body {
        Ok(b) => b,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response(),
    };
    let entry = match crate::roster::operator_entry(
        &a.identity,
        a.key.as_deref(),
        a.relay.as_deref(),
        a.coinbases,
        a.by.as_deref().unwrap_or("the HTTP API"),
    ) {
        Ok(e) => e,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response(),
    };
    let saved = entry.clone();
    match s.store.call(move |st| st.roster_put(&saved)).await {
        Ok(()) => {
            tracing::info!(identity = %entry.identity, "roster: added over HTTP");
            (StatusCode::CREATED, super::api::json(entry)).into_response()
        }
        Err(e) => failed(e),
    }
}

pub(super) async fn remove(State(s): State<AppState>, Path(identity): Path<String>) -> Response {
    if !pegnet::validate::valid_identity(identity.as_bytes()) {
        return (StatusCode::BAD_REQUEST, "not an identity\n").into_response();
    }
    let id = identity.clone();
    let now = crate::telemetry::unix_now();
    match s
        .store
        .call(move |st| st.roster_revoke(&id, "the HTTP API", now))
        .await
    {
        Ok(changed) => {
            tracing::info!(%identity, "roster: revoked over HTTP");
            super::api::json(
                serde_json::json!({ "identity": identity, "revoked": true, "changed": changed }),
            )
        }
        Err(e) => failed(e),
    }
}
