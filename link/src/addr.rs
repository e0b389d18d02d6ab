//! A coordinator's address, read once.
//!
//! Operators write a coordinator three ways: `host:port` (plain WebSocket, for a trusted LAN),
//! `ws://host:port` or `wss://host:port` (TLS), the URLs with or without a path. Everything the
//! client does with an address needs one of three views of it:
//!
//! * the **URL to dial** ([`CoordinatorAddr::url`]): `host:port` becomes `ws://host:port/`;
//! * whether the link **is TLS** ([`CoordinatorAddr::is_tls`]): only `wss://`;
//! * the **`host:port` to probe** ([`CoordinatorAddr::probe_target`]) with a bare TCP connect,
//!   which is how failback checks that a preferred coordinator is back. A URL without a port
//!   uses the scheme's (80 for `ws://`, 443 for `wss://`).
//!
//! So an address is parsed once, where it enters (a flag, a config file), into a
//! [`CoordinatorAddr`]; a typo is an [`AddrError`] naming the text before anything connects,
//! and the views cannot disagree. `Display` shows the address as the operator wrote it, which is
//! what the logs and the refusals name.
//!
//! ```
//! use netmine_link::CoordinatorAddr;
//! let a: CoordinatorAddr = "coordinator.lan:1234".parse().unwrap();
//! assert_eq!(a.url(), "ws://coordinator.lan:1234/");
//! assert_eq!(a.probe_target(), "coordinator.lan:1234");
//! let b: CoordinatorAddr = "wss://pool.example/mine".parse().unwrap();
//! assert!(b.is_tls());
//! assert_eq!(b.probe_target(), "pool.example:443");
//! assert!("coordinator.lan".parse::<CoordinatorAddr>().is_err()); // no port
//! ```

use std::fmt;
use std::str::FromStr;
use url::Url;

/// A coordinator's address: see the [module](self) documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoordinatorAddr {
    /// As the operator wrote it (trimmed).
    text: String,
    /// The URL to dial (`ws://` or `wss://`).
    url: Url,
    /// `host:port` (IPv6 hosts in brackets).
    probe: String,
}

/// Why a text is not a coordinator address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not host:port or a ws:// / wss:// URL: {problem}")]
pub struct AddrError {
    /// The text given.
    pub text: String,
    /// What is wrong with it.
    pub problem: AddrProblem,
}

/// What is wrong with an address (see [`AddrError`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddrProblem {
    /// Nothing was given.
    #[error("it is empty")]
    Empty,
    /// A URL of another scheme (`http://`, say).
    #[error("the scheme {0:?} is not ws or wss")]
    Scheme(String),
    /// `host:port` without the port (a URL may leave it out: its scheme's is used).
    #[error("no port (host:port)")]
    NoPort,
    /// No host name or IP address.
    #[error("no host")]
    NoHost,
    /// The URL parser refused it (a bad port, a bad character in the host…).
    #[error("{0}")]
    Url(#[from] url::ParseError),
}

impl CoordinatorAddr {
    /// Parses `host:port`, `ws://host[:port][/path]` or `wss://host[:port][/path]`.
    pub fn parse(text: &str) -> Result<CoordinatorAddr, AddrError> {
        let text = text.trim();
        let err = |problem| AddrError {
            text: text.to_string(),
            problem,
        };
        if text.is_empty() {
            return Err(err(AddrProblem::Empty));
        }
        let bare = !text.contains("://");
        let url = if bare {
            Url::parse(&format!("ws://{text}"))
        } else {
            Url::parse(text)
        }
        .map_err(|e| err(e.into()))?;
        if !matches!(url.scheme(), "ws" | "wss") {
            return Err(err(AddrProblem::Scheme(url.scheme().to_string())));
        }
        let host = match url.host_str() {
            Some(h) if !h.is_empty() => h.to_string(),
            _ => return Err(err(AddrProblem::NoHost)),
        };
        // `host:port` has no scheme to take a default port from: the port is required.
        let port = if bare {
            url.port()
        } else {
            url.port_or_known_default()
        };
        let Some(port) = port else {
            return Err(err(AddrProblem::NoPort));
        };
        Ok(CoordinatorAddr {
            text: text.to_string(),
            probe: format!("{host}:{port}"),
            url,
        })
    }

    /// Parses every address of a list (preferred first), stopping at the first bad one.
    pub fn parse_all<S: AsRef<str>>(texts: &[S]) -> Result<Vec<CoordinatorAddr>, AddrError> {
        texts.iter().map(|t| Self::parse(t.as_ref())).collect()
    }

