//! What is wrong with a set of settings, for the role that will run with them. The program calls
//! this before starting anything and refuses to start when it finds a problem; `check-config`
//! calls the same function on the same resolved settings, so the two never disagree.

use super::CoordinatorConfig;
use anyhow::{bail, Result};
use prices::config::Plan;
use secrecy::{ExposeSecret, SecretString};

/// Which program runs with the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The daemon that talks to factomd and pays (`netcoordinator`).
    Coordinator,
    /// A site's relay: a coordinator to its own miners, one link to an upstream that pays
    /// (`netcoordinator relay`). It needs no factomd, prices or EC key.
    Relay,
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Coordinator => "coordinator",
            Role::Relay => "relay",
        })
    }
}

impl CoordinatorConfig {
    /// Checks what can be checked before starting, and returns the checked price plan (building
    /// it reads the price file, so the daemon uses this one instead of building another). The
    /// error lists every problem found, one per line.
    pub fn validate(&self) -> Result<Plan> {
        let (problems, plan) = self.problems(Role::Coordinator);
        match plan {
            Some(plan) if problems.is_empty() => Ok(plan),
            _ => bail!("{}", problems.join("\n")),
        }
    }

    /// [`problems`](Self::problems) as an error, for the relay (which needs no price plan).
    pub fn validate_relay(&self) -> Result<()> {
        let (problems, _) = self.problems(Role::Relay);
        if !problems.is_empty() {
            bail!("{}", problems.join("\n"));
        }
        Ok(())
    }

    /// Every problem of these settings for `role` (empty when it can start), each naming its
    /// key, and for the coordinator the price plan when the `[prices]` section is sound.
    pub fn problems(&self, role: Role) -> (Vec<String>, Option<Plan>) {
        let mut problems = self.listener_problems();
        match role {
            Role::Coordinator => {
                for (i, a) in self.alerts.iter().enumerate() {
                    problems.extend(a.problems(&format!("alerts[{i}]")));
                }
            }
            Role::Relay if !self.alerts.is_empty() => problems.push(
                "alerts: a relay sends no alerts; set [[alerts]] on the coordinator it relays to \
                 (its miners are listed there)"
                    .into(),
            ),
            Role::Relay => {}
        }
        let plan = match role {
            Role::Coordinator => self.coordinator_problems(&mut problems),
            Role::Relay => {
                self.relay_problems(&mut problems);
                None
            }
        };
        (problems, plan)
    }

