//! Building a record to mine: the coordinator's template plus a miner's identity and coinbase, and
//! the entry that carries it (spec §2.1, §3.2).

use crate::network::Network;
use crate::proto::V2Content;
use crate::validate::{
    check_v2_prices, valid_coinbase, valid_identity, winners_format_ok, InvalidRecord,
};
use sha2::{Digest, Sha256};

/// Everything in a V2+ record except the miner's identity and coinbase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OprTemplate {
    /// Network the record is for; with `height` it fixes the OPR version and asset list.
    pub network: Network,
    /// Height of the block the record is for.
    pub height: u32,
    /// The previous graded block's winners (hex short hashes, or 25 empty strings at genesis).
    pub winners: Vec<String>,
    /// Prices in the version's asset order, each in units of 10⁻⁸ USD (USD × 1e8).
    pub prices: Vec<u64>,
}

/// A job's OPR fields that do not describe a record this build can make.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobFieldsError {
    /// The network name is not one PegNet knows.
    #[error("{0}")]
    Network(String),
    /// The version the job names is not the network's at its height: hashing either encoding
    /// could make a record the grader rejects.
    #[error(
        "the job names OPR version {got}, but {network} uses version {want} at height {height}"
    )]
    Version {
        /// The version the job names.
        got: u8,
        /// The network's version at the height.
        want: u8,
        /// The network.
        network: Network,
        /// The height.
        height: u32,
    },
}

/// The template a job's OPR fields describe (what a netminer or a relay receives from its
/// coordinator).
impl TryFrom<protocol::OprFields> for OprTemplate {
    type Error = JobFieldsError;

    fn try_from(opr: protocol::OprFields) -> Result<Self, Self::Error> {
        let network: Network = opr.network.parse().map_err(JobFieldsError::Network)?;
        let want = network.version(opr.height);
        if opr.version != want {
            return Err(JobFieldsError::Version {
                got: opr.version,
                want,
                network,
                height: opr.height,
            });
        }
        Ok(OprTemplate {
            network,
            height: opr.height,
            winners: opr.winners,
            prices: opr.prices,
        })
    }
}

/// The OPR fields of a job for this template (what a coordinator or a relay sends).
impl From<&OprTemplate> for protocol::OprFields {
    fn from(t: &OprTemplate) -> Self {
        protocol::OprFields {
            network: t.network.to_string(),
            height: t.height,
            version: t.version(),
            winners: t.winners.clone(),
            prices: t.prices.clone(),
        }
    }
}

impl OprTemplate {
    /// The record version at this height.
    pub fn version(&self) -> u8 {
        self.network.version(self.height)
    }

    /// The record content for one miner. Refuses what the grader would reject, so a miner never
    /// hashes (and a coordinator never pays for) a record that cannot win.
    pub fn content(&self, identity: &str, coinbase: &str) -> Result<Vec<u8>, InvalidRecord> {
        let v = self.version();
        if v < 2 {
            return Err(InvalidRecord::Version {
                got: vec![v],
                want: 2,
            });
        }
        if !valid_identity(identity.as_bytes()) {
            return Err(InvalidRecord::Identity(identity.to_string()));
        }
        check_identity_cost(identity)?;
        if !valid_coinbase(coinbase.as_bytes()) {
            return Err(InvalidRecord::Coinbase(coinbase.to_string()));
        }
        check_v2_prices(v, &self.prices)?;
        let winners_fit = winners_format_ok(&self.winners, 25)
            || (v == 2 && winners_format_ok(&self.winners, 10));
        if !winners_fit {
            return Err(InvalidRecord::WinnerFormat);
        }
        let winners = self
            .winners
            .iter()
            .map(|w| hex::decode(w).map_err(|_| InvalidRecord::WinnerFormat))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(V2Content {
            address: coinbase.as_bytes().to_vec(),
            id: identity.as_bytes().to_vec(),
            height: self.height as i32,
            winners,
            assets: self.prices.clone(),
        }
        .encode())
    }
}

/// Entry credits the entry of a V2+ record with this identity costs at most: 64 prices each under
/// 2^56 (USD 720 million per unit), the largest height, a full winner list and a 16-byte nonce.
/// (A record with a larger price could cost more: the payer's spending cap, which counts each
/// entry's real cost, then leaves it unpaid.)
pub fn worst_case_cost(identity: &str) -> u8 {
    let content = V2Content {
        address: vec![b'F'; 52],
        id: identity.as_bytes().to_vec(),
        height: i32::MAX,
        winners: vec![vec![0xff; 8]; 25],
        assets: vec![(1 << 56) - 1; 64],
    }
    .encode();
    opr_entry(Network::MainNet, 5, &content, &[0xff; 16], u64::MAX)
        .cost()
        .unwrap_or(u8::MAX)
}

