//! JSON-RPC 2.0 over HTTP POST, shared by the factomd and walletd clients.
//!
//! Every call has a timeout. factomd answers errors with HTTP 400 and a JSON-RPC body, so the body
//! is parsed whatever the status. Transport failures (connection refused, timeout, a non-JSON 5xx)
//! are retried with exponential backoff and jitter for up to `retry_for`; protocol errors (a
//! JSON-RPC error object) are returned at once: asking again would get the same answer. Answers
//! are read up to a size limit ([`MAX_BODY`], or less per call), and the node's texts that errors
//! carry are sanitized ([`decode_response`]).

use crate::check::NodeFault;
use crate::rpc::{Request, Response, RpcError};
use protocol::text::{sanitize, MAX_TEXT};
use rand::RngExt;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Errors of a JSON-RPC call.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The node could not be reached (after retries).
    #[error("cannot reach {url}: {detail}")]
    Transport {
        /// Endpoint.
        url: String,
        /// What failed.
        detail: String,
    },
    /// HTTP 401: the node wants other credentials.
    #[error("{url} rejected the RPC user/password (HTTP 401)")]
    Unauthorized {
        /// Endpoint.
        url: String,
    },
    /// The node answered with a JSON-RPC error.
    #[error("{method}: {error}")]
    Rpc {
        /// Method called.
        method: String,
        /// The error object.
        error: RpcError,
    },
    /// The node address is not a usable HTTP(S) URL.
    #[error("{url:?} is not a node address (host:port or http(s)://host:port[/path]): {detail}")]
    BadUrl {
        /// The address as given.
        url: String,
        /// What is wrong with it.
        detail: String,
    },
    /// The answer is larger than the most a call reads ([`MAX_BODY`], or less for calls whose
    /// honest answers are small).
    #[error("the answer to {method} from {url} is over {limit} bytes")]
    TooLarge {
        /// Endpoint.
        url: String,
        /// Method called.
        method: String,
        /// The most bytes the answer may have.
        limit: usize,
    },
    /// The answer was not what the method returns.
    #[error("unexpected answer to {method} from {url}: {detail}")]
    Decode {
        /// Endpoint.
        url: String,
        /// Method called.
        method: String,
        /// What did not fit.
        detail: String,
    },
}

impl ClientError {
    /// The JSON-RPC error code, if the node answered with one.
    pub fn rpc_code(&self) -> Option<i64> {
        match self {
            ClientError::Rpc { error, .. } => Some(error.code),
            _ => None,
        }
    }

    /// True for failures to reach the node (worth retrying later).
    pub fn is_transport(&self) -> bool {
        matches!(self, ClientError::Transport { .. })
    }

    /// The node fault this error shows, if any: an answer over its size limit
    /// ([`NodeFault::OversizedAnswer`]).
    pub fn as_fault(&self) -> Option<NodeFault> {
        match self {
            ClientError::TooLarge { method, limit, .. } => Some(NodeFault::OversizedAnswer {
                method: method.clone(),
                limit: *limit,
            }),
            _ => None,
        }
    }
}

/// Connection settings.
#[derive(Debug, Clone)]
pub struct RpcConfig {
    /// Base URL (`host:port`, `http://host:port`, `https://…`; `/v2` is added if no path is
    /// given, see [`endpoint`]).
    pub url: String,
    /// Timeout of one HTTP request.
    pub timeout: Duration,
    /// How long transport failures are retried before giving up (0: no retry).
    pub retry_for: Duration,
    /// Optional HTTP basic-auth credentials.
    pub auth: Option<(String, String)>,
}

impl RpcConfig {
    /// Defaults for `url`: 10 s timeout, 10 s of retries, no auth.
    pub fn new(url: &str) -> Self {
        RpcConfig {
            url: url.to_string(),
            timeout: Duration::from_secs(10),
            retry_for: Duration::from_secs(10),
            auth: None,
        }
    }
}

/// Normalises a node location to its `/v2` endpoint URL: `host:port`, `http://host:port` or
/// `https://host[:port]`, with `/v2` added when no path is given (a path ending in `/` gets `v2`
/// appended). Anything else (another scheme, no host, a bad port, a query) is refused.
pub fn endpoint(url: &str) -> Result<String, ClientError> {
    let text = url.trim();
    let bad = |detail: String| ClientError::BadUrl {
        url: text.to_string(),
        detail,
    };
    let with_scheme = if text.contains("://") {
        text.to_string()
    } else {
        format!("http://{text}")
    };
    let mut u = url::Url::parse(&with_scheme).map_err(|e| bad(e.to_string()))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(bad(format!(
            "the scheme must be http or https, not {}",
            u.scheme()
        )));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host".into()));
    }
    if u.query().is_some() || u.fragment().is_some() {
        return Err(bad("a node address takes no query or fragment".into()));
    }
    if u.path() == "/" {
        u.set_path("/v2");
    } else if u.path().ends_with('/') {
        let path = format!("{}v2", u.path());
        u.set_path(&path);
    }
    Ok(u.into())
}

