//! The simulator's JSON-RPC endpoint (axum), speaking factomd's shapes and error codes.

use crate::state::SimState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use factom::address::{self, AddressKind};
use factom::rpc::{self, Request, Response, RpcError};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Faults injected into every answer, to exercise clients' timeouts and retries; all off by
/// default. Change them at run time through [`Sim`]'s setters.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Answer every request with HTTP 500 and a plain-text body.
    pub http_500: bool,
    /// Extra delay before every answer (zero: none).
    pub latency: Duration,
}

/// A simulated node: state plus faults, shared by the request handlers.
pub struct Sim {
    state: Mutex<SimState>,
    faults: Mutex<Faults>,
}

impl Sim {
    /// Wraps `state` for the request handlers, with no faults injected.
    pub fn new(state: SimState) -> Arc<Sim> {
        Arc::new(Sim {
            state: Mutex::new(state),
            faults: Mutex::new(Faults::default()),
        })
    }

    /// Locks the state (for tests and the devnet driver).
    pub fn state(&self) -> MutexGuard<'_, SimState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn faults(&self) -> Faults {
        self.faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Makes every request fail with HTTP 500 (or stops doing so).
    pub fn set_http_500(&self, on: bool) {
        self.faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .http_500 = on;
    }

    /// Delays every later answer by `d` (zero turns the delay off).
    pub fn set_latency(&self, d: Duration) {
        self.faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .latency = d;
    }

    /// Freezes the node's clock: the minute stops moving (or resumes).
    pub fn set_stalled(&self, on: bool) {
        self.state().set_stalled(on, Instant::now());
    }

    /// Adds entry credits to an EC key.
    pub fn fund(&self, key: &factom::address::EcAddress, credits: i64) {
        self.state().fund(key, credits, Instant::now());
    }
}

/// The axum router serving `/v2` (POST and GET, like factomd).
pub fn router(sim: Arc<Sim>) -> Router {
    Router::new()
        .route("/v2", post(handle).get(handle))
        .with_state(sim)
}

async fn handle(State(sim): State<Arc<Sim>>, body: Bytes) -> axum::response::Response {
    let faults = sim.faults();
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    if faults.http_500 {
        return (StatusCode::INTERNAL_SERVER_ERROR, "simulated node failure").into_response();
    }
    let req: Request = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(_) => {
            return reply(Response::err(
                Value::Null,
                RpcError::new(rpc::INVALID_REQUEST, "Invalid Request"),
            ))
        }
    };
    if req.jsonrpc != "2.0" {
        return reply(Response::err(
            Value::Null,
            RpcError::new(rpc::INVALID_REQUEST, "Invalid Request"),
        ));
    }
    let outcome = dispatch(&sim, &req.method, &req.params);
    match &outcome {
        Ok(_) => tracing::debug!(method = %req.method, params = %req.params, "factomd-sim call ok"),
        Err(e) => {
            tracing::debug!(method = %req.method, params = %req.params, error = %e, "factomd-sim call failed")
        }
    }
    reply(match outcome {
        Ok(v) => Response::ok(req.id, v),
        Err(e) => Response::err(req.id, e),
    })
}

fn reply(r: Response) -> axum::response::Response {
    let status = if r.error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    (status, axum::Json(r)).into_response()
}

fn params<T: DeserializeOwned>(v: &Value) -> Result<T, RpcError> {
    let v = if v.is_null() { json!({}) } else { v.clone() };
    serde_json::from_value(v).map_err(|_| RpcError::new(rpc::INVALID_PARAMS, "Invalid params"))
}

#[derive(Deserialize)]
struct HashParam {
    hash: String,
}
#[derive(Deserialize)]
struct ChainParam {
    chainid: String,
}
#[derive(Deserialize)]
struct KeymrParam {
    keymr: String,
}
#[derive(Deserialize)]
struct AddressParam {
    address: String,
}
#[derive(Deserialize)]
struct MessageParam {
    message: String,
}
#[derive(Deserialize)]
struct EntryParam {
    entry: String,
}
#[derive(Deserialize)]
struct HeightParam {
    height: i64,
}

fn to_value<T: serde::Serialize>(v: T) -> Result<Value, RpcError> {
    serde_json::to_value(v).map_err(|_| RpcError::new(rpc::INTERNAL_ERROR, "Internal error"))
}

fn dispatch(sim: &Sim, method: &str, p: &Value) -> Result<Value, RpcError> {
    let now = Instant::now();
    let mut st = sim.state();
    match method {
        "current-minute" => to_value(st.current_minute(now)),
        "heights" => to_value(st.heights(now)),
        "properties" => {
            Ok(json!({"factomdversion": "6.16.0-netmine-sim", "factomdapiversion": "2.0"}))
        }
        "entry-credit-balance" => {
            let a: AddressParam = params(p)?;
            let invalid =
                || RpcError::with_data(rpc::INVALID_PARAMS, "Invalid params", "Invalid Address");
            let key = match address::decode(&a.address) {
                Ok((AddressKind::EcPublic, key)) => key,
                Ok(_) => return Err(invalid()),
                Err(_) => SimState::parse_hash(&a.address).map_err(|_| invalid())?,
            };
            st.advance(now);
            Ok(json!({"balance": st.balance(&key)}))
        }
        "commit-entry" => {
            let m: MessageParam = params(p)?;
            let bytes = hex::decode(&m.message).map_err(|_| {
                RpcError::with_data(
                    rpc::INVALID_PARAMS,
                    "Invalid params",
                    "Invalid Commit Entry",
                )
            })?;
            to_value(st.commit(&bytes, now)?)
        }
        "reveal-entry" | "reveal-chain" => {
            let e: EntryParam = params(p)?;
            let bytes = hex::decode(&e.entry).map_err(|_| {
                RpcError::with_data(rpc::INVALID_PARAMS, "Invalid params", "Invalid Entry")
            })?;
            to_value(st.reveal(&bytes, now)?)
        }
        "chain-head" => {
            let c: ChainParam = params(p)?;
            to_value(st.chain_head(&SimState::parse_hash(&c.chainid)?, now)?)
        }
        "entry-block" => {
            let k: KeymrParam = params(p)?;
            to_value(st.entry_block(&SimState::parse_hash(&k.keymr)?, now)?)
        }
        "entry" => {
            let h: HashParam = params(p)?;
            to_value(st.entry(&SimState::parse_hash(&h.hash)?, now)?)
        }
        "dblock-by-height" => {
            let h: HeightParam = params(p)?;
            let height = u32::try_from(h.height)
                .map_err(|_| RpcError::new(rpc::NOT_FOUND, "Block not found"))?;
            to_value(st.dblock_by_height(height, now)?)
        }
        "directory-block-head" => Ok(json!({"keymr": hex::encode(st.directory_block_head(now))})),
        "directory-block" => {
            let k: KeymrParam = params(p)?;
            st.directory_block(&SimState::parse_hash(&k.keymr)?, now)
        }
        _ => Err(RpcError::new(rpc::METHOD_NOT_FOUND, "Method not found")),
    }
}
