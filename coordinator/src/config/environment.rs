//! The environment layer of the settings: the variables that may stand in for a config key,
//! read in exactly one place.
//!
//! Secrets belong in the environment (a systemd `EnvironmentFile` of mode 0600) rather than on a
//! command line, where every local user sees them in the process list. The binary reads the
//! process environment once with [`Environment::from_process`]; tests build one with
//! [`Environment::from_lookup`]. An empty variable counts as unset.
//!
//! | Variable | Key |
//! |---|---|
//! | `NETMINE_SECRET` | `secret` |
//! | `NETMINE_EC_SECRET` | `ec_secret` |
//! | `NETMINE_HTTP_TOKEN` | `http_token` |
//! | `NETMINE_RELAY_SECRET` | `relay_secret` |
//! | `NETMINE_UPSTREAM_SECRET` | `upstream_secret` |
//! | `NETMINE_PREVIOUS_SECRET` | `previous_secret` |
//! | `LXRBITSIZE` | `bits` (PegNet's variable for the table size) |

use super::CoordinatorConfig;
use secrecy::SecretString;

/// The environment variables the coordinator's settings read, with the key each stands for.
pub const VARIABLES: [(&str, &str); 7] = [
    ("NETMINE_SECRET", "secret"),
    ("NETMINE_EC_SECRET", "ec_secret"),
    ("NETMINE_HTTP_TOKEN", "http_token"),
    ("NETMINE_RELAY_SECRET", "relay_secret"),
    ("NETMINE_UPSTREAM_SECRET", "upstream_secret"),
    ("NETMINE_PREVIOUS_SECRET", "previous_secret"),
    (hashcore::params::BITS_ENV, "bits"),
];

/// The values of [`VARIABLES`] that are set (and not empty).
#[derive(Debug, Default, Clone)]
pub struct Environment {
    /// `NETMINE_SECRET`: the farm secret.
    pub secret: Option<SecretString>,
    /// `NETMINE_EC_SECRET`: the `Es…` key paying for entries.
    pub ec_secret: Option<SecretString>,
    /// `NETMINE_HTTP_TOKEN`: the token of the HTTP API beyond loopback.
    pub http_token: Option<SecretString>,
    /// `NETMINE_RELAY_SECRET`: the secret relays authenticate with.
    pub relay_secret: Option<SecretString>,
    /// `NETMINE_UPSTREAM_SECRET`: a relay's secret at its upstream.
    pub upstream_secret: Option<SecretString>,
    /// `NETMINE_PREVIOUS_SECRET`: the farm secret being rotated out.
    pub previous_secret: Option<SecretString>,
    /// `LXRBITSIZE`, as written (checked by [`CoordinatorConfig::apply_env`]).
    pub bits: Option<String>,
}

impl Environment {
    /// Reads the process environment (the binary calls this once, at start).
    pub fn from_process() -> Environment {
        Environment::from_lookup(|name| std::env::var(name).ok())
    }

    /// An environment whose variables `lookup` gives (for tests, and for other processes' env).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Environment {
        let get = |name: &str| lookup(name).filter(|v| !v.is_empty());
        let secret = |name: &str| get(name).map(SecretString::from);
        Environment {
            secret: secret("NETMINE_SECRET"),
            ec_secret: secret("NETMINE_EC_SECRET"),
            http_token: secret("NETMINE_HTTP_TOKEN"),
            relay_secret: secret("NETMINE_RELAY_SECRET"),
            upstream_secret: secret("NETMINE_UPSTREAM_SECRET"),
            previous_secret: secret("NETMINE_PREVIOUS_SECRET"),
            bits: get(hashcore::params::BITS_ENV),
        }
    }
}

impl CoordinatorConfig {
    /// Lays the environment over the file: every variable that is set replaces its key. An
    /// unusable `LXRBITSIZE` is an error (a box that quietly mines with another table size than
    /// intended wastes whole blocks).
    pub fn apply_env(&mut self, env: &Environment) -> anyhow::Result<()> {
        let pairs = [
            (&mut self.secret, &env.secret),
            (&mut self.ec_secret, &env.ec_secret),
            (&mut self.http_token, &env.http_token),
            (&mut self.relay_secret, &env.relay_secret),
            (&mut self.upstream_secret, &env.upstream_secret),
            (&mut self.previous_secret, &env.previous_secret),
        ];
        for (key, value) in pairs {
            if value.is_some() {
                key.clone_from(value);
            }
        }
        if let Some(bits) = &env.bits {
            self.bits = Some(hashcore::params::parse_bits_env(bits)?);
        }
        Ok(())
    }
}
