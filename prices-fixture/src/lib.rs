//! A local stand-in for every price API: one axum server on loopback answering at
//! `/{SourceName}` in that source's documented JSON shape, from a table of USD prices. Requests
//! are honoured as the real APIs do (only the requested IDs or pairs come back; keyed sources
//! want the key [`FIXTURE_KEY`]), and faults can be injected per source: an HTTP status, broken
//! JSON, a socket that never answers, a missing asset or a raw value such as `0` or `"NaN"`.
//!
//! Used by the tests, and by `prices-fixture` so that `netcoordinator prices` can be tried
//! without internet access.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use prices::sources::{fixed, KINDS};
use prices::symbols::{crypto, CRYPTOS};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The API key the fixture's keyed sources accept.
pub const FIXTURE_KEY: &str = "fixture-key";

/// A fault to inject into one source's answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer with this HTTP status and a short text body.
    Status(u16),
    /// Answer 200 with a body that is not JSON.
    Malformed,
    /// Accept the request and never answer.
    Hang,
}

#[derive(Default)]
struct Inner {
    prices: BTreeMap<String, f64>,
    faults: HashMap<String, Fault>,
    /// (source, asset) → the raw JSON to send instead of the price (`None`: leave it out).
    raw: HashMap<(String, String), Option<Value>>,
    /// (source, asset) → a USD price for this source only.
    skew: HashMap<(String, String), f64>,
    hits: HashMap<String, u32>,
    /// The key the keyed sources accept instead of [`FIXTURE_KEY`].
    key: Option<String>,
}

/// The fixture's shared state: USD prices, per-source faults, raw overrides and request counts.
#[derive(Default)]
pub struct Fixture(Mutex<Inner>);

impl Fixture {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Injects (or with `None` clears) a fault.
    pub fn set_fault(&self, source: &str, fault: Option<Fault>) {
        let mut g = self.lock();
        match fault {
            Some(f) => g.faults.insert(source.into(), f),
            None => g.faults.remove(source),
        };
    }

    /// Sends `raw` (in the source's own units and JSON type) instead of `asset`'s price, or leaves
    /// the asset out with `None`.
    pub fn set_raw(&self, source: &str, asset: &str, raw: Option<Value>) {
        self.lock().raw.insert((source.into(), asset.into()), raw);
    }

    /// Gives `asset` a different USD price at `source` only.
    pub fn set_price_at(&self, source: &str, asset: &str, usd: f64) {
        self.lock().skew.insert((source.into(), asset.into()), usd);
    }

    /// Sets the USD price every source reports for `asset`.
    pub fn set_price(&self, asset: &str, usd: f64) {
        self.lock().prices.insert(asset.into(), usd);
    }

    /// Makes the keyed sources accept `key` instead of [`FIXTURE_KEY`].
    pub fn set_key(&self, key: &str) {
        self.lock().key = Some(key.into());
    }

    /// Requests `source` has received.
    pub fn hits(&self, source: &str) -> u32 {
        self.lock().hits.get(source).copied().unwrap_or(0)
    }
}

