//! What a link to a coordinator needs, whoever holds it: a netminer (whose `MinerConfig` holds a
//! [`LinkConfig`] next to its mining settings) or a relay (whose link to its upstream is a link
//! like a miner's).
//!
//! The names a link authenticates with are checked here, once: the identity (characters, and
//! that a record carrying it still fits a 1-EC entry) by [`check_identity`], the coinbase (a
//! valid FA address) by [`check_coinbase`], and both with the addresses by
//! [`LinkConfig::check`]. Every start-up path calls that before the first connection (a table copy
//! included), so a typo is said at once and not after a refusal by the coordinator.

use crate::addr::CoordinatorAddr;
use crate::tls::TlsTrust;
use protocol::Secret;
use std::time::Duration;

/// The shortest time a coordinator that refused a link fatally is left alone (10 minutes).
pub const REFUSED_RETRY_AFTER: Duration = Duration::from_secs(600);

/// A link's settings.
#[derive(Debug, Clone)]
pub struct LinkConfig {
    /// Coordinators, preferred first.
    pub coordinators: Vec<CoordinatorAddr>,
    /// The shared secret the coordinators know.
    pub secret: Secret,
    /// Identity in the handshake (a miner's records carry it; a relay's name at its upstream).
    pub identity: String,
    /// Coinbase FA address in the handshake (a miner's rewards go there, unless the coordinator
    /// assigns the farm's). A relay sends none to a version-2 upstream; this one only stands in
    /// for a version-1 upstream, whose handshake wants one.
    pub coinbase: String,
    /// What the link is: a miner's, or a relay's link to its upstream.
    pub role: protocol::PeerRole,
    /// The box's signing key: it signs every version-2 handshake, so the coordinator knows
    /// this box from any other that knows the farm secret (`None`: an unsigned link, refused by
    /// a coordinator that pinned a key for the identity).
    pub key: Option<protocol::BoxKey>,
    /// Which `wss://` coordinators to trust (pinned certificate, CA file or system roots).
    pub tls: TlsTrust,
    /// Connecting and authenticating with one coordinator must finish within this; a
    /// coordinator that goes silent (after its challenge, say) is given up for the next one.
    pub handshake_timeout: Duration,
    /// A coordinator that refused the link fatally (wrong secret, bad or duplicate identity,
    /// pinned certificate mismatch) is not tried again, nor failed back to, for this long.
    pub refused_retry_after: Duration,
    /// While on a backup coordinator, how often to check whether the preferred one is back.
    pub failback_every: Duration,
}

impl Default for LinkConfig {
    /// Every setting at its default, with no coordinator, an empty secret and no names: fill in
    /// `coordinators`, `secret`, `identity` and `coinbase`.
    fn default() -> Self {
        LinkConfig {
            coordinators: Vec::new(),
            secret: Secret::new(""),
            identity: String::new(),
            coinbase: String::new(),
            role: protocol::PeerRole::Miner,
            key: None,
            tls: TlsTrust::default(),
            handshake_timeout: Duration::from_secs(15),
            refused_retry_after: REFUSED_RETRY_AFTER,
            failback_every: Duration::from_secs(30),
        }
    }
}

/// Why a [`LinkConfig`] cannot be used (checked before connecting).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// The identity has other characters than ASCII letters, digits and commas (or none).
    #[error("identity {0:?} is not valid: use ASCII letters, digits and commas only")]
    IdentityChars(String),
    /// The identity is so long that a record would not fit a 1-EC entry.
    #[error("identity: {0}")]
    IdentityCost(pegnet::InvalidRecord),
    /// The coinbase is not a valid FA address.
    #[error("coinbase {0:?} is not a valid FA address")]
    Coinbase(String),
    /// The list of coordinators is empty.
    #[error("no coordinator address")]
    NoCoordinator,
}

/// Checks an identity: ASCII letters, digits and commas, short enough that its records fit a
/// 1-EC entry.
pub fn check_identity(identity: &str) -> Result<(), ConfigError> {
    if !pegnet::validate::valid_identity(identity.as_bytes()) {
        return Err(ConfigError::IdentityChars(identity.to_string()));
    }
    pegnet::record::check_identity_cost(identity).map_err(ConfigError::IdentityCost)
}

/// Checks a coinbase: a valid FA address.
pub fn check_coinbase(coinbase: &str) -> Result<(), ConfigError> {
    if pegnet::validate::valid_coinbase(coinbase.as_bytes()) {
        Ok(())
    } else {
        Err(ConfigError::Coinbase(coinbase.to_string()))
    }
}

impl LinkConfig {
    /// Checks what can be checked before connecting: the identity, the coinbase, and that there
    /// is a coordinator. (Each address was checked when it was parsed.)
    pub fn check(&self) -> Result<(), ConfigError> {
        check_identity(&self.identity)?;
        check_coinbase(&self.coinbase)?;
        if self.coordinators.is_empty() {
            return Err(ConfigError::NoCoordinator);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FA: &str = "FA2jK2HcLnRdS94dEcU27rF3meoJfpUcZPSinpb7AwQvPRY6RL1Q";

    fn cfg(identity: &str, coinbase: &str, addrs: &[&str]) -> LinkConfig {
        LinkConfig {
            coordinators: CoordinatorAddr::parse_all(addrs).unwrap(),
            identity: identity.into(),
            coinbase: coinbase.into(),
            ..LinkConfig::default()
        }
    }

    #[test]
    fn names_and_the_address_list_are_checked_before_connecting() {
        assert_eq!(cfg("rig1,a", FA, &["h:1"]).check(), Ok(()));
        assert!(matches!(
            cfg("rig 1", FA, &["h:1"]).check(),
            Err(ConfigError::IdentityChars(_))
        ));
        assert!(matches!(
            cfg("", FA, &["h:1"]).check(),
            Err(ConfigError::IdentityChars(_))
        ));
        let long = "x".repeat(9000);
        let e = cfg(&long, FA, &["h:1"]).check().unwrap_err();
        assert!(matches!(e, ConfigError::IdentityCost(_)));
        assert!(e.to_string().contains("1-EC entry"), "{e}");
        assert_eq!(
            cfg("rig1", "FAnope", &["h:1"]).check(),
            Err(ConfigError::Coinbase("FAnope".into()))
        );
        assert_eq!(
            cfg("rig1", FA, &[]).check(),
            Err(ConfigError::NoCoordinator)
        );
    }

    #[test]
    fn a_refused_coordinator_is_left_alone_for_at_least_ten_minutes_by_default() {
        assert!(REFUSED_RETRY_AFTER >= Duration::from_secs(600));
        assert_eq!(
            LinkConfig::default().refused_retry_after,
            REFUSED_RETRY_AFTER
        );
    }
}
