//! The coordinator's configuration: a TOML file (every key documented in
//! `config/netcoordinator.toml`), overridden by command-line flags. The EC secret is never a flag
//! (`ps` would show it): it comes from the file, the `NETMINE_EC_SECRET` environment variable, or
//! factom-walletd.

use anyhow::{bail, Context, Result};
use prices::config::Plan;
use prices::PricesConfig;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Every option, with its default. Serializing it (`check-config`) writes every secret as
/// `"***"`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CoordinatorConfig {
    /// Listen address for miners (`:1234` means every interface, port 1234).
    pub caddr: String,
    /// factomd's JSON-RPC address: `host:port` or an `http(s)://` URL (`/v2` is added).
    pub factomd: String,
    /// Network: mainnet, testnet or devnet.
    pub network: pegnet::Network,
    /// The farm's shared secret (also `NETMINE_SECRET`); no `Debug` shows it.
    #[serde(serialize_with = "redacted")]
    pub secret: Option<SecretString>,
    /// Turn miner authentication off (only on a loopback `caddr`; logged as a warning).
    pub no_auth: bool,
    /// TLS (`wss://`) for the miners, with a self-signed certificate generated once into the
    /// data dir (unless `tls_cert` and `tls_key` are given).
    pub tls: bool,
    /// The operator's own certificate (chain), PEM; with `tls_key` it turns TLS on.
    pub tls_cert: Option<PathBuf>,
    /// The private key of `tls_cert`, PEM.
    pub tls_key: Option<PathBuf>,
    /// EC secret key `Es…` paying for entries (also `NETMINE_EC_SECRET`); no `Debug` shows it.
    #[serde(serialize_with = "redacted")]
    pub ec_secret: Option<SecretString>,
    /// EC address whose secret is fetched from factom-walletd (with `walletd`).
    pub ec_address: Option<String>,
    /// factom-walletd's address (`host:port` or URL), asked for the secret of `ec_address` when
    /// no EC secret is given directly.
    pub walletd: Option<String>,
    /// Price sources (`[prices]`, see the `prices` crate).
    pub prices: PricesConfig,
    /// Directory of the store and state.
    pub data_dir: Option<PathBuf>,
    /// LXRHash table size (30 on the real networks).
    pub bits: Option<u32>,
    /// LXRHash table cache directory.
    pub table_dir: Option<PathBuf>,
    /// Entries paid per block at most.
    pub max_entries: usize,
    /// Of those, at most this many paying any one coinbase (payout address), so one big
    /// coinbase cannot crowd out the others on a shared farm. `None`: no limit.
    pub max_entries_per_coinbase: Option<usize>,
    /// Records each miner may submit per block.
    pub records_per_miner: usize,
    /// Authenticated miners connected at once.
    pub max_connections: usize,
    /// Handshakes in progress (sockets not yet upgraded and authenticated) at once; when full,
    /// the oldest of the address holding the most is dropped.
    pub max_pending: usize,
    /// Handshakes in progress from one address at once; more sockets are closed at once.
    pub max_pending_per_address: usize,
    /// Seconds a socket has to upgrade to WebSocket and authenticate.
    pub handshake_timeout_secs: f64,
    /// Failed handshakes (wrong secret, timeout, malformed) from one address before it is banned.
    pub ban_after: u32,
    /// Seconds a ban lasts (failures older than this are forgotten).
    pub ban_secs: f64,
    /// PegNet's submission cut-off for the difficulty floor (0 disables the floor).
    pub cutoff: usize,
    /// The winner list in force for the block before the first one planned (16-hex-digit short
    /// hashes), used when the store has no history instead of recovering it from the records.
    pub previous_winners: Option<Vec<String>>,
    /// Seconds after minute 9 to collect submissions before paying. `None`: a third of factomd's
    /// minute, at most 20 s (see `engine::fit_submit_window`).
    pub submit_window_secs: Option<f64>,
    /// The operators' HTTP API, metrics and dashboard: `HOST:PORT`, `:PORT` (every interface) or
    /// `off`. Beyond loopback it needs `http_token`.
    pub http: String,
    /// The token every HTTP request must carry when `http` is not loopback (also
    /// `NETMINE_HTTP_TOKEN`); at least 16 characters; no `Debug` shows it.
    #[serde(serialize_with = "redacted")]
    pub http_token: Option<SecretString>,
    /// Days of per-block history kept in the store (0: forever).
    pub history_days: u32,
    /// Seconds between the stats lines in the log (also written at shutdown).
    pub stats_interval_secs: f64,
    /// Copies of the LXRHash table served to miners at once (0: never serve it).
    pub max_table_transfers: usize,
    /// Identities (`netcoordinator relay --name`) allowed to relay other miners' records here.
    pub relays: Vec<String>,
    /// The secret those relays authenticate with instead of the farm secret (also
    /// `NETMINE_RELAY_SECRET`), so that a mining box cannot pass for a relay; no `Debug` shows it.
    #[serde(serialize_with = "redacted")]
    pub relay_secret: Option<SecretString>,
    /// `netcoordinator relay` only: the upstream coordinator(s), preferred first.
    pub upstream: Vec<String>,
    /// `netcoordinator relay` only: the upstream's farm secret (also `NETMINE_UPSTREAM_SECRET`);
    /// no `Debug` shows it.
    #[serde(serialize_with = "redacted")]
    pub upstream_secret: Option<SecretString>,
    /// `netcoordinator relay` only: the relay's name, its identity at the upstream.
    pub relay_name: Option<String>,
    /// `netcoordinator relay` only: pinned certificates of a `wss://` upstream (`sha256:<hex>`).
    pub upstream_tls_fingerprint: Vec<String>,
}

