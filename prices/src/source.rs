//! The one trait every data source implements. A source only says which request to make and how
//! to read the answer; timeouts, size limits, status codes and key redaction live in
//! [`crate::http`], so each source module is a pure description of one API.

use crate::quote::{Quotes, SourceError};

/// An HTTP GET to make.
#[derive(Clone, PartialEq)]
pub struct HttpRequest {
    /// The full URL, query included (it may contain the API key).
    pub url: String,
    /// Extra headers (an API key header, for example).
    pub headers: Vec<(&'static str, String)>,
    /// The API key, so that no error message can carry it.
    pub secret: Option<String>,
}

impl HttpRequest {
    /// A GET of `url` needing no key.
    pub fn get(url: String) -> HttpRequest {
        HttpRequest {
            url,
            headers: Vec::new(),
            secret: None,
        }
    }
}

impl std::fmt::Debug for HttpRequest {
    // The URL and headers may hold the key: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HttpRequest { .. }")
    }
}

/// How a source gets its quotes this time.
#[derive(Debug)]
pub enum Fetch {
    /// Ask an API, then [`PriceSource::parse`] the body.
    Http(HttpRequest),
    /// The quotes are at hand (a constant or a local file).
    Local(Result<Quotes, SourceError>),
}

/// A price data source.
pub trait PriceSource: Send + Sync {
    /// The name in the config (`[prices.sources.NAME]`) and in reports.
    fn name(&self) -> &'static str;

    /// Whether the source can price `asset` (PegNet's ticker).
    fn supports(&self, asset: &str) -> bool;

    /// What to do to get `assets`, all of which it supports.
    fn fetch(&self, assets: &[&str]) -> Fetch;

    /// Reads an answer to [`Fetch::Http`]. Assets the answer lacks are simply absent.
    fn parse(&self, body: &[u8]) -> Result<Quotes, SourceError> {
        let _ = body;
        Err(SourceError::Malformed(format!(
            "{} does not use HTTP",
            self.name()
        )))
    }
}

/// Adds `key=value` pairs to `url`.
pub fn with_query(url: &str, pairs: &[(&str, &str)]) -> String {
    let mut u = url.to_string();
    for (i, (k, v)) in pairs.iter().enumerate() {
        u.push(if i == 0 && !url.contains('?') {
            '?'
        } else {
            '&'
        });
        u.push_str(k);
        u.push('=');
        u.push_str(v);
    }
    u
}
