//! The miner's settings, resolved once, the same way whether the miner starts or `check-config`
//! checks them: the defaults < the TOML file (every key documented in `config/netminer.toml`) <
//! the environment ([`Environment`]: `NETMINE_SECRET`, `LXRBITSIZE`) < the command-line flags
//! (the binary; each flag named like its key). Then [`MinerFile::problems`] lists everything
//! wrong, each naming its key, and [`MinerFile::miner_config`] gives the running settings.

use crate::client::MinerConfig;
use netmine_link::{CoordinatorAddr, LinkConfig, TlsTrust};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `netminer.toml`: every key optional. Serializing it (`check-config`) writes the secret as
/// `"***"`.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MinerFile {
    /// Coordinators, preferred first.
    pub caddr: Vec<String>,
    /// The farm's shared secret (also `NETMINE_SECRET`); no `Debug` shows it.
    #[serde(serialize_with = "protocol::secret::redacted")]
    pub secret: Option<SecretString>,
    /// CPU hashing threads (PegNet's miner calls them `miners`, which is read too).
    #[serde(alias = "miners")]
    pub threads: Option<usize>,
    /// Records submitted per block.
    pub top: Option<usize>,
    /// Identity written into this box's records.
    pub identity: Option<String>,
    /// FA address that receives this box's rewards.
    pub coinbase: Option<String>,
    /// Pinned certificates of `wss://` coordinators (`sha256:<hex>`, as `netcoordinator
    /// tls-fingerprint` prints them).
    pub tls_fingerprint: Vec<String>,
    /// A CA certificate (PEM) trusted for `wss://` coordinators instead of the system roots.
    pub tls_ca: Option<PathBuf>,
    /// Seconds between the stats lines in the log (default 900).
    pub stats_interval_secs: Option<f64>,
    /// Where a missing table comes from: `coordinator` (default; generated when no coordinator
    /// serves it) or `generate`.
    pub table_source: Option<TableSource>,
    /// LXRHash table size in bits (default `LXRBITSIZE`, else 30; must be the coordinator's).
    pub bits: Option<u32>,
    /// The table cache directory (default `~/.lxrhash`).
    pub table_dir: Option<PathBuf>,
    /// Where to hash: `cpu` (default), `opencl` or `all`.
    pub backend: Option<BackendKind>,
    /// OpenCL platform, by index or (part of its) name (default: all platforms).
    pub opencl_platform: Option<String>,
    /// OpenCL devices of that platform, by index (default: all).
    pub opencl_devices: Option<Vec<usize>>,
    /// Work items per OpenCL launch (default: autotuned to ~200 ms per launch).
    pub opencl_workload: Option<usize>,
    /// Seconds an OpenCL device may return no results while a job runs before the watchdog
    /// reinitializes it (default 30).
    pub gpu_stall_secs: Option<f64>,
    /// Restarts of one device within an hour after which it is disabled (default 3).
    pub gpu_max_restarts: Option<u32>,
    /// Pause a device at this temperature in °C until it is 10 °C cooler (default: no limit).
    pub gpu_temp_limit: Option<f64>,
    /// Where the box keeps its signing key, `box.key` (default `~/.netmine`; made on first
    /// start, mode 0600; `netminer key` prints its public half).
    pub data_dir: Option<PathBuf>,
    /// The newest protocol version this box speaks (default: this build's newest). `1` makes it
    /// connect exactly as a version-1 build does: for rehearsing a farm's upgrade.
    pub protocol_version: Option<u32>,
}

/// The shortest stall timeout (`gpu_stall_secs`): a launch takes about 200 ms, a job switch
/// and a reinitialization's table upload seconds.
const MIN_STALL_SECS: f64 = 5.0;
/// The longest stall timeout: a device silent for an hour is not coming back by itself.
const MAX_STALL_SECS: f64 = 3600.0;
/// The most restarts within an hour (`gpu_max_restarts`): each one may leave a hung thread
/// and its device memory behind.
const MAX_RESTARTS: u32 = 100;
/// The lowest temperature limit (`gpu_temp_limit`, °C): below it a card would never hash.
const MIN_TEMP_LIMIT: f64 = 40.0;
/// The highest temperature limit (°C): above it the card's own protection acts first.
const MAX_TEMP_LIMIT: f64 = 110.0;

