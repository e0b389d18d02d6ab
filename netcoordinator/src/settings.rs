//! The settings of the daemon and the relay, resolved once: defaults < the config file < the
//! environment < these flags (see `coordinator::config` for the layers and the checks).
//!
//! Every flag is named like the config key it sets (`--max-pending-per-address` sets
//! `max_pending_per_address`), so there is one name per setting; a unit test holds the flags and
//! the keys together. Starting the program and `check-config` both go through [`resolve`] and
//! [`CoordinatorConfig::problems`], so they can never disagree.

use anyhow::Result;
use coordinator::config::{CoordinatorConfig, Environment, Role};
use secrecy::SecretString;
use std::path::{Path, PathBuf};

/// The miners' side, shared by the daemon and the relay.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ListenerFlags {
    /// TOML config (see config/netcoordinator.toml); these flags override its keys.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Listen address for miners (`:1234` = every interface).
    #[arg(long, value_name = "ADDR")]
    pub caddr: Option<String>,
    /// The miners' shared secret. Prefer NETMINE_SECRET or the config file: a flag shows in
    /// the process list.
    #[arg(long, value_name = "SECRET")]
    pub secret: Option<SecretString>,
    /// Run without miner authentication (only on a loopback --caddr; logged as a warning).
    #[arg(long)]
    pub no_auth: bool,
    /// Serve miners over TLS (wss://) with a self-signed certificate generated once into the
    /// data dir; its fingerprint is logged (and printed by `tls-fingerprint`).
    #[arg(long)]
    pub tls: bool,
    /// TLS with your own certificate (chain), PEM (with --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert, PEM.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Store directory (default ~/.netmine).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// LXRHash table size in bits (default: LXRBITSIZE, else 30; only 30 is valid on the
    /// network).
    #[arg(long, value_name = "N")]
    pub bits: Option<u32>,
    /// LXRHash table cache directory (default ~/.lxrhash).
    #[arg(long, value_name = "DIR")]
    pub table_dir: Option<PathBuf>,
    /// Records each miner may submit per block (default 3).
    #[arg(long, value_name = "N")]
    pub records_per_miner: Option<usize>,
    /// Authenticated miners connected at once (default 256).
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
    /// Handshakes in progress at once (sockets not yet authenticated); when full the oldest of
    /// the address holding the most is dropped (default 256).
    #[arg(long, value_name = "N")]
    pub max_pending: Option<usize>,
    /// Handshakes in progress from one address at once (default 16).
    #[arg(long, value_name = "N")]
    pub max_pending_per_address: Option<usize>,
    /// Seconds a socket has to upgrade to WebSocket and authenticate (default 5).
    #[arg(long, value_name = "S", alias = "handshake-timeout")]
    pub handshake_timeout_secs: Option<f64>,
    /// Failed handshakes from one address before it is banned (default 5).
    #[arg(long, value_name = "N")]
    pub ban_after: Option<u32>,
    /// Seconds a ban lasts (default 600).
    #[arg(long, value_name = "S")]
    pub ban_secs: Option<f64>,
    /// Table copies served to miners at once (default 2; 0 never serves the table).
    #[arg(long, value_name = "N")]
    pub max_table_transfers: Option<usize>,
    /// Relays allowed to forward their miners' records here: their names, comma-separated.
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub relays: Option<Vec<String>>,
    /// The secret those relays authenticate with instead of the miners' secret. Prefer
    /// NETMINE_RELAY_SECRET or the config file.
    #[arg(long, value_name = "SECRET")]
    pub relay_secret: Option<SecretString>,
    /// Print the effective settings (secrets as ***) and every problem, then exit (1 if there
    /// is one); starts and contacts nothing.
    #[arg(long)]
    pub check_config: bool,
}

