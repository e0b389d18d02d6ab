//! The coordinator's configuration: a TOML file (every key documented in
//! `config/netcoordinator.toml`), overridden by command-line flags. The EC secret is never a flag
//! (`ps` would show it): it comes from the file, the `NETMINE_EC_SECRET` environment variable, or
//! factom-walletd.

use anyhow::{bail, Context, Result};
use prices::config::Plan;
use prices::PricesConfig;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Every option, with its default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CoordinatorConfig {
    /// Listen address for miners (`:1234` means every interface, port 1234).
    pub caddr: String,
    /// factomd's address.
    pub factomd: String,
    /// Network: mainnet, testnet or devnet.
    pub network: pegnet::Network,
    /// The farm's shared secret (also `NETMINE_SECRET`); no `Debug` shows it.
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
    pub ec_secret: Option<SecretString>,
    /// EC address whose secret is fetched from factom-walletd (with `walletd`).
    pub ec_address: Option<String>,
    /// factom-walletd's address.
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
    /// Records each miner may submit per block.
    pub records_per_miner: usize,
    /// Miners connected at once.
    pub max_connections: usize,
    /// PegNet's submission cut-off for the difficulty floor (0 disables the floor).
    pub cutoff: usize,
    /// The winner list in force for the block before the first one planned (16-hex-digit short
    /// hashes), used when the store has no history instead of recovering it from the records.
    pub previous_winners: Option<Vec<String>>,
    /// Seconds after minute 9 to collect submissions before paying. `None`: a third of factomd's
    /// minute, at most 20 s (see `engine::fit_submit_window`).
    pub submit_window_secs: Option<f64>,
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
            records_per_miner: 3,
            max_connections: 256,
            cutoff: 200,
            submit_window_secs: None,
            previous_winners: None,
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
    /// it reads the price file, so the daemon uses this one instead of building another).
    pub fn validate(&self) -> Result<Plan> {
        self.listen_addr()?;
        let network = self.network;
        if self
            .secret
            .as_ref()
            .is_none_or(|s| s.expose_secret().is_empty())
            && !self.no_auth
        {
            bail!("no shared secret: set `secret` in the config, NETMINE_SECRET or --secret (or --no-auth to run without authentication)");
        }
        if self.no_auth {
            let listen = self.listen_addr()?;
            if !listen.ip().is_loopback() {
                bail!("--no-auth (no_auth) is refused on {listen}: without authentication anyone who reaches the port could mine and submit; it is allowed only on a loopback address (127.0.0.1 or ::1)");
            }
        } else if let Some(s) = &self.secret {
            protocol::Secret::checked(s.expose_secret())?;
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            bail!(crate::tls::TlsError::Half);
        }
        if self.max_entries == 0 || self.records_per_miner == 0 || self.max_connections == 0 {
            bail!("max_entries, records_per_miner and max_connections must be at least 1");
        }
        if self
            .submit_window_secs
            .is_some_and(|w| !(w.is_finite() && (0.0..=3600.0).contains(&w)))
        {
            bail!("submit_window_secs must be a number of seconds >= 0");
        }
        if let Some(w) = &self.previous_winners {
            if !(pegnet::validate::winners_format_ok(w, 25)
                || pegnet::validate::winners_format_ok(w, 10))
            {
                bail!("previous_winners must be 25 (or, in OPR version 2, 10) 16-hex-digit short hashes, or all empty");
            }
        }
        Ok(self.prices.plan(network)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