/// A JSON-RPC endpoint.
#[derive(Debug)]
pub struct JsonRpc {
    http: reqwest::Client,
    url: String,
    cfg: RpcConfig,
    next_id: AtomicU64,
}

impl JsonRpc {
    /// A client for `cfg.url`.
    pub fn new(cfg: RpcConfig) -> Result<Self, ClientError> {
        let url = endpoint(&cfg.url)?;
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(5)))
            .build()
            .map_err(|e| ClientError::Transport {
                url: url.clone(),
                detail: format!("cannot build HTTP client: {e}"),
            })?;
        Ok(JsonRpc {
            http,
            url,
            cfg,
            next_id: AtomicU64::new(1),
        })
    }

    /// The endpoint URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Calls `method`, retrying transport failures.
    pub async fn call<P: Serialize, R: DeserializeOwned>(
        &self,
        method: &str,
        params: P,
    ) -> Result<R, ClientError> {
        Ok(self.call_sized(method, params, MAX_BODY).await?.0)
    }

    /// Calls `method`, retrying transport failures, reading at most `max_body` bytes of answer;
    /// returns the result and the size of the answer's body.
    pub async fn call_sized<P: Serialize, R: DeserializeOwned>(
        &self,
        method: &str,
        params: P,
        max_body: usize,
    ) -> Result<(R, usize), ClientError> {
        let params = serde_json::to_value(params).map_err(|e| self.decode(method, e))?;
        let started = Instant::now();
        let mut delay = Duration::from_millis(100);
        loop {
            match self.attempt(method, &params, max_body).await {
                Err(e) if e.is_transport() && started.elapsed() + delay < self.cfg.retry_for => {
                    tracing::debug!(method, error = %e, "retrying after {delay:?}");
                    let jitter = rand::rng().random_range(0.5..1.5);
                    tokio::time::sleep(delay.mul_f64(jitter)).await;
                    delay = (delay * 2).min(Duration::from_secs(2));
                }
                other => return other,
            }
        }
    }

    /// One attempt, no retry.
    pub async fn call_once<R: DeserializeOwned>(
        &self,
        method: &str,
        params: &Value,
    ) -> Result<R, ClientError> {
        Ok(self.attempt(method, params, MAX_BODY).await?.0)
    }

    /// One attempt reading at most `max_body` bytes: the result and the body's size.
    async fn attempt<R: DeserializeOwned>(
        &self,
        method: &str,
        params: &Value,
        max_body: usize,
    ) -> Result<(R, usize), ClientError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let req = Request {
            jsonrpc: "2.0".into(),
            id: Value::from(id),
            params: params.clone(),
            method: method.to_string(),
        };
        tracing::trace!(method, id, "factom rpc call");
        let mut builder = self.http.post(&self.url).json(&req);
        if let Some((u, p)) = &self.cfg.auth {
            builder = builder.basic_auth(u, Some(p));
        }
        let transport = |detail: String| ClientError::Transport {
            url: self.url.clone(),
            detail,
        };
        let resp = builder
            .send()
            .await
            .map_err(|e| transport(error_chain(&e)))?;
        let status = resp.status();
        if status == reqwest::StatusCode::UNAUTHORIZED {
            return Err(ClientError::Unauthorized {
                url: self.url.clone(),
            });
        }
        let max_body = max_body.min(MAX_BODY);
        let too_large = || ClientError::TooLarge {
            url: self.url.clone(),
            method: method.to_string(),
            limit: max_body,
        };
        if resp.content_length().is_some_and(|n| n > max_body as u64) {
            return Err(too_large());
        }
        let mut resp = resp;
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| transport(error_chain(&e)))? {
            if body.len() + chunk.len() > max_body {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        let r = decode_response(&self.url, method, status.as_u16(), &body)?;
        Ok((r, body.len()))
    }

    fn decode(&self, method: &str, e: impl std::fmt::Display) -> ClientError {
        ClientError::Decode {
            url: self.url.clone(),
            method: method.to_string(),
            detail: sanitize(&e.to_string()).into_owned(),
        }
    }
}