/// Where the miner gets an LXRHash table its cache does not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum TableSource {
    /// Copy it from the coordinator (seconds on a LAN); generate it if no coordinator serves it
    /// or the copy fails.
    Coordinator,
    /// Generate it here (7–10 minutes at 30 bits).
    Generate,
}

/// Which hashing backend to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// Hash on CPU threads only.
    Cpu,
    /// OpenCL devices (falls back to the CPU when there is none).
    Opencl,
    /// CPU threads and OpenCL devices together.
    All,
}

/// The environment variables the miner reads, in one place (the binary reads them once, at
/// start). An empty variable counts as unset.
#[derive(Debug, Default, Clone)]
pub struct Environment {
    /// `NETMINE_SECRET`: the farm secret.
    pub secret: Option<SecretString>,
    /// `LXRBITSIZE`: PegNet's variable for the table size, as written.
    pub bits: Option<String>,
}

impl Environment {
    /// Reads the process environment.
    pub fn from_process() -> Environment {
        Environment::from_lookup(|n| std::env::var(n).ok())
    }

    /// An environment whose variables `lookup` gives (for tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Environment {
        let get = |n: &str| lookup(n).filter(|v| !v.is_empty());
        Environment {
            secret: get("NETMINE_SECRET").map(SecretString::from),
            bits: get(hashcore::params::BITS_ENV),
        }
    }
}

/// Why settings could not be read at all (a problem with a key is a [`MinerFile::problems`]
/// line instead).
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file cannot be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a netminer config.
    #[error("{path} is not a valid netminer config: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: Box<toml::de::Error>,
    },
    /// `LXRBITSIZE` is not a table size.
    #[error(transparent)]
    Bits(#[from] hashcore::Error),
}

impl MinerFile {
    /// Parses the text of a config file.
    pub fn parse(text: &str) -> Result<MinerFile, toml::de::Error> {
        toml::from_str(text)
    }

    /// The file at `path`, or every key unset when there is none.
    pub fn load_or_default(path: Option<&Path>) -> Result<MinerFile, SettingsError> {
        let Some(path) = path else {
            return Ok(MinerFile::default());
        };
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut f = MinerFile::parse(&text).map_err(|e| SettingsError::Parse {
            path: path.to_path_buf(),
            source: Box::new(e),
        })?;
        if let Some(dir) = path.parent() {
            for p in [&mut f.tls_ca, &mut f.data_dir, &mut f.table_dir]
                .into_iter()
                .flatten()
            {
                if p.is_relative() {
                    *p = dir.join(&*p);
                }
            }
        }
        Ok(f)
    }

    /// Lays the environment over the file.
    pub fn apply_env(&mut self, env: &Environment) -> Result<(), SettingsError> {
        if env.secret.is_some() {
            self.secret.clone_from(&env.secret);
        }
        if let Some(b) = &env.bits {
            self.bits = Some(hashcore::params::parse_bits_env(b)?);
        }
        Ok(())
    }

    /// The GPU watchdog's settings.
    pub fn watchdog(&self) -> hashcore::devices::WatchdogOptions {
        let d = hashcore::devices::WatchdogOptions::default();
        hashcore::devices::WatchdogOptions {
            stall_after: self
                .gpu_stall_secs
                .filter(|s| s.is_finite() && *s > 0.0)
                .map_or(d.stall_after, Duration::from_secs_f64),
            max_restarts: self.gpu_max_restarts.unwrap_or(d.max_restarts),
            temp_limit: self.gpu_temp_limit.map(|t| t as f32),
            ..d
        }
    }

