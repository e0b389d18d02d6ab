//! JSON-RPC 2.0 envelopes and the error codes factomd uses (spec `factom-node.md` §1).
//!
//! The same types serve both sides: the factomd and walletd clients build [`Request`]s and read
//! [`Response`]s, and the simulator does the reverse. factomd answers an error with HTTP 400 and
//! a JSON-RPC body, so a client must parse the body whatever the status (only 401 has no JSON).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `-32700 Parse error`: factomd uses it only when it cannot resolve its own state (rare).
pub const PARSE_ERROR: i64 = -32700;
/// `-32600`: body not JSON or `jsonrpc` not "2.0".
pub const INVALID_REQUEST: i64 = -32600;
/// `-32601 Method not found`: the method name is unknown to the node.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// `-32602 Invalid params`, with a string `data` saying what was invalid (for example
/// `"Invalid Hash"`, `"Invalid Commit Entry"`, `"Invalid Entry"`).
pub const INVALID_PARAMS: i64 = -32602;
/// `-32603 Internal error`: a handler panicked or a database lookup failed; walletd also uses
/// it, with string data, for its own failures (such as an address not in the wallet).
pub const INTERNAL_ERROR: i64 = -32603;
/// `-32008`: block, entry or object not found (the message says which).
pub const NOT_FOUND: i64 = -32008;
/// `-32009 Missing Chain Head`: `chain-head` of a chain that neither exists nor is pending.
pub const MISSING_CHAIN_HEAD: i64 = -32009;
/// `-32011 Repeated Commit`: a commit for the same entry hash paying as much or more is already
/// held. Its `data` is an object with `info` and `entryhash`; a writer treats it as "already
/// committed" and goes on to the reveal.
pub const REPEATED_COMMIT: i64 = -32011;

/// A JSON-RPC request, with fields in the order the Go client sends them (`jsonrpc`, `id`,
/// `params`, `method`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Request {
    /// Protocol version, always "2.0"; factomd rejects anything else with `-32600`.
    pub jsonrpc: String,
    /// Request id (a JSON number; `null` is allowed by the spec).
    pub id: Value,
    /// Method parameters, an object such as `{"chainid": "…"}`; the Go client sends `null` when
    /// there are none, and a missing field reads as `null` too.
    #[serde(default)]
    pub params: Value,
    /// Method name, e.g. `current-minute` or `commit-entry`.
    pub method: String,
}

/// The error object of a failed call; its `Display` is [`RpcError::describe`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct RpcError {
    /// Numeric JSON-RPC code, one of the constants of this module (or walletd's `-32001`,
    /// `-32003`).
    pub code: i64,
    /// Short standard text for the code, e.g. "Invalid params" or "Missing Chain Head".
    pub message: String,
    /// Extra detail: a string, or an object for `-32011`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl RpcError {
    /// An error with `code` and `message` and no `data` (as the simulator produces it).
    pub fn new(code: i64, message: &str) -> Self {
        RpcError {
            code,
            message: message.to_string(),
            data: None,
        }
    }

    /// An error with a string `data`.
    pub fn with_data(code: i64, message: &str, data: &str) -> Self {
        RpcError {
            code,
            message: message.to_string(),
            data: Some(Value::String(data.to_string())),
        }
    }

    /// `message` or `message: data`, as the Go client prints it, followed by ` (code N)`.
    pub fn describe(&self) -> String {
        match &self.data {
            None => format!("{} (code {})", self.message, self.code),
            Some(Value::String(d)) => format!("{}: {d} (code {})", self.message, self.code),
            Some(other) => format!("{}: {other} (code {})", self.message, self.code),
        }
    }
}

/// A response: exactly one of `result` and `error` is present.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Response {
    /// Protocol version, always "2.0".
    pub jsonrpc: String,
    /// The request's id (`null` if it could not be parsed).
    pub id: Value,
    /// The method's result on success; parse it into the matching [`crate::types`] struct.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// The error on failure; `None` on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<RpcError>,
}

impl Response {
    /// A successful response to request `id`, carrying `result`.
    pub fn ok(id: Value, result: Value) -> Self {
        Response {
            jsonrpc: "2.0".into(),
            id,
            result: Some(result),
            error: None,
        }
    }

    /// A failed response to request `id` (`null` if the request could not be parsed).
    pub fn err(id: Value, error: RpcError) -> Self {
        Response {
            jsonrpc: "2.0".into(),
            id,
            result: None,
            error: Some(error),
        }
    }
}
