//! JSON-RPC 2.0 envelopes and the error codes factomd uses (spec `factom-node.md` §1).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `-32700`.
pub const PARSE_ERROR: i64 = -32700;
/// `-32600`: body not JSON or `jsonrpc` not "2.0".
pub const INVALID_REQUEST: i64 = -32600;
/// `-32601`.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// `-32602`, with a string `data` saying what was invalid.
pub const INVALID_PARAMS: i64 = -32602;
/// `-32603`.
pub const INTERNAL_ERROR: i64 = -32603;
/// `-32008`: block, entry or object not found.
pub const NOT_FOUND: i64 = -32008;
/// `-32009`.
pub const MISSING_CHAIN_HEAD: i64 = -32009;
/// `-32011`: a commit paying as much or more already exists.
pub const REPEATED_COMMIT: i64 = -32011;

/// A request, with fields in the order the Go client sends them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Request {
    /// Always "2.0".
    pub jsonrpc: String,
    /// Request id (a JSON number; `null` is allowed by the spec).
    pub id: Value,
    /// Parameters; the Go client sends `null` when there are none.
    #[serde(default)]
    pub params: Value,
    /// Method name.
    pub method: String,
}

/// The error object of a failed call.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct RpcError {
    /// Numeric code.
    pub code: i64,
    /// Message.
    pub message: String,
    /// Extra detail: a string, or an object for `-32011`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl RpcError {
    /// An error without data.
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

    /// `message` or `message: data`, as the Go client prints it.
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
    /// Always "2.0".
    pub jsonrpc: String,
    /// The request's id (`null` if it could not be parsed).
    pub id: Value,
    /// The result on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// The error on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<RpcError>,
}

impl Response {
    /// A success.
    pub fn ok(id: Value, result: Value) -> Self {
        Response {
            jsonrpc: "2.0".into(),
            id,
            result: Some(result),
            error: None,
        }
    }

    /// A failure.
    pub fn err(id: Value, error: RpcError) -> Self {
        Response {
            jsonrpc: "2.0".into(),
            id,
            result: None,
            error: Some(error),
        }
    }
}