/// The daemon's flags: the listener's plus the node, the payments and the operators' surface.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DaemonFlags {
    #[command(flatten)]
    pub listener: ListenerFlags,
    /// factomd address (host:port or URL; default localhost:8088).
    #[arg(long, value_name = "URL")]
    pub factomd: Option<String>,
    /// mainnet, testnet or devnet (default mainnet).
    #[arg(long)]
    pub network: Option<pegnet::Network>,
    /// Take prices only from this file (TOML `[prices]` TICKER = USD) instead of the `[prices]`
    /// sources of the config: a shortcut for a `[prices]` section with only the fixed source.
    #[arg(long, value_name = "FILE")]
    pub prices: Option<PathBuf>,
    /// Entries paid per block at most (default 10).
    #[arg(long, value_name = "N")]
    pub max_entries: Option<usize>,
    /// Of those, at most N paying any one coinbase (payout address); default: no limit.
    #[arg(long, value_name = "N")]
    pub max_entries_per_coinbase: Option<usize>,
    /// The winner list in force for the block before the first one planned, comma-separated
    /// short hashes: used instead of recovering it when there is no history.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub previous_winners: Option<Vec<String>>,
    /// Seconds after minute 9 to collect submissions (default: a third of factomd's minute, at
    /// most 20; a window that leaves no time to pay is refused).
    #[arg(long, value_name = "S", alias = "submit-window")]
    pub submit_window_secs: Option<f64>,
    /// Run as the farm's standby coordinator (same EC key as the primary, second in the miners'
    /// --caddr): at minute 9 it pays only if the primary did not.
    #[arg(long)]
    pub standby: bool,
    #[command(flatten)]
    pub web: HttpFlags,
    /// Days of per-block history kept in the store (0: forever; default 30).
    #[arg(long, value_name = "DAYS")]
    pub history_days: Option<u32>,
    /// Seconds between stats lines in the log (default 900).
    #[arg(long, value_name = "S", alias = "stats-interval")]
    pub stats_interval_secs: Option<f64>,
}

/// The operators' HTTP surface, the same flags (and checks) for the daemon and the relay.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct HttpFlags {
    /// The operators' HTTP API, metrics and dashboard: HOST:PORT, :PORT or `off` (default
    /// 127.0.0.1:7780; a relay's 127.0.0.1:7781). Beyond loopback it needs a token.
    #[arg(long, value_name = "ADDR")]
    pub http: Option<String>,
    /// The token every HTTP request must then carry (Bearer, or a browser's Basic password).
    /// Prefer NETMINE_HTTP_TOKEN or the config file.
    #[arg(long, value_name = "TOKEN")]
    pub http_token: Option<SecretString>,
    /// HTTP connections at once, apart from the miners' (default 128; an eighth of it per
    /// address, an IPv6 /64 counting as one).
    #[arg(long, value_name = "N")]
    pub http_max_connections: Option<usize>,
    /// Seconds an HTTP client has to send a request's headers (default 10).
    #[arg(long, value_name = "S")]
    pub http_header_timeout_secs: Option<f64>,
    /// Seconds an HTTP request may take to be answered, then 503 (default 30).
    #[arg(long, value_name = "S")]
    pub http_request_timeout_secs: Option<f64>,
}

/// The relay's flags: the listener's (for its own miners) plus its link upstream.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RelayFlags {
    #[command(flatten)]
    pub listener: ListenerFlags,
    /// The upstream coordinator(s), preferred first: host:port, ws://… or wss://….
    #[arg(long, value_name = "ADDRS", value_delimiter = ',')]
    pub upstream: Option<Vec<String>>,
    /// The secret this relay authenticates with upstream (the upstream's relay_secret, or its
    /// miners' secret without one). Prefer NETMINE_UPSTREAM_SECRET or the config file.
    #[arg(long, value_name = "SECRET")]
    pub upstream_secret: Option<SecretString>,
    /// Pin a wss:// upstream's certificate: sha256:<hex> (comma-separated for several).
    #[arg(long, value_name = "sha256:HEX", value_delimiter = ',')]
    pub upstream_tls_fingerprint: Option<Vec<String>>,
    /// This relay's name: its identity at the upstream, which lists it in its `relays`.
    #[arg(long, value_name = "NAME", alias = "name")]
    pub relay_name: Option<String>,
    /// The relay's own dashboard, API and metrics, for its miners.
    #[command(flatten)]
    pub web: HttpFlags,
}

/// `if let Some(v) = flag { key = v }` for each named flag, whatever the key's type: the flag and
/// the key share their name, or this does not compile.
macro_rules! lay {
    ($cfg:expr, $flags:expr; $($key:ident),* $(,)?) => {
        $( if let Some(v) = $flags.$key { $cfg.$key = v; } )*
    };
}

/// The same for keys that are themselves optional: a flag that is given sets `Some(v)`.
macro_rules! lay_opt {
    ($cfg:expr, $flags:expr; $($key:ident),* $(,)?) => {
        $( if $flags.$key.is_some() { $cfg.$key = $flags.$key; } )*
    };
}

impl ListenerFlags {
    fn lay_over(self, c: &mut CoordinatorConfig) {
        lay!(c, self; caddr, max_connections, max_pending, max_pending_per_address,
            handshake_timeout_secs, ban_after, ban_secs, max_table_transfers, relays,
            records_per_miner);
        lay_opt!(c, self; secret, tls_cert, tls_key, data_dir, bits, table_dir, relay_secret);
        c.no_auth |= self.no_auth;
        c.tls |= self.tls;
    }
}

