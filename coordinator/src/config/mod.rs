//! The coordinator's settings, for both roles that run the miners' side: the daemon that pays
//! ([`Role::Coordinator`]) and a site's relay ([`Role::Relay`]).
//!
//! Settings come from four layers, each overriding the one before, and are resolved **once**, by
//! the same code whether the program starts or `check-config` checks them:
//!
//! 1. the defaults ([`CoordinatorConfig::default`], the one place every default is written);
//! 2. the TOML file ([`CoordinatorConfig::load`]; every key documented in
//!    `config/netcoordinator.toml`);
//! 3. the environment ([`Environment`]: the secrets and `LXRBITSIZE`, read in one place by the
//!    binary, never by this library);
//! 4. the command-line flags (the `netcoordinator` binary; each flag is named like its key).
//!
//! Then [`CoordinatorConfig::problems`] lists everything wrong for the role, naming each bad key.
//! The EC secret is never a flag (`ps` would show it): it comes from the file, the environment
//! (`NETMINE_EC_SECRET`) or factom-walletd.

mod environment;
mod problems;
#[cfg(test)]
mod tests;

pub use environment::{Environment, VARIABLES as ENVIRONMENT_VARIABLES};
pub use problems::Role;

use anyhow::{bail, Context, Result};
use prices::PricesConfig;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The fewest records per miner a relay accepts per block (see [`CoordinatorConfig::server`]).
pub const RELAY_MIN_RECORDS_PER_MINER: usize = 100;

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
    #[serde(serialize_with = "protocol::secret::redacted")]
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
    #[serde(serialize_with = "protocol::secret::redacted")]
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
    /// Run as the farm's standby coordinator: the same EC key as the primary, listed second in
    /// the miners' `--caddr`; at minute 9 it waits for the primary to pay first and pays only if
    /// the farm's EC balance shows the primary did not (see docs/availability.md).
    pub standby: bool,
    /// The operators' HTTP API, metrics and dashboard: `HOST:PORT`, `:PORT` (every interface) or
    /// `off`. Beyond loopback it needs `http_token`. A relay serves its own (for its miners), by
    /// default on `127.0.0.1:7781`.
    pub http: String,
    /// The token every HTTP request must carry when `http` is not loopback (also
    /// `NETMINE_HTTP_TOKEN`); at least 16 characters; no `Debug` shows it.
    #[serde(serialize_with = "protocol::secret::redacted")]
    pub http_token: Option<SecretString>,
    /// HTTP connections at once (apart from the miners'); an eighth of it per address (an IPv6
    /// /64), at least 1; when full, the oldest connection of the address holding the most goes.
    pub http_max_connections: usize,
    /// Seconds a client has to send a request's headers (a slow sender is closed).
    pub http_header_timeout_secs: f64,
    /// Seconds a request may take to be answered (then `503`).
    pub http_request_timeout_secs: f64,
    /// Days of per-block history kept in the store (0: forever).
    pub history_days: u32,
    /// Seconds between the stats lines in the log (also written at shutdown).
    pub stats_interval_secs: f64,
    /// Copies of the LXRHash table served to miners at once (0: never serve it).
    pub max_table_transfers: usize,
    /// Identities (`netcoordinator relay --name`) allowed to relay other miners' records here.
    pub relays: Vec<String>,
    /// Per relay, the identities it may speak for: names, or prefixes with a trailing `*`
    /// (`site1 = ["s1-*"]`). A relay without a list may speak for any identity that is not
    /// assigned elsewhere (another relay's list, or the roster).
    pub relay_identities: std::collections::BTreeMap<String, Vec<String>>,
    /// How identities join the farm: `first-use` (the default: an identity's first key is
    /// pinned) or `roster` (only identities added with `netcoordinator miners add`).
    pub enroll: crate::roster::Enroll,
    /// Pay every record to this FA address, whatever a box states (the farm's own payout
    /// address). Unset: each box's coinbase, within its roster entry's allowed coinbases.
    pub coinbase: Option<String>,
    /// The farm secret being replaced (also `NETMINE_PREVIOUS_SECRET`): accepted beside `secret`
    /// while the boxes move to the new one; no `Debug` shows it.
    #[serde(serialize_with = "protocol::secret::redacted")]
    pub previous_secret: Option<SecretString>,
    /// The last day (`YYYY-MM-DD`, UTC) the previous secret is accepted; unset: while it is set.
    pub previous_secret_until: Option<String>,
    /// The secret those relays authenticate with instead of the farm secret (also
    /// `NETMINE_RELAY_SECRET`), so that a mining box cannot pass for a relay; no `Debug` shows it.
    #[serde(serialize_with = "protocol::secret::redacted")]
    pub relay_secret: Option<SecretString>,
    /// `netcoordinator relay` only: the upstream coordinator(s), preferred first.
    pub upstream: Vec<String>,
    /// `netcoordinator relay` only: the upstream's farm secret (also `NETMINE_UPSTREAM_SECRET`);
    /// no `Debug` shows it.
    #[serde(serialize_with = "protocol::secret::redacted")]
    pub upstream_secret: Option<SecretString>,
    /// `netcoordinator relay` only: the relay's name, its identity at the upstream.
    pub relay_name: Option<String>,
    /// `netcoordinator relay` only: pinned certificates of a `wss://` upstream (`sha256:<hex>`).
    pub upstream_tls_fingerprint: Vec<String>,
    /// `[[alerts]]`: webhooks told when a miner goes silent, factomd is down, the EC balance runs
    /// low… (see [`crate::alerts`], docs/alerts.md). Each URL is a secret.
    pub alerts: Vec<crate::alerts::AlertConfig>,
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
            standby: false,
            previous_winners: None,
            http: crate::http::DEFAULT_ADDR.into(),
            http_token: None,
            http_max_connections: 128,
            http_header_timeout_secs: 10.0,
            http_request_timeout_secs: 30.0,
            history_days: 30,
            stats_interval_secs: 900.0,
            max_table_transfers: 2,
            relays: Vec::new(),
            relay_identities: Default::default(),
            enroll: Default::default(),
            coinbase: None,
            previous_secret: None,
            previous_secret_until: None,
            relay_secret: None,
            upstream: Vec::new(),
            upstream_secret: None,
            relay_name: None,
            upstream_tls_fingerprint: Vec::new(),
            alerts: Vec::new(),
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

    /// The file at `path`, or the defaults when there is none.
    pub fn load_or_default(path: Option<&Path>) -> Result<CoordinatorConfig> {
        CoordinatorConfig::load_or_default_for(path, Role::Coordinator)
    }

    /// The file at `path` (or none) over the defaults for `role`: the same for both roles but
    /// `http`, which is [`RELAY_DEFAULT_ADDR`](crate::http::RELAY_DEFAULT_ADDR) for a relay whose
    /// file does not set it.
    pub fn load_or_default_for(path: Option<&Path>, role: Role) -> Result<CoordinatorConfig> {
        let mut c = match path {
            Some(p) => CoordinatorConfig::load(p)?,
            None => CoordinatorConfig::default(),
        };
        if role == Role::Relay && !path.is_some_and(|p| sets_key(p, "http")) {
            c.http = crate::http::RELAY_DEFAULT_ADDR.into();
        }
        Ok(c)
    }

    /// The HTTP surface's budgets (see [`HttpLimits`](crate::http::HttpLimits)).
    pub fn http_limits(&self) -> crate::http::HttpLimits {
        let secs = |s: f64| Duration::from_secs_f64(s.clamp(0.001, 86_400.0));
        crate::http::HttpLimits {
            max_connections: self.http_max_connections.max(1),
            max_per_address: (self.http_max_connections / 8).max(1),
            header_timeout: secs(self.http_header_timeout_secs),
            request_timeout: secs(self.http_request_timeout_secs),
        }
    }

    /// The listener's limits and timings, without secrets or TLS (see [`Self::server`]). Also
    /// what [`ServerConfig::default`](crate::server::ServerConfig) is, so every default is
    /// written once, here.
    pub fn server_limits(&self) -> crate::server::ServerConfig {
        let secs = |s: f64| Duration::from_secs_f64(s.clamp(0.001, 86_400.0));
        crate::server::ServerConfig {
            secret: None,
            max_connections: self.max_connections,
            max_pending: self.max_pending,
            max_pending_per_address: self.max_pending_per_address,
            auth_timeout: secs(self.handshake_timeout_secs),
            ban_after: self.ban_after,
            ban_for: secs(self.ban_secs),
            records_per_miner: self.records_per_miner,
            ping_every: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(45),
            verify_threads: 0,
            max_bad_submissions: 3,
            tls: None,
            max_table_transfers: self.max_table_transfers,
            relays: self.relays.clone(),
            relay_secret: None,
            relay_identities: self.relay_identities.clone(),
            enroll: self.enroll,
            payout: self.coinbase.clone(),
            previous_secret: None,
        }
    }

    /// The miners' listener for `role`, complete: limits, the secrets (none with `no_auth`), and
    /// TLS (a self-signed certificate is made in `data_dir` on first use). Call it on settings
    /// without [`problems`](Self::problems).
    pub fn server(&self, role: Role, data_dir: &Path) -> Result<crate::server::ServerConfig> {
        let checked = |key: &str, s: &Option<SecretString>| {
            s.as_ref()
                .map(|s| protocol::Secret::checked(s.expose_secret()))
                .transpose()
                .with_context(|| format!("{key}: not a usable secret"))
        };
        let mut server = self.server_limits();
        server.secret = match self.no_auth {
            true => None,
            false => Some(checked("secret", &self.secret)?.context("no secret")?),
        };
        server.relay_secret = checked("relay_secret", &self.relay_secret)?;
        server.previous_secret = match checked("previous_secret", &self.previous_secret)? {
            Some(s) => Some((s, self.previous_secret_deadline()?)),
            None => None,
        };
        server.tls = self.server_tls(data_dir).context("setting up TLS")?;
        if role == Role::Relay {
            // A relay only checks; the upstream's records_per_miner is the limit that pays. The
            // relay's own is at least as large, so it never refuses what the upstream would take.
            server.records_per_miner = server.records_per_miner.max(RELAY_MIN_RECORDS_PER_MINER);
        }
        Ok(server)
    }

    /// When the previous secret stops being accepted (Unix seconds: the end of
    /// `previous_secret_until`, UTC), if a day is set.
    pub fn previous_secret_deadline(&self) -> Result<Option<u64>> {
        self.previous_secret_until
            .as_deref()
            .map(|d| {
                end_of_day(d)
                    .with_context(|| format!("previous_secret_until {d:?} is not YYYY-MM-DD"))
            })
            .transpose()
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

    /// The effective settings as TOML, every secret written as `"***"` (what `check-config`
    /// prints).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self)
            .unwrap_or_else(|e| format!("# the settings cannot be written as TOML: {e}\n"))
    }
}

/// Whether the TOML file at `path` sets the top-level `key` (read after [`CoordinatorConfig::load`]
/// took it, so it is readable TOML).
fn sets_key(path: &Path, key: &str) -> bool {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| toml::from_str::<toml::Table>(&t).ok())
        .is_some_and(|t| t.contains_key(key))
}

/// The Unix second just after the UTC day `YYYY-MM-DD` ends.
fn end_of_day(text: &str) -> Option<u64> {
    let mut it = text.trim().splitn(3, '-');
    let (y, m, d): (i64, u32, u32) = (
        it.next()?.parse().ok()?,
        it.next()?.parse().ok()?,
        it.next()?.parse().ok()?,
    );
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm), then one day more.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from((days + 1) * 86_400).ok()
}
