//! The simulator's JSON-RPC endpoint (axum), speaking factomd's shapes and error codes.

use crate::clock::{Clock, SystemClock};
use crate::state::SimState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use factom::address::{self, AddressKind};
use factom::rpc::{self, Request, Response, RpcError};
use factom::types::EntryResult;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;
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
    /// Armed outage: after the next successful `commit-entry`, the node is unreachable (HTTP 503)
    /// for this long.
    pub down_after_commit: Option<Duration>,
    /// The node is unreachable until then (on the simulator's clock).
    pub down_until: Option<Instant>,
    /// Minute rewind: `current-minute` reports this minute (at the real height) while set.
    pub rewind_minute: Option<i64>,
    /// Height jump: added to every height `current-minute` and `heights` report.
    pub height_offset: i64,
    /// A lying node: wrong answers that look right.
    pub lies: Lies,
}

/// A lying node's faults, all off by default: texts too long to show, entries and entry blocks
/// changed after the fact. Switched in-process with [`Sim::set_lies`], or from outside with
/// `POST /sim/faults` and this as JSON when the server has the faults route (`--faults-route`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Lies {
    /// Answer this method with a JSON-RPC error whose message is this long, full of ANSI escapes
    /// and line breaks.
    pub error_text: Option<ErrorText>,
    /// `entry` serves every entry with its content changed: its hash no longer matches.
    pub tamper_entries: bool,
    /// `entry` serves every entry as an entry of another chain.
    pub foreign_entries: bool,
    /// `raw-data` serves every entry block with its first entry swapped for another (and the
    /// header's body MR to match): its key MR no longer matches.
    pub bad_entry_blocks: bool,
}

/// A JSON-RPC error text of `bytes` bytes answering every call of `method`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorText {
    /// The method answered with it (e.g. `entry-credit-balance`).
    pub method: String,
    /// Its length in bytes (about; e.g. 2000000).
    pub bytes: usize,
}

/// The chain a foreign entry claims (`foreign_entries`).
fn foreign_chain() -> factom::Hash32 {
    factom::chain_id(&[b"netmine-sim".as_slice(), b"foreign chain"])
}

/// The long error text of [`Lies::error_text`].
fn long_error(bytes: usize) -> RpcError {
    const LINE: &str = "\u{1b}[31;1mfactomd-sim: simulated error text\u{1b}[0m\r\n";
    let mut m = String::with_capacity(bytes + LINE.len());
    while m.len() < bytes {
        m.push_str(LINE);
    }
    RpcError::new(rpc::INTERNAL_ERROR, &m)
}

/// `entry`'s answer as a lying node gives it.
fn lie_about_entry(lies: &Lies, e: &mut EntryResult) {
    if lies.tamper_entries {
        let mut content = hex::decode(&e.content).unwrap_or_default();
        match content.first_mut() {
            Some(b) => *b ^= 0x20,
            None => content.push(b'!'),
        }
        e.content = hex::encode(content);
    }
    if lies.foreign_entries {
        e.chainid = hex::encode(foreign_chain());
    }
}

/// The clock faults' effect on what the node reports of its position.
fn skew_clock(f: &Faults, cm: &mut factom::types::CurrentMinute) {
    if let Some(m) = f.rewind_minute {
        cm.minute = m;
    }
    cm.directoryblockheight += f.height_offset;
    cm.leaderheight += f.height_offset;
}

/// A simulated node: state plus faults, shared by the request handlers, on a [`Clock`].
pub struct Sim {
    state: Mutex<SimState>,
    faults: Mutex<Faults>,
    clock: Arc<dyn Clock>,
    /// Answers given, per method (requests that reached the method; faults answer none).
    calls: Mutex<HashMap<String, u64>>,
    /// Requests a fault answered (HTTP 500, or 503 during an outage).
    refused: std::sync::atomic::AtomicU64,
}

impl Sim {
    /// Wraps `state` for the request handlers, with no faults injected, on the real clock.
    pub fn new(state: SimState) -> Arc<Sim> {
        Sim::with_clock(state, Arc::new(SystemClock))
    }

    /// Wraps `state` for the request handlers on `clock` (which `state` was made with).
    pub fn with_clock(state: SimState, clock: Arc<dyn Clock>) -> Arc<Sim> {
        Arc::new(Sim {
            state: Mutex::new(state),
            faults: Mutex::new(Faults::default()),
            clock,
            calls: Mutex::new(HashMap::new()),
            refused: Default::default(),
        })
    }

    /// The node's "now" (its clock's).
    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// The (height being built, minute) now.
    pub fn height_and_minute(&self) -> (u32, u8) {
        let now = self.now();
        self.state().height_and_minute(now)
    }

    /// Node time until minute `minute` of block `height` starts (zero once it has): what a
    /// manual clock must be advanced by to get there.
    pub fn time_until(&self, height: u32, minute: u8) -> Duration {
        let now = self.now();
        self.state().time_until(height, minute, now)
    }