    /// The miners' side, which both roles run.
    fn listener_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Err(e) = self.listen_addr() {
            problems.push(format!("{e:#}"));
        }
        let missing = self
            .secret
            .as_ref()
            .is_none_or(|s| s.expose_secret().is_empty());
        if self.no_auth {
            if let Ok(listen) = self.listen_addr() {
                if !listen.ip().is_loopback() {
                    problems.push(format!("no_auth (--no-auth) is refused on {listen}: without authentication anyone who reaches the port could mine and submit; it is allowed only on a loopback address (127.0.0.1 or ::1)"));
                }
            }
        } else if missing {
            problems.push("secret: no shared secret: set `secret` in the config, NETMINE_SECRET or --secret (or --no-auth to run without authentication)".into());
        } else {
            secret_problem(&mut problems, "secret", &self.secret);
        }
        secret_problem(&mut problems, "relay_secret", &self.relay_secret);
        secret_problem(&mut problems, "previous_secret", &self.previous_secret);
        if let Err(e) = self.previous_secret_deadline() {
            problems.push(format!("{e:#}"));
        }
        if let Some(c) = &self.coinbase {
            if !pegnet::validate::valid_coinbase(c.as_bytes()) {
                problems.push(format!("coinbase {c:?} is not a valid FA address"));
            }
        }
        for (relay, list) in &self.relay_identities {
            if !self.relays.contains(relay) {
                problems.push(format!("relay_identities: {relay:?} is not in relays"));
            }
            for p in list {
                let name = p.strip_suffix('*').unwrap_or(p);
                if name.is_empty() && p != "*"
                    || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == ',')
                {
                    problems.push(format!(
                        "relay_identities.{relay}: {p:?} is not an identity or a prefix ending in *"
                    ));
                }
            }
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            problems.push(format!("tls_cert, tls_key: {}", crate::tls::TlsError::Half));
        }
        for (key, value) in [
            ("records_per_miner", self.records_per_miner),
            ("max_connections", self.max_connections),
            ("max_pending", self.max_pending),
            ("max_pending_per_address", self.max_pending_per_address),
            ("ban_after", self.ban_after as usize),
            ("http_max_connections", self.http_max_connections),
        ] {
            if value == 0 {
                problems.push(format!("{key} must be at least 1"));
            }
        }
        for (key, secs) in [
            ("handshake_timeout_secs", self.handshake_timeout_secs),
            ("ban_secs", self.ban_secs),
            ("http_header_timeout_secs", self.http_header_timeout_secs),
            ("http_request_timeout_secs", self.http_request_timeout_secs),
        ] {
            if !(secs.is_finite() && secs > 0.0 && secs <= 86_400.0) {
                problems.push(format!(
                    "{key} must be a number of seconds above 0 (at most a day)"
                ));
            }
        }
        if let Some(bits) = self.bits {
            if let Err(e) = hashcore::params::check_bits(bits) {
                problems.push(format!("bits: {e}"));
            }
        }
        if self.relays.iter().any(|r| r.is_empty()) {
            problems.push("relays: a relay's name is empty".into());
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
        problems
    }

    /// The daemon's own keys: entries, payouts, the node, the prices.
    fn coordinator_problems(&self, problems: &mut Vec<String>) -> Option<Plan> {
        if self.max_entries == 0 {
            problems.push("max_entries must be at least 1".into());
        }
        if self.max_entries_per_coinbase == Some(0) {
            problems.push("max_entries_per_coinbase must be at least 1 (leave it unset for no limit): 0 would pay no one".into());
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
        if let Err(e) = factom::transport::endpoint(&self.factomd) {
            problems.push(format!("factomd: {e}"));
        }
        if let Some(Err(e)) = self
            .ec_secret
            .as_ref()
            .map(|s| s.expose_secret().parse::<factom::EcSecret>())
        {
            problems.push(format!("ec_secret: {e}"));
        }
        if let Some(Err(e)) = self
            .ec_address
            .as_ref()
            .map(|a| a.parse::<factom::EcAddress>())
        {
            problems.push(format!("ec_address: {e}"));
        }
        match self.prices.plan(self.network) {
            Ok(p) => Some(p),
            Err(e) => {
                problems.push(e.to_string());
                None
            }
        }
    }

    /// A relay's own keys: its upstream and its name there.
    fn relay_problems(&self, problems: &mut Vec<String>) {
        if self.standby {
            problems.push(
                "standby: a relay pays nothing, so it cannot stand by for a coordinator (run a \
                 second relay and list both in the miners' caddr instead)"
                    .into(),
            );
        }
        if self.upstream.is_empty() {
            problems.push(
                "upstream: no upstream coordinator (--upstream HOST:PORT, or upstream in the config)"
                    .into(),
            );
        }
        match &self.relay_name {
            None => problems.push(
                "relay_name: no name (--relay-name): the relay's identity at the upstream, listed in its `relays`"
                    .into(),
            ),
            Some(n) if !pegnet::validate::valid_identity(n.as_bytes()) => problems.push(format!(
                "relay_name {n:?}: use ASCII letters, digits and commas only"
            )),
            Some(_) => {}
        }
        if self
            .upstream_secret
            .as_ref()
            .is_none_or(|s| s.expose_secret().is_empty())
        {
            problems.push("upstream_secret: missing: set NETMINE_UPSTREAM_SECRET (or upstream_secret in the config)".into());
        } else {
            secret_problem(problems, "upstream_secret", &self.upstream_secret);
        }
        for fp in &self.upstream_tls_fingerprint {
            if !fingerprint_ok(fp) {
                problems.push(format!(
                    "upstream_tls_fingerprint {fp:?} is not sha256:<64 hex digits>"
                ));
            }
        }
    }
}

/// A secret that is set must be long enough; the message names the key, never the value.
fn secret_problem(problems: &mut Vec<String>, key: &str, s: &Option<SecretString>) {
    if let Some(s) = s {
        if let Err(e) = protocol::Secret::checked(s.expose_secret()) {
            problems.push(format!("{key}: {e}"));
        }
    }
}

/// `sha256:` (optional) and 64 hex digits, colons between bytes allowed: the form
/// `netcoordinator tls-fingerprint` prints.
fn fingerprint_ok(text: &str) -> bool {
    let t = text.trim();
    let hexpart = t.strip_prefix("sha256:").unwrap_or(t).replace(':', "");
    hexpart.len() == 64 && hexpart.bytes().all(|b| b.is_ascii_hexdigit())
}