impl Default for CoordinatorConfig {
    fn default() -> Self {
        CoordinatorConfig {
            caddr: ":1234".into(),
            factomd: "localhost:8088".into(),
            network: pegnet::Network::MainNet,
            secret: None,
            no_auth: false,
            tls: false,
            tls_cert: None,
            tls_key: None,
            ec_secret: None,
            ec_address: None,
            walletd: None,
            prices: PricesConfig::default(),
            data_dir: None,
            bits: None,
            table_dir: None,
            max_entries: 10,
            max_entries_per_coinbase: None,
            records_per_miner: 3,
            max_connections: 256,
            max_pending: 256,
            max_pending_per_address: 16,
            handshake_timeout_secs: 5.0,
            ban_after: 5,
            ban_secs: 600.0,
            cutoff: 200,
            submit_window_secs: None,
            previous_winners: None,
            http: crate::http::DEFAULT_ADDR.into(),
            http_token: None,
            history_days: 30,
            stats_interval_secs: 900.0,
            max_table_transfers: 2,
            relays: Vec::new(),
            relay_secret: None,
            upstream: Vec::new(),
            upstream_secret: None,
            relay_name: None,
            upstream_tls_fingerprint: Vec::new(),
        }
    }
}

impl CoordinatorConfig {
    /// Reads a config file.
    pub fn load(path: &Path) -> Result<CoordinatorConfig> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let mut c: CoordinatorConfig = toml::from_str(&text)
            .with_context(|| format!("{} is not a valid coordinator config", path.display()))?;
        if let Some(dir) = path.parent() {
            c.prices.resolve_files(dir);
            for f in [&mut c.tls_cert, &mut c.tls_key].into_iter().flatten() {
                if f.is_relative() {
                    *f = dir.join(&*f);
                }
            }
        }
        Ok(c)
    }

    /// The listener's limits (everything but the secret, which the caller sets).
    pub fn server_limits(&self) -> crate::server::ServerConfig {
        let secs = |s: f64| std::time::Duration::from_secs_f64(s.clamp(0.001, 86_400.0));
        crate::server::ServerConfig {
            secret: None,
            max_connections: self.max_connections,
            max_pending: self.max_pending,
            max_pending_per_ip: self.max_pending_per_address,
            auth_timeout: secs(self.handshake_timeout_secs),
            ban_after: self.ban_after,
            ban_for: secs(self.ban_secs),
            records_per_miner: self.records_per_miner,
            max_table_transfers: self.max_table_transfers,
            relays: self.relays.clone(),
            ..crate::server::ServerConfig::default()
        }
    }

    /// The data dir: `data_dir`, else `~/.netmine`.
    pub fn data_dir(&self) -> Result<PathBuf> {
        self.data_dir
            .clone()
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".netmine")))
            .context("no data_dir and no HOME")
    }

    /// The listen address as a socket address (`:1234` → `0.0.0.0:1234`).
    pub fn listen_addr(&self) -> Result<std::net::SocketAddr> {
        let a = if self.caddr.starts_with(':') {
            format!("0.0.0.0{}", self.caddr)
        } else {
            self.caddr.clone()
        };
        a.parse()
            .with_context(|| format!("caddr {:?} is not HOST:PORT or :PORT", self.caddr))
    }

    /// The listener's TLS, if on: the operator's certificate, or the data dir's self-signed one
    /// (generated on first use).
    pub fn server_tls(&self, data_dir: &Path) -> Result<Option<crate::tls::ServerTls>> {
        use crate::tls::ServerTls;
        Ok(match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(ServerTls::from_pem_files(cert, key)?),
            (None, None) if self.tls => Some(ServerTls::self_signed(data_dir)?),
            (None, None) => None,
            _ => bail!(crate::tls::TlsError::Half),
        })
    }

    /// Checks what can be checked before starting, and returns the checked price plan (building
    /// it reads the price file, so the daemon uses this one instead of building another). The
    /// error lists every problem found, one per line.
    pub fn validate(&self) -> Result<Plan> {
        let (problems, plan) = self.problems();
        match plan {
            Some(plan) if problems.is_empty() => Ok(plan),
            _ => bail!("{}", problems.join("\n")),
        }
    }

    /// Every problem of this config (empty when it can start), and the price plan when the
    /// `[prices]` section is sound.
    pub fn problems(&self) -> (Vec<String>, Option<Plan>) {
        let mut problems = Vec::new();
        if let Err(e) = self.listen_addr() {
            problems.push(format!("{e:#}"));
        }
        if self
            .secret
            .as_ref()
            .is_none_or(|s| s.expose_secret().is_empty())
            && !self.no_auth
        {
            problems.push("no shared secret: set `secret` in the config, NETMINE_SECRET or --secret (or --no-auth to run without authentication)".into());
        }
        if self.no_auth {
            if let Ok(listen) = self.listen_addr() {
                if !listen.ip().is_loopback() {
                    problems.push(format!("--no-auth (no_auth) is refused on {listen}: without authentication anyone who reaches the port could mine and submit; it is allowed only on a loopback address (127.0.0.1 or ::1)"));
                }
            }
        } else if let Some(s) = &self.secret {
            if let Err(e) = protocol::Secret::checked(s.expose_secret()) {
                problems.push(e.to_string());
            }
        }
        if let Some(s) = &self.relay_secret {
            if let Err(e) = protocol::Secret::checked(s.expose_secret()) {
                problems.push(format!("relay_secret: {e}"));
            }
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            problems.push(crate::tls::TlsError::Half.to_string());
        }
        if self.max_entries == 0
            || self.records_per_miner == 0
            || self.max_connections == 0
            || self.max_pending == 0
            || self.max_pending_per_address == 0
            || self.ban_after == 0
        {
            problems.push("max_entries, records_per_miner, max_connections, max_pending, max_pending_per_address and ban_after must be at least 1".into());
        }
        if self.max_entries_per_coinbase == Some(0) {
            problems.push("max_entries_per_coinbase must be at least 1 (leave it unset for no limit): 0 would pay no one".into());
        }
        for (key, secs) in [
            ("handshake_timeout_secs", self.handshake_timeout_secs),
            ("ban_secs", self.ban_secs),
        ] {
            if !(secs.is_finite() && secs > 0.0 && secs <= 86_400.0) {
                problems.push(format!(
                    "{key} must be a number of seconds above 0 (at most a day)"
                ));
            }
        }
        match crate::http::parse_addr(&self.http) {
            Ok(Some(addr)) => {
                if let Err(e) = crate::http::check(addr, self.http_token.as_ref()) {
                    problems.push(e.to_string());
                }
            }
            Ok(None) => {}
            Err(e) => problems.push(e.to_string()),
        }
        if !(self.stats_interval_secs.is_finite() && self.stats_interval_secs >= 1.0) {
            problems.push("stats_interval_secs must be a number of seconds >= 1".into());
        }
        if self
            .submit_window_secs
            .is_some_and(|w| !(w.is_finite() && (0.0..=3600.0).contains(&w)))
        {
            problems.push("submit_window_secs must be a number of seconds >= 0".into());
        }
        if let Some(w) = &self.previous_winners {
            if !(pegnet::validate::winners_format_ok(w, 25)
                || pegnet::validate::winners_format_ok(w, 10))
            {
                problems.push("previous_winners must be 25 (or, in OPR version 2, 10) 16-hex-digit short hashes, or all empty".into());
            }
        }
        if let Some(Err(e)) = self
            .ec_secret
            .as_ref()
            .map(|s| s.expose_secret().parse::<factom::EcSecret>())
        {
            problems.push(format!("ec_secret: {e}"));
        }
        let plan = match self.prices.plan(self.network) {
            Ok(p) => Some(p),
            Err(e) => {
                problems.push(e.to_string());
                None
            }
        };
        (problems, plan)
    }

    /// The effective settings as TOML, every secret written as `"***"` (what `check-config`
    /// prints).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self)
            .unwrap_or_else(|e| format!("# the settings cannot be written as TOML: {e}\n"))
    }
}