    /// The URL to dial (`ws://…` or `wss://…`).
    pub fn url(&self) -> &str {
        self.url.as_str()
    }

    /// Whether the link is TLS (`wss://`).
    pub fn is_tls(&self) -> bool {
        self.url.scheme() == "wss"
    }

    /// The `host:port` a bare TCP connect probes (IPv6 hosts in brackets).
    pub fn probe_target(&self) -> &str {
        &self.probe
    }

    /// The address as it was written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl FromStr for CoordinatorAddr {
    type Err = AddrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CoordinatorAddr::parse(s)
    }
}

impl fmt::Display for CoordinatorAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn views(text: &str) -> (String, bool, String, String) {
        let a = CoordinatorAddr::parse(text).unwrap();
        (
            a.url().to_string(),
            a.is_tls(),
            a.probe_target().to_string(),
            a.to_string(),
        )
    }

    #[test]
    fn every_written_form_gives_the_url_the_tls_flag_and_the_probe_target() {
        assert_eq!(
            views("coordinator.lan:1234"),
            (
                "ws://coordinator.lan:1234/".into(),
                false,
                "coordinator.lan:1234".into(),
                "coordinator.lan:1234".into()
            )
        );
        assert_eq!(
            views("ws://10.0.0.5:1234"),
            (
                "ws://10.0.0.5:1234/".into(),
                false,
                "10.0.0.5:1234".into(),
                "ws://10.0.0.5:1234".into()
            )
        );
        let (url, tls, probe, _) = views("wss://pool.example:8443/mine/v1");
        assert_eq!(url, "wss://pool.example:8443/mine/v1");
        assert!(tls);
        assert_eq!(probe, "pool.example:8443");
        // Bare `host:port` may carry a path too; spaces around are trimmed.
        let (url, _, probe, shown) = views("  127.0.0.1:9/ws ");
        assert_eq!(
            (url.as_str(), probe.as_str()),
            ("ws://127.0.0.1:9/ws", "127.0.0.1:9")
        );
        assert_eq!(shown, "127.0.0.1:9/ws");
        // IPv6 keeps its brackets, so the probe target connects as written.
        assert_eq!(views("[::1]:1234").2, "[::1]:1234");
        assert_eq!(views("wss://[::1]:1234/").2, "[::1]:1234");
    }

    #[test]
    fn a_url_without_a_port_probes_its_schemes_port() {
        assert_eq!(views("wss://pool.example").2, "pool.example:443");
        assert_eq!(views("ws://pool.example/x").2, "pool.example:80");
    }

    #[test]
    fn bad_forms_are_refused_with_what_is_wrong() {
        let problem = |t: &str| CoordinatorAddr::parse(t).unwrap_err().problem;
        assert_eq!(problem(""), AddrProblem::Empty);
        assert_eq!(problem("   "), AddrProblem::Empty);
        assert_eq!(problem("nohost"), AddrProblem::NoPort);
        assert_eq!(problem("coordinator.lan"), AddrProblem::NoPort);
        assert_eq!(problem("http://x:1"), AddrProblem::Scheme("http".into()));
        assert_eq!(problem("https://x:1"), AddrProblem::Scheme("https".into()));
        assert!(matches!(problem("host:99999"), AddrProblem::Url(_)));
        assert!(matches!(problem("host:port"), AddrProblem::Url(_)));
        assert!(matches!(
            problem("ws://:1234"),
            AddrProblem::Url(_) | AddrProblem::NoHost
        ));
        assert!(matches!(
            problem("wss://"),
            AddrProblem::Url(_) | AddrProblem::NoHost
        ));
        let e = CoordinatorAddr::parse("nohost").unwrap_err().to_string();
        assert!(
            e.contains("\"nohost\"") && e.contains("not host:port or a ws:// / wss:// URL"),
            "{e}"
        );
    }

    #[test]
    fn a_list_is_parsed_in_order_and_the_first_bad_one_is_named() {
        let all = CoordinatorAddr::parse_all(&["a:1", "wss://b:2"]).unwrap();
        assert_eq!(all.len(), 2);
        assert!(!all[0].is_tls() && all[1].is_tls());
        let e = CoordinatorAddr::parse_all(&["a:1", "b", "c"]).unwrap_err();
        assert_eq!(e.text, "b");
    }
}
