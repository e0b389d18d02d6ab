//! The one trait every data source implements. A source only says which request to make and how
//! to read the answer; timeouts, size limits, status codes and key redaction live in
//! [`crate::http`], so each source module is a pure description of one API.

use crate::quote::{Quotes, SourceError};
use secrecy::{ExposeSecret, SecretString};

/// An HTTP GET to make.
#[derive(Clone)]
pub struct HttpRequest {
    /// The URL (it may already carry a query: [`HttpRequest::query`] is added to it).
    pub url: String,
    /// Query parameters, percent-encoded when the request is sent (they may hold the API key).
    pub query: Vec<(&'static str, String)>,
    /// Extra headers (an API key header, for example).
    pub headers: Vec<(&'static str, String)>,
    /// The API key, so that no error message can carry it.
    pub secret: Option<SecretString>,
}

impl HttpRequest {
    /// A GET of `url` needing no key.
    pub fn get(url: String) -> HttpRequest {
        HttpRequest {
            url,
            query: Vec::new(),
            headers: Vec::new(),
            secret: None,
        }
    }

    /// Adds `key=value` query parameters (encoded when sent, so any text is safe).
    pub fn query(mut self, pairs: &[(&'static str, &str)]) -> HttpRequest {
        self.query
            .extend(pairs.iter().map(|(k, v)| (*k, v.to_string())));
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: &'static str, value: &str) -> HttpRequest {
        self.headers.push((name, value.to_string()));
        self
    }

    /// Marks `key` as the request's secret, redacted from every error.
    pub fn secret(mut self, key: &SecretString) -> HttpRequest {
        self.secret = Some(key.clone());
        self
    }

    /// The secret, for redaction.
    pub fn exposed_secret(&self) -> Option<&str> {
        self.secret.as_ref().map(|s| s.expose_secret())
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