/// Serializes a secret as `"***"` (and an absent one as nothing), so no output shows it.
fn redacted<S: serde::Serializer>(v: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(_) => s.serialize_some("***"),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_listed_and_secrets_are_never_printed() {
        let text = r#"
            caddr = "nowhere"
            secret = "the-farm-secret-value"
            ec_secret = "Es2XT3jSxi1xqrDvS5JERM3W3jh1awRHuyoahn3hbQLyfEi1jvbX"
            max_entries = 0
            network = "devnet"
            previous_winners = ["x"]
            [prices]
            sources = { NoSuchSource = 1 }
        "#;
        let c: CoordinatorConfig = toml::from_str(text).unwrap();
        let (problems, plan) = c.problems();
        assert!(plan.is_none());
        let all = problems.join("\n");
        for want in [
            "caddr",
            "max_entries",
            "previous_winners",
            "ec_secret",
            "NoSuchSource",
        ] {
            assert!(all.contains(want), "{want} missing from {all}");
        }
        assert!(!all.contains("the-farm-secret-value"), "{all}");
        assert!(!all.contains("Es2XT3jSxi1"), "{all}");
        assert_eq!(problems.len(), 5, "{all}");
        let err = c.validate().unwrap_err().to_string();
        assert_eq!(err.lines().count(), problems.len());
        let shown = c.to_toml();
        assert!(shown.contains("secret = \"***\""), "{shown}");
        assert!(shown.contains("ec_secret = \"***\""), "{shown}");
        assert!(!shown.contains("the-farm-secret-value") && !shown.contains("Es2XT3"));
        assert!(shown.contains("max_entries = 0"), "{shown}");
        // What it prints reads back as the same config.
        let again: CoordinatorConfig = toml::from_str(&shown).unwrap();
        assert_eq!(again.max_entries, 0);
        assert_eq!(again.caddr, "nowhere");
    }

    #[test]
    fn a_pinned_winner_list_must_be_25_or_10_short_hashes() {
        let base = || CoordinatorConfig {
            secret: Some("0123456789abcdef0123".to_string().into()),
            prices: PricesConfig::fixed_only(
                concat!(env!("CARGO_MANIFEST_DIR"), "/../config/devnet-prices.toml").into(),
            ),
            network: pegnet::Network::DevNet,
            ..CoordinatorConfig::default()
        };
        let with = |w: Vec<String>| CoordinatorConfig {
            previous_winners: Some(w),
            ..base()
        };
        assert!(base().validate().is_ok());
        assert!(with(vec!["0aa7da814df36be1".into(); 25]).validate().is_ok());
        assert!(
            with(vec![String::new(); 25]).validate().is_ok(),
            "all empty"
        );
        assert!(with(vec!["0aa7da814df36be1".into(); 10]).validate().is_ok());
        for bad in [
            vec!["0aa7da814df36be1".to_string(); 24],
            vec!["not hex".to_string(); 25],
            vec!["0aa7da814df36be".to_string(); 25],
        ] {
            let e = with(bad).validate().unwrap_err().to_string();
            assert!(e.contains("previous_winners must be 25"), "{e}");
        }
    }

    #[test]
    fn the_documented_example_parses_and_defaults_apply() {
        let text = include_str!("../../config/netcoordinator.toml");
        let c: CoordinatorConfig = toml::from_str(text).unwrap();
        assert_eq!(c.caddr, ":1234");
        assert_eq!(c.listen_addr().unwrap().port(), 1234);
        let d: CoordinatorConfig = toml::from_str("").unwrap();
        assert_eq!(d.max_entries, 10);
        assert!(toml::from_str::<CoordinatorConfig>("no_such_key = 1").is_err());
        assert!(d
            .validate()
            .unwrap_err()
            .to_string()
            .contains("no shared secret"));
        let short = CoordinatorConfig {
            secret: Some(SecretString::from("farmsecret")),
            ..d.clone()
        };
        let e = short.validate().unwrap_err().to_string();
        assert!(e.contains("at least 16"), "{e}");
        assert!(!e.contains("farmsecret"), "{e}");
        let bad = CoordinatorConfig {
            secret: Some(SecretString::from(protocol::Secret::generate_text())),
            caddr: "nowhere".into(),
            ..d
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn http_beyond_loopback_needs_a_token_that_is_never_shown() {
        let base = CoordinatorConfig {
            secret: Some(SecretString::from(protocol::Secret::generate_text())),
            ..CoordinatorConfig::default()
        };
        let (p, _) = base.problems();
        assert!(!p.iter().any(|p| p.contains("http")), "{p:?}");
        let open = CoordinatorConfig {
            http: ":7780".into(),
            ..base.clone()
        };
        let (p, _) = open.problems();
        assert!(
            p.iter()
                .any(|p| p.contains("set a token (--http-token, http_token")),
            "{p:?}"
        );
        let tokened = CoordinatorConfig {
            http_token: Some(SecretString::from("dashboard-token-0123456789")),
            ..open
        };
        let (p, _) = tokened.problems();
        assert!(!p.iter().any(|p| p.contains("http")), "{p:?}");
        let shown = tokened.to_toml();
        assert!(shown.contains("http_token = \"***\""), "{shown}");
        assert!(!shown.contains("dashboard-token"), "{shown}");
        assert!(!format!("{tokened:?}").contains("dashboard-token"));
        let bad = CoordinatorConfig {
            http: "web".into(),
            stats_interval_secs: 0.0,
            ..base
        };
        let (p, _) = bad.problems();
        assert!(
            p.iter().any(|p| p.contains("\"web\" is not IP:PORT")),
            "{p:?}"
        );
        assert!(p.iter().any(|p| p.contains("stats_interval_secs")), "{p:?}");
    }

    #[test]
    fn the_documented_price_section_needs_only_a_key() {
        let text = include_str!("../../config/netcoordinator.toml");
        let c = CoordinatorConfig {
            secret: Some(SecretString::from("sixteen-chars-ok")),
            ..toml::from_str(text).unwrap()
        };
        let e = c.validate().unwrap_err().to_string();
        assert!(
            e.contains("OpenExchangeRates is enabled (priority 9) but has no key"),
            "{e}"
        );
        let keyed = text.replace(
            "# OpenExchangeRates = { priority = 9, key = \"your app id\", refresh_secs = 3600.0 }",
            "OpenExchangeRates = { priority = 9, key = \"your app id\", refresh_secs = 3600.0 }",
        );
        let c: CoordinatorConfig = toml::from_str(&keyed).unwrap();
        let plan = c.prices.plan(pegnet::Network::MainNet).unwrap();
        assert_eq!(plan.sources.len(), 5);
        assert_eq!(c.prices.breaker.failure_threshold, 3);
        // Every commented-out source line is valid once uncommented (keys filled in).
        let all = keyed
            .lines()
            .map(|l| {
                l.strip_prefix("# ")
                    .filter(|r| r.contains("priority =") || r.starts_with("Coin"))
                    .unwrap_or(l)
            })
            .collect::<Vec<_>>()
            .join("\n")
            .replace(
                "/etc/netmine/prices.toml",
                concat!(env!("CARGO_MANIFEST_DIR"), "/../config/devnet-prices.toml"),
            );
        let c: CoordinatorConfig = toml::from_str(&all).unwrap();
        assert_eq!(
            c.prices
                .plan(pegnet::Network::MainNet)
                .unwrap()
                .sources
                .len(),
            11
        );
    }

    #[test]
    fn max_entries_per_coinbase_is_unset_by_default_read_from_the_file_and_never_0() {
        let ok = |text: &str| CoordinatorConfig {
            secret: Some(SecretString::from("sixteen-chars-ok")),
            network: pegnet::Network::DevNet,
            ..toml::from_str(text).unwrap()
        };
        assert_eq!(ok("").max_entries_per_coinbase, None);
        let capped = ok("max_entries_per_coinbase = 2");
        assert_eq!(capped.max_entries_per_coinbase, Some(2));
        assert!(capped.validate().is_ok());
        assert!(capped.to_toml().contains("max_entries_per_coinbase = 2"));
        let zero = ok("max_entries_per_coinbase = 0");
        let (problems, _) = zero.problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("max_entries_per_coinbase"),
            "{problems:?}"
        );
        assert!(toml::from_str::<CoordinatorConfig>("max_entries_per_coinbase = -1").is_err());
    }

    #[test]
    fn no_auth_is_refused_unless_the_listen_address_is_loopback() {
        for caddr in [":1234", "0.0.0.0:1234", "192.168.1.5:1234", "[::]:1234"] {
            let c = CoordinatorConfig {
                no_auth: true,
                caddr: caddr.into(),
                ..CoordinatorConfig::default()
            };
            let e = c.validate().unwrap_err().to_string();
            assert!(
                e.contains("--no-auth") && e.contains("loopback"),
                "{caddr}: {e}"
            );
        }
        for caddr in ["127.0.0.1:1234", "[::1]:1234"] {
            let c = CoordinatorConfig {
                no_auth: true,
                caddr: caddr.into(),
                network: pegnet::Network::DevNet,
                ..CoordinatorConfig::default()
            };
            assert!(c.validate().is_ok(), "{caddr}");
        }
    }

    #[test]
    fn debug_never_shows_the_secrets() {
        let secret = "farm-shared-secret-4711";
        let ec = "Es2Rf7iM6PdsqfYCo3D1tnAR65SkLENyWJG1deUzpRMQmbh9F3eG";
        let text = format!("secret = \"{secret}\"\nec_secret = \"{ec}\"\n");
        let c: CoordinatorConfig = toml::from_str(&text).unwrap();
        // The values are read as given...
        assert_eq!(c.secret.as_ref().unwrap().expose_secret(), secret);
        assert_eq!(c.ec_secret.as_ref().unwrap().expose_secret(), ec);
        // ...but no Debug of the config (or a clone) prints them.
        for shown in [
            format!("{c:?}"),
            format!("{c:#?}"),
            format!("{:?}", c.clone()),
        ] {
            assert!(!shown.contains(secret), "{shown}");
            assert!(!shown.contains(ec), "{shown}");
            assert!(!shown.contains("Es2Rf7"), "{shown}");
        }
        assert!(format!("{c:?}").contains("secret: Some("));
    }
}