impl HttpFlags {
    fn lay_over(self, c: &mut CoordinatorConfig) {
        lay!(c, self; http, http_max_connections, http_header_timeout_secs,
            http_request_timeout_secs);
        lay_opt!(c, self; http_token);
    }
}

/// The role's defaults, the file (if any), then the environment, then the flags.
fn layered(
    role: Role,
    file: Option<&Path>,
    env: &Environment,
    flags: impl FnOnce(&mut CoordinatorConfig),
) -> Result<CoordinatorConfig> {
    let mut c = CoordinatorConfig::load_or_default_for(file, role)?;
    c.apply_env(env)?;
    flags(&mut c);
    Ok(c)
}

/// The daemon's settings from its flags and the environment.
pub fn resolve_daemon(f: DaemonFlags, env: &Environment) -> Result<CoordinatorConfig> {
    let file = f.listener.config.clone();
    layered(Role::Coordinator, file.as_deref(), env, |c| {
        f.listener.lay_over(c);
        f.web.lay_over(c);
        lay!(c, f; factomd, network, max_entries, history_days, stats_interval_secs);
        lay_opt!(c, f; max_entries_per_coinbase, previous_winners, submit_window_secs);
        c.standby |= f.standby;
        if let Some(file) = f.prices {
            c.prices = prices::PricesConfig::fixed_only(file);
        }
    })
}

/// The relay's settings from its flags and the environment.
pub fn resolve_relay(f: RelayFlags, env: &Environment) -> Result<CoordinatorConfig> {
    let file = f.listener.config.clone();
    layered(Role::Relay, file.as_deref(), env, |c| {
        f.listener.lay_over(c);
        f.web.lay_over(c);
        lay!(c, f; upstream, upstream_tls_fingerprint);
        lay_opt!(c, f; upstream_secret, relay_name);
    })
}

