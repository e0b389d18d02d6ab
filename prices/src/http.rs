//! Running a source's [`HttpRequest`]: one shared rustls client, a timeout per request, a cap on
//! the body, and errors that name what happened without the URL (which may hold the key).

use crate::quote::SourceError;
use crate::source::HttpRequest;
use std::time::Duration;

/// No real answer comes near this (alternative.me's 300-coin listing is ~300 KB).
pub const MAX_BODY: usize = 8 << 20;

/// Builds the client every source shares.
pub fn client() -> Result<reqwest::Client, SourceError> {
    reqwest::Client::builder()
        .user_agent(concat!("netmine/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| SourceError::Connect(e.without_url().to_string()))
}

/// GETs `req` within `timeout` and returns the body of a 2xx answer.
pub async fn get(
    client: &reqwest::Client,
    req: &HttpRequest,
    timeout: Duration,
) -> Result<Vec<u8>, SourceError> {
    let secret = req.exposed_secret();
    // One deadline covers connecting, the headers and the whole body: a server that trickles
    // bytes cannot hold a poll longer than the timeout.
    match tokio::time::timeout(timeout, get_inner(client, req)).await {
        Ok(r) => r.map_err(|e| e.redact(secret)),
        Err(_) => Err(SourceError::Timeout(timeout)),
    }
}

async fn get_inner(client: &reqwest::Client, req: &HttpRequest) -> Result<Vec<u8>, SourceError> {
    let mut builder = client.get(&req.url).query(&req.query);
    for (k, v) in &req.headers {
        builder = builder.header(*k, v);
    }
    let mut resp = builder.send().await.map_err(transport)?;
    let status = resp.status();
    if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
        return Err(SourceError::TooLarge(MAX_BODY));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(transport)? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(SourceError::TooLarge(MAX_BODY));
        }
        body.extend_from_slice(&chunk);
    }
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        return Err(SourceError::RateLimited);
    }
    if !status.is_success() {
        return Err(SourceError::Status {
            status: status.as_u16(),
            detail: short_text(&body),
        });
    }
    Ok(body)
}

fn transport(e: reqwest::Error) -> SourceError {
    SourceError::Connect(e.without_url().to_string())
}

/// The body as one line of text, when it is short printable text (an API's error message).
fn short_text(body: &[u8]) -> String {
    match std::str::from_utf8(body) {
        Ok(t) if !t.is_empty() && t.len() <= 200 && !t.contains(['\u{0}']) => {
            t.split_whitespace().collect::<Vec<_>>().join(" ")
        }
        _ => String::new(),
    }
}