/// Reads a JSON-RPC answer to `method` from `url`: the node's error object as
/// [`ClientError::Rpc`], else the `result` as `R`. A body that is not JSON-RPC is a transport
/// failure when the HTTP status is 5xx (a proxy page: the node is not there) and a
/// [`ClientError::Decode`] otherwise. Every text from the node in the error (its JSON-RPC error
/// message and data, a body that is not JSON-RPC, a value that does not fit) is passed through
/// [`sanitize`]: at most 200 bytes, no control characters. The pure part of
/// [`JsonRpc::call_once`], so it can be fuzzed.
pub fn decode_response<R: DeserializeOwned>(
    url: &str,
    method: &str,
    status: u16,
    body: &[u8],
) -> Result<R, ClientError> {
    let decode = |detail: String| ClientError::Decode {
        url: url.to_string(),
        method: method.to_string(),
        detail: sanitize(&detail).into_owned(),
    };
    // As reqwest shows it ("500 Internal Server Error").
    let shown = reqwest::StatusCode::from_u16(status)
        .map_or_else(|_| status.to_string(), |s| s.to_string());
    let parsed: Response = match serde_json::from_slice(body) {
        Ok(r) => r,
        // A 5xx or a proxy page: the node is not (properly) there.
        Err(_) if (500..600).contains(&status) => {
            return Err(ClientError::Transport {
                url: url.to_string(),
                detail: format!(
                    "HTTP {shown}: {}",
                    sanitize(&String::from_utf8_lossy(&body[..body.len().min(MAX_TEXT)]))
                ),
            })
        }
        Err(e) => return Err(decode(format!("HTTP {shown}, body is not JSON-RPC: {e}"))),
    };
    if let Some(error) = parsed.error {
        return Err(ClientError::Rpc {
            method: method.to_string(),
            error: sanitized(error),
        });
    }
    let result = parsed
        .result
        .ok_or_else(|| decode("neither result nor error".into()))?;
    serde_json::from_value(result).map_err(|e| decode(e.to_string()))
}

/// The node's error with its message and data made safe to show: each string cut to 200 bytes
/// without control characters, and `data` that is not a string (factomd's `-32011` object) kept
/// only while its JSON text is short and clean.
fn sanitized(mut e: RpcError) -> RpcError {
    if let Cow::Owned(m) = sanitize(&e.message) {
        e.message = m;
    }
    e.data = match e.data.take() {
        None => None,
        Some(Value::String(d)) => Some(Value::String(sanitize(&d).into_owned())),
        Some(other) => {
            let text = other.to_string();
            match sanitize(&text) {
                Cow::Borrowed(_) => Some(other),
                Cow::Owned(cut) => Some(Value::String(cut)),
            }
        }
    };
    e
}

/// The largest response body read from a node (8 MiB): a bigger one is an error, never memory
/// exhaustion. factomd's largest answers (an entry block, a 10 KiB entry) are far smaller.
pub const MAX_BODY: usize = 8 << 20;

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let ok = |s: &str| endpoint(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(ok("localhost:8088"), "http://localhost:8088/v2");
        assert_eq!(ok(" localhost:8088 "), "http://localhost:8088/v2");
        assert_eq!(ok("10.0.0.1:8088"), "http://10.0.0.1:8088/v2");
        assert_eq!(ok("[::1]:8088"), "http://[::1]:8088/v2");
        assert_eq!(ok("http://localhost:8088"), "http://localhost:8088/v2");
        assert_eq!(ok("http://10.0.0.1:8088/"), "http://10.0.0.1:8088/v2");
        assert_eq!(ok("https://node.example"), "https://node.example/v2");
        assert_eq!(ok("https://node.example/v2"), "https://node.example/v2");
        assert_eq!(
            ok("https://node.example:8443/factomd/"),
            "https://node.example:8443/factomd/v2"
        );
        assert_eq!(ok("http://h:1/custom/path"), "http://h:1/custom/path");
    }

    #[test]
    fn garbage_endpoints_are_refused_clearly() {
        for bad in [
            "",
            "   ",
            ":8088",
            "not a url",
            "localhost:99999",
            "localhost:port",
            "ftp://node.example",
            "http://",
            "http://h:1/v2?x=1",
            "http://h:1/v2#top",
        ] {
            let e = endpoint(bad).expect_err(bad);
            assert!(matches!(e, ClientError::BadUrl { .. }), "{bad}: {e:?}");
            let msg = e.to_string();
            assert!(msg.contains("is not a node address"), "{bad}: {msg}");
            assert!(!e.is_transport(), "{bad}: not worth retrying");
        }
        let e = endpoint("ftp://node.example").unwrap_err().to_string();
        assert!(
            e.contains("\"ftp://node.example\"") && e.contains("http or https"),
            "{e}"
        );
        // A client for a garbage address fails to build rather than failing every call.
        assert!(matches!(
            JsonRpc::new(RpcConfig::new("no such host:1")),
            Err(ClientError::BadUrl { .. })
        ));
    }
}