/// The longest identity whose records always fit a 1-EC entry.
pub fn max_identity_len() -> usize {
    static MAX: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *MAX.get_or_init(|| {
        let (mut lo, mut hi) = (0usize, 1024usize); // worst_case_cost(lo) == 1 < cost(hi)
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            if worst_case_cost(&"x".repeat(mid)) == 1 {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
    })
}

/// Refuses an identity whose records would cost more than the 1 EC a farm budgets per entry.
pub fn check_identity_cost(identity: &str) -> Result<(), InvalidRecord> {
    let max = max_identity_len();
    if identity.len() > max {
        return Err(InvalidRecord::IdentityTooLong {
            len: identity.len(),
            max,
        });
    }
    Ok(())
}

/// SHA-256 of the content: the prefix miners hash with their nonces.
pub fn opr_hash(content: &[u8]) -> [u8; 32] {
    Sha256::digest(content).into()
}

/// The Factom entry of a mined record: ExtIDs `[nonce, difficulty (8 bytes BE), version]`.
pub fn opr_entry(
    network: Network,
    version: u8,
    content: &[u8],
    nonce: &[u8],
    difficulty: u64,
) -> factom::Entry {
    factom::Entry {
        chain_id: network.opr_chain(),
        ext_ids: vec![
            nonce.to_vec(),
            difficulty.to_be_bytes().to_vec(),
            vec![version],
        ],
        content: content.to_vec(),
    }
}

/// First 8 bytes of an entry hash, lowercase hex.
pub fn short_hash(entry_hash: &[u8; 32]) -> String {
    hex::encode(&entry_hash[..8])
}

/// Converts a USD price to the record's integer form as PegNet does: truncate to 8 decimals, then
/// round(value × 1e8). `None` for NaN, infinite, negative or out-of-range values (the truncation
/// goes through a signed 64-bit integer, as PegNet's does, so the limit is `i64::MAX` / 1e8, about
/// 9.2e10 USD: a larger price is refused, never saturated into a wrong one).
pub fn price_to_u64(usd: f64) -> Option<u64> {
    if !usd.is_finite() || usd < 0.0 || usd * 1e8 >= i64::MAX as f64 {
        return None;
    }
    let truncated = ((usd * 1e8) as i64) as f64 / 1e8;
    Some((truncated * 1e8).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assets;

    fn template(network: Network, height: u32) -> OprTemplate {
        let n = assets::for_version(network.version(height)).len();
        OprTemplate {
            network,
            height,
            winners: vec![String::new(); 25],
            prices: vec![100_000_000; n],
        }
    }

    #[test]
    fn a_jobs_fields_round_trip_and_a_wrong_network_or_version_is_refused() {
        let t = template(Network::DevNet, 9);
        let fields = protocol::OprFields::from(&t);
        assert_eq!(fields.network, "devnet");
        assert_eq!(fields.version, t.version());
        assert_eq!(OprTemplate::try_from(fields.clone()), Ok(t.clone()));
        let unknown = protocol::OprFields {
            network: "moonnet".into(),
            ..fields.clone()
        };
        assert!(matches!(
            OprTemplate::try_from(unknown),
            Err(JobFieldsError::Network(_))
        ));
        let wrong = protocol::OprFields {
            version: t.version() - 1,
            ..fields
        };
        let e = OprTemplate::try_from(wrong).unwrap_err();
        assert!(e.to_string().contains("version"), "{e}");
    }

    const FA: &str = "FA2jK2HcLnRdS94dEcU27rF3meoJfpUcZPSinpb7AwQvPRY6RL1Q";

    #[test]
    fn content_round_trips_and_entries_are_well_formed() {
        let t = template(Network::DevNet, 100);
        let c = t.content("miner1", FA).unwrap();
        let d = V2Content::parse(&c).unwrap();
        assert_eq!((d.height, d.assets.len(), d.winners.len()), (100, 62, 25));
        assert_eq!(d.id, b"miner1");
        let e = opr_entry(Network::DevNet, 5, &c, &[1, 2], 0xffee);
        assert_eq!(e.ext_ids[1], 0xffeeu64.to_be_bytes().to_vec());
        assert_eq!(e.ext_ids[2], vec![5]);
        assert_eq!(
            e.cost().unwrap(),
            1,
            "a full V5 record costs one entry credit"
        );
    }

    #[test]
    fn content_refuses_what_the_grader_rejects() {
        let t = template(Network::DevNet, 100);
        assert!(matches!(
            t.content("bad-id", FA),
            Err(InvalidRecord::Identity(_))
        ));
        // Identities whose records would cost more than 1 EC are refused.
        let max = crate::record::max_identity_len();
        assert!(max >= 64, "{max}");
        assert_eq!(crate::record::worst_case_cost(&"x".repeat(max)), 1);
        assert_eq!(crate::record::worst_case_cost(&"x".repeat(max + 1)), 2);
        let long = "x".repeat(9000);
        assert!(matches!(
            t.content(&long, FA),
            Err(InvalidRecord::IdentityTooLong { len: 9000, .. })
        ));
        let fits = t.content(&"x".repeat(max), FA).unwrap();
        let entry = opr_entry(t.network, t.version(), &fits, &[0xff; 16], u64::MAX);
        assert_eq!(entry.cost().unwrap(), 1);
        assert!(matches!(
            t.content("ok", "FAnope"),
            Err(InvalidRecord::Coinbase(_))
        ));
        let mut z = t.clone();
        z.prices[0] = 0;
        assert_eq!(z.content("ok", FA), Err(InvalidRecord::ZeroPrice("PEG")));
        let mut short = t.clone();
        short.prices.pop();
        assert!(matches!(
            short.content("ok", FA),
            Err(InvalidRecord::AssetCount { .. })
        ));
        let mut w = t;
        w.winners.truncate(10);
        assert_eq!(w.content("ok", FA), Err(InvalidRecord::WinnerFormat));
        assert!(
            template(Network::MainNet, 206_500)
                .content("ok", FA)
                .is_err(),
            "no new V1 records"
        );
    }

    #[test]
    fn prices_truncate_then_round() {
        assert_eq!(price_to_u64(1.0), Some(100_000_000));
        assert_eq!(price_to_u64(1.123456789), Some(112_345_678));
        assert_eq!(price_to_u64(0.0), Some(0));
        assert_eq!(price_to_u64(f64::NAN), None);
        assert_eq!(price_to_u64(-1.0), None);
        assert_eq!(price_to_u64(f64::INFINITY), None);
        // Beyond the signed 64-bit truncation: refused, not saturated to i64::MAX.
        assert_eq!(price_to_u64(1.0e11), None);
        assert_eq!(price_to_u64(9.0e10), Some(9_000_000_000_000_000_000));
    }
}