    /// How many requests a fault answered (HTTP 500, or 503 during an outage): tests wait on it
    /// to know a client ran into the fault.
    pub fn refused(&self) -> u64 {
        self.refused.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many `method` requests the node has answered (with a result or a JSON-RPC error; not
    /// those a fault answered): tests wait on it to know a client has seen the node's state.
    pub fn calls(&self, method: &str) -> u64 {
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(method)
            .copied()
            .unwrap_or(0)
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

    /// After the next successful commit, the node is unreachable for `d` (HTTP 503).
    pub fn set_down_after_commit(&self, d: Option<Duration>) {
        self.faults_mut().down_after_commit = d;
    }

    /// `current-minute` reports minute `m` (at the real height) while set: a node whose minute
    /// goes back.
    pub fn set_minute_rewind(&self, m: Option<i64>) {
        self.faults_mut().rewind_minute = m;
    }

    /// Makes the node lie (or stops it: `Lies::default()`).
    pub fn set_lies(&self, lies: Lies) {
        self.faults_mut().lies = lies;
    }

    /// How the node lies now.
    pub fn lies(&self) -> Lies {
        self.faults().lies
    }

    /// Every reported height is shifted by `offset` (a node whose height jumps; -1 - height makes
    /// it report -1).
    pub fn set_height_offset(&self, offset: i64) {
        self.faults_mut().height_offset = offset;
    }

    fn faults_mut(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Freezes the node's clock: the minute stops moving (or resumes).
    pub fn set_stalled(&self, on: bool) {
        let now = self.now();
        self.state().set_stalled(on, now);
    }

    /// Adds entry credits to an EC key.
    pub fn fund(&self, key: &factom::address::EcAddress, credits: i64) {
        let now = self.now();
        self.state().fund(key, credits, now);
    }
}

/// The axum router serving `/v2` (POST and GET, like factomd).
pub fn router(sim: Arc<Sim>) -> Router {
    Router::new()
        .route("/v2", post(handle).get(handle))
        .with_state(sim)
}

/// [`router`] plus the faults route: `GET /sim/faults` shows the [`Lies`] in force, `POST
/// /sim/faults` with [`Lies`] as JSON replaces them (fields left out are off). For tests that
/// run the simulator as a process; factomd has nothing like it.
pub fn router_with_faults(sim: Arc<Sim>) -> Router {
    Router::new()
        .route("/v2", post(handle).get(handle))
        .route("/sim/faults", get(show_lies).post(set_lies))
        .with_state(sim)
}

async fn show_lies(State(sim): State<Arc<Sim>>) -> axum::Json<Lies> {
    axum::Json(sim.lies())
}

async fn set_lies(State(sim): State<Arc<Sim>>, axum::Json(lies): axum::Json<Lies>) -> StatusCode {
    tracing::info!(?lies, "faults switched from outside");
    sim.set_lies(lies);
    StatusCode::NO_CONTENT
}

async fn handle(State(sim): State<Arc<Sim>>, body: Bytes) -> axum::response::Response {
    let faults = sim.faults();
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    if faults.http_500 {
        sim.refused
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return (StatusCode::INTERNAL_SERVER_ERROR, "simulated node failure").into_response();
    }
    if faults.down_until.is_some_and(|t| t > sim.now()) {
        sim.refused
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return (StatusCode::SERVICE_UNAVAILABLE, "simulated outage").into_response();
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
    let outcome = dispatch(&sim, &req.method, &req.params, &faults);
    if req.method == "commit-entry" && outcome.is_ok() {
        let now = sim.now();
        let mut f = sim.faults_mut();
        if let Some(d) = f.down_after_commit.take() {
            f.down_until = Some(now + d);
        }
    }
    *sim.calls
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(req.method.clone())
        .or_default() += 1;
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

fn dispatch(sim: &Sim, method: &str, p: &Value, faults: &Faults) -> Result<Value, RpcError> {
    let now = sim.now();
    if let Some(t) = faults
        .lies
        .error_text
        .as_ref()
        .filter(|t| t.method == method)
    {
        return Err(long_error(t.bytes));
    }
    let mut st = sim.state();
    match method {
        "current-minute" => {
            let mut cm = st.current_minute(now);
            skew_clock(faults, &mut cm);
            to_value(cm)
        }
        "heights" => {
            let mut h = st.heights(now);
            h.directoryblockheight += faults.height_offset;
            h.leaderheight += faults.height_offset;
            to_value(h)
        }
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
            let mut e = st.entry(&SimState::parse_hash(&h.hash)?, now)?;
            lie_about_entry(&faults.lies, &mut e);
            to_value(e)
        }
        "raw-data" => {
            let h: HashParam = params(p)?;
            let hash = SimState::parse_hash(&h.hash)?;
            let data = match st.saved_entry_block(&hash, now) {
                Some(b) if faults.lies.bad_entry_blocks => {
                    let mut b = b.clone();
                    if let Some(first) = b.body.first_mut() {
                        first[0] ^= 0x5a;
                    }
                    b.header_body_mr = b.body_mr();
                    b.marshal()
                }
                Some(b) => b.marshal(),
                None => st
                    .raw_entry(&hash)
                    .ok_or_else(|| RpcError::new(rpc::NOT_FOUND, "Object not found"))?,
            };
            Ok(json!({"data": hex::encode(data)}))
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