/// What `check-config` prints: the effective settings (every secret as `***`), then `config
/// ok`, or each problem and an error (exit 1). The same [`CoordinatorConfig::problems`] the
/// program runs before it starts.
pub fn check(c: &CoordinatorConfig, role: Role, file: Option<&Path>) -> Result<()> {
    let (problems, _) = c.problems(role);
    let source = file.map_or_else(
        || format!("the {role}'s settings"),
        |f| f.display().to_string(),
    );
    netmine_cli::report_config(&c.to_toml(), &source, &problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};
    use std::collections::BTreeSet;

    #[derive(Parser)]
    struct Daemon {
        #[command(flatten)]
        f: DaemonFlags,
    }

    #[derive(Parser)]
    struct Relay {
        #[command(flatten)]
        f: RelayFlags,
    }

    /// Long flag names, with `-` turned back into `_`.
    fn flags(cmd: clap::Command) -> BTreeSet<String> {
        cmd.get_arguments()
            .filter_map(|a| a.get_long())
            .map(|l| l.replace('-', "_"))
            .collect()
    }

    fn keys() -> BTreeSet<String> {
        let v = toml::Value::try_from(CoordinatorConfig {
            // Options that are None are not written: give them values.
            secret: Some("x".to_string().into()),
            ..Default::default()
        })
        .unwrap();
        let mut keys: BTreeSet<String> = v.as_table().unwrap().keys().cloned().collect();
        for optional in [
            "tls_cert",
            "tls_key",
            "ec_secret",
            "ec_address",
            "walletd",
            "data_dir",
            "bits",
            "table_dir",
            "max_entries_per_coinbase",
            "previous_winners",
            "submit_window_secs",
            "http_token",
            "relay_secret",
            "upstream_secret",
            "relay_name",
        ] {
            keys.insert(optional.to_string());
        }
        keys
    }

    #[test]
    fn every_flag_is_named_like_a_config_key() {
        // Flags that are not settings, and the `--prices FILE` shortcut for a `[prices]` section.
        let not_keys = ["config", "check_config", "help"];
        let keys = keys();
        for f in flags(Daemon::command()).union(&flags(Relay::command())) {
            if not_keys.contains(&f.as_str()) || f == "prices" {
                continue;
            }
            assert!(keys.contains(f), "--{f} sets no config key of that name");
        }
        // Every key either has a flag or is file-only on purpose (secrets that must never be
        // flags, settings that are tables or rarely changed).
        let file_only = [
            "ec_secret",
            "ec_address",
            "walletd",
            "cutoff",
            "prices",
            "enroll",
            "relay_identities",
            "alerts",
        ];
        let all: BTreeSet<String> = flags(Daemon::command())
            .union(&flags(Relay::command()))
            .cloned()
            .collect();
        for k in &keys {
            assert!(
                all.contains(k) || file_only.contains(&k.as_str()),
                "key {k} has no flag and is not listed as file-only"
            );
        }
    }

    fn env_of(pairs: &[(&'static str, &'static str)]) -> Environment {
        let pairs = pairs.to_vec();
        Environment::from_lookup(move |n| {
            pairs
                .iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn flags_beat_the_environment_which_beats_the_file() {
        let dir = std::env::temp_dir().join(format!("netmine-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("c.toml");
        std::fs::write(
            &file,
            "caddr = \":1111\"\nban_after = 7\nsecret = \"file-secret-0123456789\"\nhttp = \"0.0.0.0:7780\"\n",
        )
        .unwrap();
        let env = env_of(&[
            ("NETMINE_SECRET", "env-secret-0123456789"),
            ("NETMINE_HTTP_TOKEN", "env-token-0123456789"),
        ]);
        let d = Daemon::parse_from([
            "x",
            "--config",
            file.to_str().unwrap(),
            "--caddr",
            ":2222",
            "--handshake-timeout",
            "2.5",
        ]);
        let c = resolve_daemon(d.f, &env).unwrap();
        use secrecy::ExposeSecret;
        assert_eq!(c.caddr, ":2222", "flag over file");
        assert_eq!(c.ban_after, 7, "file over default");
        assert_eq!(
            c.handshake_timeout_secs, 2.5,
            "the old flag name still works"
        );
        assert_eq!(
            c.secret.as_ref().unwrap().expose_secret(),
            "env-secret-0123456789",
            "environment over file"
        );
        assert!(c.http_token.is_some());
        let r = Relay::parse_from([
            "x",
            "--config",
            file.to_str().unwrap(),
            "--name",
            "site1",
            "--upstream",
            "a:1,b:2",
        ]);
        let c = resolve_relay(r.f, &env).unwrap();
        assert_eq!(c.relay_name.as_deref(), Some("site1"));
        assert_eq!(c.upstream, vec!["a:1".to_string(), "b:2".to_string()]);
        assert_eq!(
            c.http, "0.0.0.0:7780",
            "the relay reads the file's http too"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A relay's HTTP settings are the daemon's: the same flags, file key and environment
    /// variable, the same check (beyond loopback only with a token) at start and in
    /// check-config; only its default differs, so it does not clash with a coordinator's.
    #[test]
    fn a_relays_http_is_checked_like_the_daemons() {
        let relay = |args: &[&str], env: &Environment| {
            let mut all = vec!["x", "--name", "site1", "--upstream", "a:1"];
            all.extend_from_slice(args);
            resolve_relay(Relay::parse_from(all).f, env).unwrap()
        };
        let with = |pairs: &[(&'static str, &'static str)]| {
            let mut all = vec![("NETMINE_SECRET", "site-secret-0123456789")];
            all.extend_from_slice(&[("NETMINE_UPSTREAM_SECRET", "upstream-secret-0123456789")]);
            all.extend_from_slice(pairs);
            env_of(&all)
        };
        let http_problems = |c: &CoordinatorConfig| {
            let (p, _) = c.problems(Role::Relay);
            p.into_iter()
                .filter(|p| p.contains("http"))
                .collect::<Vec<_>>()
        };
        // By default: loopback, one port above the coordinator's, and nothing wrong.
        let c = relay(&[], &with(&[]));
        assert_eq!(c.http, coordinator::http::RELAY_DEFAULT_ADDR);
        assert!(
            c.validate_relay().is_ok(),
            "{:?}",
            c.problems(Role::Relay).0
        );
        assert_eq!(
            resolve_daemon(Default::default(), &with(&[])).unwrap().http,
            "127.0.0.1:7780"
        );
        // Beyond loopback without a token: refused at start and by check-config, which run the
        // same check.
        let open = relay(&["--http", "0.0.0.0:7781"], &with(&[]));
        let p = http_problems(&open);
        assert!(p.iter().any(|p| p.contains("set a token")), "{p:?}");
        assert!(open.validate_relay().is_err());
        assert!(check(&open, Role::Relay, None).is_err());
        assert!(coordinator::daemon::http_settings(&open).is_err());
        // A token from the environment (or the flag) makes it right; a short one does not.
        let token = with(&[("NETMINE_HTTP_TOKEN", "relay-token-0123456789")]);
        let ok = relay(&["--http", ":7781"], &token);
        assert!(http_problems(&ok).is_empty());
        assert!(ok.validate_relay().is_ok());
        let weak = relay(&["--http", ":7781", "--http-token", "short"], &with(&[]));
        assert!(http_problems(&weak).iter().any(|p| p.contains("too short")));
        // `off` serves nothing.
        let off = relay(&["--http", "off"], &with(&[]));
        assert!(coordinator::daemon::http_settings(&off).unwrap().is_none());
    }
}
