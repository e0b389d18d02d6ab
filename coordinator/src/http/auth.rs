//! The HTTP token. With a token configured every request must carry it in its `Authorization`
//! header, either way:
//!
//! * `Authorization: Bearer <token>`: scripts, `curl`, Prometheus (`authorization` in its scrape
//!   config), `netcoordinator status --token`;
//! * HTTP Basic with the token as the password (any user name): browsers. A request without the
//!   token is answered `401` with `WWW-Authenticate: Basic`, so a browser asks for it once and then
//!   sends it with the dashboard's own requests.
//!
//! The token is compared through SHA-256 digests, so the comparison's timing says nothing about
//! the token, and it is never logged.
//!
//! Without a token (a loopback address) a request must name a loopback host (`127.0.0.1`,
//! `localhost`, `[::1]`) in its `Host` header: a web page the operator visits cannot point its
//! own domain at 127.0.0.1 (DNS rebinding) and read the API from the browser.

use super::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// The shortest token accepted.
pub const MIN_TOKEN_LEN: usize = 16;

/// A configured token, kept as its digest.
pub struct Token([u8; 32]);

impl Token {
    /// The token `t`.
    pub fn new(t: &SecretString) -> Token {
        Token(Sha256::digest(t.expose_secret().as_bytes()).into())
    }

    /// Whether `candidate` is the token (timing independent of where they differ).
    fn matches(&self, candidate: &[u8]) -> bool {
        let d: [u8; 32] = Sha256::digest(candidate).into();
        d.iter()
            .zip(self.0.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }

    /// Whether the request's headers carry the token as a Bearer header (what a change needs:
    /// a browser sends a remembered Basic password with any page's request by itself).
    pub fn allows_bearer(&self, headers: &HeaderMap) -> bool {
        authorization(headers).is_some_and(|(scheme, rest)| {
            scheme.eq_ignore_ascii_case("bearer") && self.matches(rest.as_bytes())
        })
    }

    /// Whether the request's headers carry the token (Bearer or Basic password).
    pub fn allows(&self, headers: &HeaderMap) -> bool {
        let Some((scheme, rest)) = authorization(headers) else {
            return false;
        };
        if scheme.eq_ignore_ascii_case("bearer") {
            return self.matches(rest.as_bytes());
        }
        if scheme.eq_ignore_ascii_case("basic") {
            let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(rest) else {
                return false;
            };
            let password = match decoded.iter().position(|&b| b == b':') {
                Some(k) => &decoded[k + 1..],
                None => &decoded[..],
            };
            return self.matches(password);
        }
        false
    }
}

/// The `Authorization` header split into its scheme and its credentials, both trimmed (`None`
/// without a readable header).
fn authorization(headers: &HeaderMap) -> Option<(&str, &str)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value, ""));
    Some((scheme, rest.trim()))
}

/// Whether the request's `Host` names this machine's loopback (any port).
fn loopback_host(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The middleware: passes requests that carry the token, or without a token those for a
/// loopback host; a change (any method but GET and HEAD) needs the token as a Bearer header,
/// even on loopback.
pub(super) async fn require_token(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let reads = matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD
    );
    if !reads {
        return match &state.token {
            None => (
                StatusCode::FORBIDDEN,
                "changes over HTTP need http_token (NETMINE_HTTP_TOKEN), sent as Authorization: Bearer <token>\n",
            )
                .into_response(),
            Some(t) if !t.allows_bearer(req.headers()) => (
                StatusCode::UNAUTHORIZED,
                "a change needs the token as Authorization: Bearer <token> (a Basic login is not enough)\n",
            )
                .into_response(),
            Some(_) => next.run(req).await,
        };
    }
    if state.token.is_none() && !loopback_host(req.headers()) {
        return (
            StatusCode::FORBIDDEN,
            "without http_token this API answers only requests for 127.0.0.1, localhost or [::1]\n",
        )
            .into_response();
    }
    match &state.token {
        Some(t) if !t.allows(req.headers()) => {
            let mut r = (
                StatusCode::UNAUTHORIZED,
                "this coordinator's HTTP API needs its token: Authorization: Bearer <token>\n",
            )
                .into_response();
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"netcoordinator\", charset=\"UTF-8\""),
            );
            r
        }
        _ => next.run(req).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn only_loopback_hosts_pass_without_a_token() {
        let host = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::HOST, HeaderValue::from_str(v).unwrap());
            loopback_host(&h)
        };
        for ok in [
            "127.0.0.1:7780",
            "localhost:7780",
            "LOCALHOST",
            "[::1]:7780",
            "127.0.0.2",
        ] {
            assert!(host(ok), "{ok}");
        }
        for no in [
            "evil.example:7780",
            "10.0.0.5:7780",
            "[::2]:80",
            "127.0.0.1.evil.example",
        ] {
            assert!(!host(no), "{no}");
        }
        assert!(!loopback_host(&HeaderMap::new()));
    }

    #[test]
    fn bearer_and_basic_carry_the_token_and_nothing_else_does() {
        let t = Token::new(&SecretString::from("the-dashboard-token"));
        assert!(t.allows(&headers("Bearer the-dashboard-token")));
        assert!(t.allows(&headers("bearer  the-dashboard-token ")));
        let basic = base64::engine::general_purpose::STANDARD.encode("admin:the-dashboard-token");
        assert!(t.allows(&headers(&format!("Basic {basic}"))));
        let wrong = base64::engine::general_purpose::STANDARD.encode("admin:other");
        assert!(!t.allows(&headers(&format!("Basic {wrong}"))));
        assert!(!t.allows(&headers("Basic %%%")));
        assert!(!t.allows(&headers("Bearer the-dashboard-tokeN")));
        assert!(!t.allows(&headers("Bearer")));
        assert!(!t.allows(&headers("Token the-dashboard-token")));
        assert!(!t.allows(&HeaderMap::new()));
    }
}