/// A running fixture server; stops when dropped.
pub struct FixtureServer {
    /// The loopback address the server listens on; [`FixtureServer::url`] gives a source's
    /// endpoint under it.
    pub addr: SocketAddr,
    /// The server's prices, faults and request counts, shared with the handlers: change them
    /// while it runs.
    pub fixture: Arc<Fixture>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FixtureServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FixtureServer {
    /// Serves `prices` (USD per asset) on `addr`.
    pub async fn start(
        addr: SocketAddr,
        prices: BTreeMap<String, f64>,
    ) -> std::io::Result<FixtureServer> {
        let fixture = Arc::new(Fixture::default());
        fixture.lock().prices = prices;
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let app = Router::new()
            .route("/{source}", get(answer))
            .with_state(fixture.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(FixtureServer {
            addr,
            fixture,
            task,
        })
    }

    /// Serves the devnet's prices on an ephemeral loopback port.
    pub async fn devnet() -> std::io::Result<FixtureServer> {
        let prices = fixed::parse(fixed::DEVNET_PRICES, "built in")
            .map_err(|e| std::io::Error::other(e.to_string()))?
            .into_iter()
            .map(|(a, q)| (a, q.value))
            .collect();
        Self::start(SocketAddr::from(([127, 0, 0, 1], 0)), prices).await
    }

    /// The URL standing in for `source`'s endpoint.
    pub fn url(&self, source: &str) -> String {
        format!("http://{}/{source}", self.addr)
    }

    /// A `[prices]` section using every HTTP source of the fixture, in PegNet's default order
    /// and then the rest, with the fixture's key where one is needed.
    pub fn config_toml(&self) -> String {
        let mut s = String::from("[prices]\ntimeout_secs = 2.0\n\n");
        for (p, k) in KINDS.iter().enumerate() {
            s.push_str(&format!("[prices.sources.{}]\npriority = ", k.name));
            if k.url.is_none() {
                // FixedUSD stays first; the fixed file stays off.
                s.push_str(if k.name == "FixedUSD" {
                    "0\n\n"
                } else {
                    "-1\n\n"
                });
                continue;
            }
            s.push_str(&format!("{p}\nurl = \"{}\"\n", self.url(k.name)));
            if k.needs_key {
                s.push_str(&format!("key = \"{FIXTURE_KEY}\"\n"));
            }
            s.push('\n');
        }
        s
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The symbol an exchange uses for a PegNet ticker.
fn exchange_symbol(asset: &str) -> &str {
    match asset {
        "XBT" => "BTC",
        "XBC" => "BCH",
        other => other,
    }
}

async fn answer(
    State(fx): State<Arc<Fixture>>,
    Path(source): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let fault = {
        let mut g = fx.lock();
        *g.hits.entry(source.clone()).or_default() += 1;
        g.faults.get(&source).cloned()
    };
    match fault {
        Some(Fault::Status(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return (status, format!("fixture: injected HTTP {code}")).into_response();
        }
        Some(Fault::Malformed) => return (StatusCode::OK, "{\"data\": [1, 2,").into_response(),
        Some(Fault::Hang) => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return StatusCode::GATEWAY_TIMEOUT.into_response();
        }
        None => {}
    }
    let g = fx.lock();
    // The value to send for `asset`: raw override, else the (skewed) USD price through `f`.
    let value = |asset: &str, f: &dyn Fn(f64) -> Value| -> Option<Value> {
        let key = (source.clone(), asset.to_string());
        if let Some(raw) = g.raw.get(&key) {
            return raw.clone();
        }
        let usd = g.skew.get(&key).or(g.prices.get(asset))?;
        Some(f(*usd))
    };
    let direct = |usd: f64| json!(usd);
    let inverse = |usd: f64| json!(1.0 / usd);
    let t = now_secs();
    let param = |k: &str| q.get(k).cloned().unwrap_or_default();
    let accepted = g.key.as_deref().unwrap_or(FIXTURE_KEY);
    let check = |key: String, refusal| check(&key, accepted, refusal);
    let list = |k: &str| -> Vec<String> {
        param(k)
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    };
    let (status, body): (StatusCode, Value) = match source.as_str() {
        "PegnetMarketCap" => {
            let mut m = Map::new();
            if let Some(v) = value("PEG", &|u| json!(u.to_string())) {
                m.insert(
                    "PEG".into(),
                    json!({"ticker_symbol": "PEG", "exchange_price": v, "exchange_price_dateline": t}),
                );
            }
            (StatusCode::OK, Value::Object(m))
        }
        "AlternativeMe" => {
            let mut data = Map::new();
            for c in CRYPTOS.iter().filter(|c| c.alternative_me) {
                if let Some(v) = value(c.asset, &direct) {
                    data.insert(
                        c.cmc_id.to_string(),
                        json!({"id": c.cmc_id, "symbol": exchange_symbol(c.asset),
                               "quotes": {"USD": {"price": v}}, "last_updated": t}),
                    );
                }
            }
            let n = data.len();
            (
                StatusCode::OK,
                json!({"data": data, "metadata": {"timestamp": t, "num_cryptocurrencies": n, "error": null}}),
            )
        }
        "FreeForexAPI" => {
            let mut rates = Map::new();
            for pair in list("pairs") {
                if let Some(v) = pair.strip_prefix("USD").and_then(|a| value(a, &inverse)) {
                    rates.insert(pair.clone(), json!({"rate": v, "timestamp": t}));
                }
            }
            (StatusCode::OK, json!({"rates": rates, "code": 200}))
        }
        "OpenExchangeRates" => match check(
            param("app_id"),
            (
                StatusCode::UNAUTHORIZED,
                json!({"error": true, "status": 401, "message": "invalid_app_id",
                       "description": "Invalid App ID provided - please sign up at https://openexchangerates.org/signup, or contact support@openexchangerates.org."}),
            ),
        ) {
            Err(e) => e,
            Ok(()) => {
                let mut rates = Map::new();
                for a in prices::symbols::FIATS
                    .iter()
                    .chain(&prices::symbols::METALS)
                    .chain(&["XBT"])
                {
                    if let Some(v) = value(a, &inverse) {
                        rates.insert(exchange_symbol(a).into(), v);
                    }
                }
                rates.insert("USD".into(), json!(1));
                (
                    StatusCode::OK,
                    json!({"disclaimer": "fixture", "timestamp": t, "base": "USD", "rates": rates}),
                )
            }
        },
        "APILayer" => match check(
            param("access_key"),
            (
                StatusCode::OK,
                json!({"success": false, "error": {"code": 101, "type": "invalid_access_key",
                       "info": "You have not supplied a valid API Access Key."}}),
            ),
        ) {
            Err(e) => e,
            Ok(()) => {
                let mut quotes = Map::new();
                for a in prices::symbols::FIATS {
                    if let Some(v) = value(a, &inverse) {
                        quotes.insert(format!("USD{a}"), v);
                    }
                }
                (
                    StatusCode::OK,
                    json!({"success": true, "timestamp": t, "source": "USD", "quotes": quotes}),
                )
            }
        },
        "CoinMarketCap" => match check(
            headers
                .get("X-CMC_PRO_API_KEY")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string(),
            (
                StatusCode::UNAUTHORIZED,
                json!({"status": {"error_code": 1001, "error_message": "This API Key is invalid."}}),
            ),
        ) {
            Err(e) => e,
            Ok(()) => {
                let mut data = Map::new();
                for id in list("id") {
                    let Some(c) = CRYPTOS.iter().find(|c| c.cmc_id.to_string() == id) else {
                        continue;
                    };
                    if let Some(v) = value(c.asset, &direct) {
                        data.insert(
                            id.clone(),
                            json!({"id": c.cmc_id, "symbol": exchange_symbol(c.asset),
                                   "quote": {"USD": {"price": v, "last_updated": "2026-11-22T12:00:00.000Z"}}}),
                        );
                    }
                }
                (
                    StatusCode::OK,
                    json!({"status": {"error_code": 0, "error_message": null}, "data": data}),
                )
            }
        },
        "CoinCap" => {
            let mut rows = Vec::new();
            for id in list("ids") {
                let Some(c) = CRYPTOS.iter().find(|c| c.coincap == Some(id.as_str())) else {
                    continue;
                };
                if let Some(v) = value(c.asset, &|u| json!(u.to_string())) {
                    rows.push(json!({"id": id, "symbol": exchange_symbol(c.asset), "priceUsd": v}));
                }
            }
            (StatusCode::OK, json!({"data": rows, "timestamp": t * 1000}))
        }
        "CoinGecko" => {
            let mut m = Map::new();
            for id in list("ids") {
                let Some(c) = CRYPTOS.iter().find(|c| c.coingecko == id) else {
                    continue;
                };
                if let Some(v) = value(c.asset, &direct) {
                    m.insert(id.clone(), json!({"usd": v, "last_updated_at": t}));
                }
            }
            (StatusCode::OK, Value::Object(m))
        }
        "1Forge" => match check(
            param("api_key"),
            (
                StatusCode::OK,
                json!({"error": true, "message": "API Key Not Valid. Please go to 1forge.com to get an API key."}),
            ),
        ) {
            Err(e) => e,
            Ok(()) => {
                let mut rows = Vec::new();
                for pair in list("pairs") {
                    let Some(a) = pair.strip_suffix("/USD") else {
                        continue;
                    };
                    if crypto(a).is_some() {
                        continue;
                    }
                    if let Some(v) = value(a, &direct) {
                        rows.push(json!({"s": pair, "p": v, "b": v, "a": v, "t": t * 1000}));
                    }
                }
                (StatusCode::OK, Value::Array(rows))
            }
        },
        _ => (
            StatusCode::NOT_FOUND,
            json!({"error": format!("the fixture has no source {source:?}")}),
        ),
    };
    (status, axum::Json(body)).into_response()
}

/// `Ok` when `key` is the `accepted` one, else the source's own "bad key" answer.
fn check(
    key: &str,
    accepted: &str,
    refusal: (StatusCode, Value),
) -> Result<(), (StatusCode, Value)> {
    if key == accepted {
        Ok(())
    } else {
        Err(refusal)
    }
}
