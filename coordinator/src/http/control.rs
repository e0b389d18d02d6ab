//! Remote control over HTTP (see `server/control.rs` for what reaches the miners).
//!
//! | Route | Body | What |
//! |---|---|---|
//! | `POST /api/miners/{identity}/pause` | `{}` | pause one miner |
//! | `POST /api/miners/{identity}/resume` | `{}` | resume it |
//! | `POST /api/miners/{identity}/restart` | `{}` | restart its hashing backends |
//! | `POST /api/miners/{identity}/threads` | `{"threads": 4}` | run 4 CPU threads |
//! | `POST /api/miners/{identity}/devices` | `{"devices": "0,1"}` | mine on OpenCL devices 0 and 1 (`all`: every one) |
//! | `POST /api/miners/control` | `{"action": "pause", "miners": ["a", "b"]}` or `{"action": "pause", "all": true}` (and `threads`/`devices` for those actions) | several miners at once |
//!
//! CSRF-safe by construction: every change needs the token as `Authorization: Bearer`, also on
//! loopback (the middleware in `auth.rs`; a browser sends a remembered Basic password or a
//! cookie with any page's request, but sets an `Authorization: Bearer` header only when a script
//! of the page itself does, and this API answers no CORS preflight), and the body must be
//! declared `application/json` (`415` otherwise): an HTML form can post neither. No cookie is
//! read, ever.
//!
//! One miner's answer is its [`ControlReport`] with a status that says what became of it: `200`
//! done, `422` refused by the miner (or invalid values: `400`), `404` unknown, `409` offline or
//! needing protocol 3, `503` busy (or the coordinator still starting), `504` no answer. The bulk
//! form answers `200` with one report per miner (`{"results": [...]}`), the requests sent to all
//! of them at once.

use super::AppState;
use crate::server::{ControlOutcome, ControlReport};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use protocol::ControlAction;
use serde::{Deserialize, Serialize};

/// Most miners one bulk request names (`all` is bounded by the connections the hub takes).
pub const MAX_BULK: usize = 1000;

/// Largest body accepted, in bytes.
const MAX_BODY: usize = 64 * 1024;

/// `POST /api/miners/{identity}/{action}`'s body (only the field of the action, if any).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct One {
    threads: Option<u32>,
    devices: Option<String>,
}

/// `POST /api/miners/control`'s body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Bulk {
    action: String,
    #[serde(default)]
    miners: Vec<String>,
    #[serde(default)]
    all: bool,
    threads: Option<u32>,
    devices: Option<String>,
}

/// The bulk form's answer.
#[derive(Debug, Serialize, Deserialize)]
pub struct BulkReport {
    /// One report per miner, in the order asked (every connected miner, by identity, for `all`).
    pub results: Vec<ControlReport>,
}

fn refuse(code: StatusCode, why: impl Into<String>) -> Response {
    (code, format!("{}\n", why.into())).into_response()
}

/// The body as JSON, if it is declared so (`415` otherwise); an empty body reads as `{}`.
fn json_body<T: for<'de> Deserialize<'de>>(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<T, Box<Response>> {
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
    if !declared {
        return Err(Box::new(refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the body as Content-Type: application/json (an HTML form cannot)",
        )));
    }
    if body.len() > MAX_BODY {
        return Err(Box::new(refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the body is too large",
        )));
    }
    let text: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    serde_json::from_slice(text)
        .map_err(|e| Box::new(refuse(StatusCode::BAD_REQUEST, format!("the body: {e}"))))
}

/// The action named `name`, with its value from the body.
fn action(
    name: &str,
    threads: Option<u32>,
    devices: Option<String>,
) -> Result<ControlAction, Box<Response>> {
    let missing = |what: &str| {
        Box::new(refuse(
            StatusCode::BAD_REQUEST,
            format!("{name} needs {what}"),
        ))
    };
    let unused = (threads.is_some() && name != "threads" && name != "set_threads")
        || (devices.is_some() && name != "devices" && name != "set_devices");
    if unused {
        return Err(Box::new(refuse(
            StatusCode::BAD_REQUEST,
            format!("{name} takes no threads or devices"),
        )));
    }
    Ok(match name {
        "pause" => ControlAction::Pause,
        "resume" => ControlAction::Resume,
        "restart" => ControlAction::Restart,
        "threads" | "set_threads" => ControlAction::SetThreads {
            threads: threads.ok_or_else(|| missing(r#"{"threads": N}"#))?,
        },
        "devices" | "set_devices" => ControlAction::SetDevices {
            devices: devices.ok_or_else(|| missing(r#"{"devices": "0,1"}"#))?,
        },
        _ => {
            return Err(Box::new(refuse(
                StatusCode::NOT_FOUND,
                "actions: pause, resume, restart, threads, devices",
            )))
        }
    })
}

/// The status of one report.
fn status_of(outcome: ControlOutcome) -> StatusCode {
    match outcome {
        ControlOutcome::Done => StatusCode::OK,
        ControlOutcome::Refused => StatusCode::UNPROCESSABLE_ENTITY,
        ControlOutcome::Invalid => StatusCode::BAD_REQUEST,
        ControlOutcome::Unknown => StatusCode::NOT_FOUND,
        ControlOutcome::Offline | ControlOutcome::NeedsProtocol3 => StatusCode::CONFLICT,
        ControlOutcome::Busy => StatusCode::SERVICE_UNAVAILABLE,
        ControlOutcome::NoAnswer => StatusCode::GATEWAY_TIMEOUT,
    }
}

fn starting() -> Response {
    refuse(
        StatusCode::SERVICE_UNAVAILABLE,
        "the coordinator is starting (waiting for factomd): no miner is connected yet",
    )
}

pub(super) async fn one(
    State(s): State<AppState>,
    Path((identity, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let b: One = match json_body(&headers, &body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let action = match action(&name, b.threads, b.devices) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let Some(hub) = s.telemetry.control_desk().hub() else {
        return starting();
    };
    let report = hub.control(&identity, action).await;
    (status_of(report.outcome), super::api::json(&report)).into_response()
}

pub(super) async fn bulk(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let b: Bulk = match json_body(&headers, &body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let action = match action(&b.action, b.threads, b.devices) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let miners = match (b.all, b.miners.is_empty()) {
        (true, true) => s
            .telemetry
            .miners()
            .into_iter()
            .filter(|m| m.connected)
            .map(|m| m.identity)
            .collect(),
        (false, false) => b.miners,
        _ => {
            return refuse(
                StatusCode::BAD_REQUEST,
                r#"name the miners ("miners": [...]) or ask for "all": true, not both"#,
            )
        }
    };
    if !b.all && miners.len() > MAX_BULK {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("at most {MAX_BULK} miners per request"),
        );
    }
    let Some(hub) = s.telemetry.control_desk().hub() else {
        return starting();
    };
    let asks = miners.iter().map(|m| hub.control(m, action.clone()));
    let results = futures_util::future::join_all(asks).await;
    super::api::json(BulkReport { results })
}