    /// Every problem of these settings (empty when the miner can start), each naming its key.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.caddr.is_empty() {
            out.push(
                "caddr: no coordinator address (--caddr host:1234, or caddr = [\"coordinator.lan:1234\"])"
                    .into(),
            );
        }
        for a in &self.caddr {
            if let Err(e) = CoordinatorAddr::parse(a) {
                out.push(format!("caddr: {e}"));
            }
        }
        match &self.identity {
            None => out.push("identity: missing (every box needs its own)".into()),
            Some(id) => {
                if let Err(e) = netmine_link::config::check_identity(id) {
                    out.push(format!("identity: {e}"));
                }
            }
        }
        match &self.coinbase {
            None => out.push("coinbase: missing (the FA address that receives the rewards)".into()),
            Some(c) => {
                if let Err(e) = netmine_link::config::check_coinbase(c) {
                    out.push(format!("coinbase: {e}"));
                }
            }
        }
        match &self.secret {
            Some(s) if !s.expose_secret().is_empty() => {
                if let Err(e) = protocol::Secret::checked(s.expose_secret()) {
                    out.push(format!("secret: {e}"));
                }
            }
            _ => out.push(
                "secret: no shared secret: set NETMINE_SECRET, or secret in the config".into(),
            ),
        }
        if self.threads == Some(0) {
            out.push("threads: must be at least 1".into());
        }
        if self.threads.is_some_and(|t| t > 255) && self.backend == Some(BackendKind::All) {
            out.push("threads: at most 255 with backend = \"all\"".into());
        }
        if self.top == Some(0) {
            out.push("top: must be at least 1".into());
        }
        let (oldest, newest) = (
            protocol::auth::version::OLDEST,
            protocol::auth::version::NEWEST,
        );
        if let Some(v) = self
            .protocol_version
            .filter(|v| !(oldest..=newest).contains(v))
        {
            out.push(format!(
                "protocol_version: {v} is not spoken by this build ({oldest} to {newest})"
            ));
        }
        if self
            .stats_interval_secs
            .is_some_and(|s| !(s.is_finite() && s >= 1.0))
        {
            out.push("stats_interval_secs: must be a number of seconds >= 1".into());
        }
        if let Some(Err(e)) = self.bits.map(hashcore::params::check_bits) {
            out.push(format!("bits: {e}"));
        }
        if self.opencl_workload == Some(0) {
            out.push("opencl_workload: must be at least 1".into());
        }
        if let Some(s) = self
            .gpu_stall_secs
            .filter(|s| !(s.is_finite() && (MIN_STALL_SECS..=MAX_STALL_SECS).contains(s)))
        {
            out.push(format!(
                "gpu_stall_secs: {s} is not a number of seconds from {MIN_STALL_SECS} to {MAX_STALL_SECS}"
            ));
        }
        if let Some(n) = self.gpu_max_restarts.filter(|n| *n > MAX_RESTARTS) {
            out.push(format!("gpu_max_restarts: {n} is more than {MAX_RESTARTS}"));
        }
        if let Some(t) = self
            .gpu_temp_limit
            .filter(|t| !(t.is_finite() && (MIN_TEMP_LIMIT..=MAX_TEMP_LIMIT).contains(t)))
        {
            out.push(format!(
                "gpu_temp_limit: {t} is not a temperature from {MIN_TEMP_LIMIT} to {MAX_TEMP_LIMIT} °C"
            ));
        }
        if let Err(e) = self.tls_trust() {
            out.push(e);
        }
        out
    }

    /// How `wss://` coordinators are trusted.
    fn tls_trust(&self) -> Result<TlsTrust, String> {
        match (self.tls_fingerprint.is_empty(), &self.tls_ca) {
            (false, Some(_)) => {
                Err("tls_fingerprint, tls_ca: give one or the other, not both".into())
            }
            (false, None) => Ok(TlsTrust::Pinned(
                self.tls_fingerprint
                    .iter()
                    .map(|p| netmine_link::tls::parse_fingerprint(p))
                    .collect::<Result<_, _>>()
                    .map_err(|e| format!("tls_fingerprint: {e}"))?,
            )),
            (true, Some(ca)) => Ok(TlsTrust::CaFile(ca.clone())),
            (true, None) => Ok(TlsTrust::SystemRoots),
        }
    }

    /// The data dir: the setting, else `~/.netmine`.
    pub fn data_dir_or_default(&self) -> Option<PathBuf> {
        self.data_dir.clone().or_else(|| {
            std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| PathBuf::from(h).join(".netmine"))
        })
    }

    /// CPU hashing threads: the setting, else one per logical CPU.
    pub fn threads_or_default(&self) -> usize {
        self.threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    /// The running settings. Call it on settings without [`problems`](Self::problems); it
    /// fails with the problems otherwise.
    pub fn miner_config(&self) -> Result<MinerConfig, String> {
        let problems = self.problems();
        if !problems.is_empty() {
            return Err(problems.join("\n"));
        }
        let coordinators = CoordinatorAddr::parse_all(&self.caddr).map_err(|e| e.to_string())?;
        let secret = self
            .secret
            .as_ref()
            .map(|s| protocol::Secret::checked(s.expose_secret()))
            .transpose()
            .map_err(|e| e.to_string())?
            .ok_or("no secret")?;
        Ok(MinerConfig {
            link: LinkConfig {
                coordinators,
                secret,
                identity: self.identity.clone().unwrap_or_default(),
                coinbase: self.coinbase.clone().unwrap_or_default(),
                tls: self.tls_trust()?,
                newest_version: self
                    .protocol_version
                    .unwrap_or(protocol::auth::version::NEWEST),
                ..Default::default()
            },
            top: self.top.unwrap_or(MinerConfig::default().top),
            stats_line_every: Duration::from_secs_f64(
                self.stats_interval_secs.unwrap_or(900.0).min(86_400.0),
            ),
            ..Default::default()
        })
    }

    /// The effective settings as TOML, the secret written as `"***"` (what `check-config`
    /// prints).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self)
            .unwrap_or_else(|e| format!("# the settings cannot be written as TOML: {e}\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_key_parses() {
        let text = include_str!("../../config/netminer.toml");
        let all: String = text
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(r) if r.contains(" = ") && !r.starts_with("host") => r,
                _ => l,
            })
            .map(|l| l.split("   (").next().unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n");
        let f: MinerFile = toml::from_str(&all).unwrap();
        assert_eq!(f.caddr.len(), 2);
        assert_eq!(f.tls_fingerprint.len(), 1);
        assert!(f.tls_ca.is_some());
        assert_eq!(f.threads, Some(4));
        assert_eq!(f.backend, Some(BackendKind::Cpu));
        // PegNet's name for the threads is read too.
        assert_eq!(MinerFile::parse("miners = 2").unwrap().threads, Some(2));
    }

    #[test]
    fn the_environment_overrides_the_file_and_every_problem_names_its_key() {
        let mut f = MinerFile::parse(
            "caddr = [\"nowhere\"]\nthreads = 0\ntop = 0\nsecret = \"qzxwv\"\ncoinbase = \"FA1\"\nbits = 40",
        )
        .unwrap();
        let p = f.problems().join("\n");
        for key in [
            "caddr:",
            "identity:",
            "coinbase:",
            "secret:",
            "threads:",
            "top:",
            "bits:",
        ] {
            assert!(p.contains(key), "{key} missing from {p}");
        }
        assert!(!p.contains("qzxwv"), "a secret is never shown: {p}");
        let env = Environment::from_lookup(|n| match n {
            "NETMINE_SECRET" => Some("a-long-enough-secret-123".into()),
            "LXRBITSIZE" => Some("20".into()),
            _ => None,
        });
        f.apply_env(&env).unwrap();
        assert_eq!(f.bits, Some(20));
        let p = f.problems().join("\n");
        assert!(!p.contains("secret:") && !p.contains("bits:"), "{p}");
        let bad = Environment::from_lookup(|n| (n == "LXRBITSIZE").then(|| "x".into()));
        assert!(f.apply_env(&bad).is_err());
        assert!(f.miner_config().is_err());
        let shown = MinerFile {
            secret: Some("a-long-enough-secret-123".to_string().into()),
            ..Default::default()
        }
        .to_toml();
        assert!(shown.contains("secret = \"***\""), "{shown}");
    }

    #[test]
    fn the_gpu_watchdog_keys_are_checked_and_give_the_watchdog_its_settings() {
        let d = hashcore::devices::WatchdogOptions::default();
        assert_eq!(MinerFile::default().watchdog(), d);
        let f =
            MinerFile::parse("gpu_stall_secs = 12.5\ngpu_max_restarts = 0\ngpu_temp_limit = 83")
                .unwrap();
        assert!(
            !f.problems().iter().any(|p| p.starts_with("gpu_")),
            "{:?}",
            f.problems()
        );
        let w = f.watchdog();
        assert_eq!(
            (w.stall_after, w.max_restarts, w.temp_limit),
            (Duration::from_millis(12_500), 0, Some(83.0))
        );
        for (text, key) in [
            ("gpu_stall_secs = 0.5", "gpu_stall_secs:"),
            ("gpu_stall_secs = nan", "gpu_stall_secs:"),
            ("gpu_stall_secs = 1e9", "gpu_stall_secs:"),
            ("gpu_max_restarts = 1000", "gpu_max_restarts:"),
            ("gpu_temp_limit = 500", "gpu_temp_limit:"),
            ("gpu_temp_limit = -inf", "gpu_temp_limit:"),
        ] {
            let p = MinerFile::parse(text).unwrap().problems().join("\n");
            assert!(p.contains(key), "{text}: {p}");
        }
        assert!(MinerFile::parse("gpu_max_restarts = -1").is_err());
    }
}
