//! PegNet networks and the OPR version in force at a height (spec §3.3).

use std::fmt;
use std::str::FromStr;

/// First MainNet OPR block.
pub const MAINNET_ACTIVATION: u32 = 206_422;
/// MainNet V2 (protobuf, 25 winners, band grading).
pub const V2_HEIGHT: u32 = 210_330;
/// MainNet V3 (PEG must be priced).
pub const V3_HEIGHT: u32 = 222_270;
/// MainNet V4 (42 assets).
pub const V4_HEIGHT: u32 = 231_620;
/// MainNet V5 (62 assets, trimmed-mean grading).
pub const V5_HEIGHT: u32 = 258_796;

/// A PegNet network: picks the OPR chain, the version schedule and thus the asset lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Network {
    /// PegNet's production network on Factom mainnet; versions change at the `V*_HEIGHT`
    /// heights of this module.
    MainNet,
    /// PegNet's testnet (`TestNet-pM7`): always V5.
    TestNet,
    /// netmine's local network on the simulated factomd: always V5.
    DevNet,
}

impl Network {
    /// The name in the OPR chain's second ExtID.
    pub fn chain_name(self) -> &'static str {
        match self {
            Network::MainNet => "MainNet",
            Network::TestNet => "TestNet-pM7",
            Network::DevNet => "devnet",
        }
    }

    /// ID of the Factom chain the network's OPR entries go to, derived from [`Network::chain_name`]
    /// as PegNet does.
    pub fn opr_chain(self) -> [u8; 32] {
        factom::opr_chain_id(self.chain_name())
    }

    /// The OPR version for records of block `height`.
    pub fn version(self, height: u32) -> u8 {
        match self {
            Network::TestNet | Network::DevNet => 5,
            Network::MainNet => match height {
                h if h >= V5_HEIGHT => 5,
                h if h >= V4_HEIGHT => 4,
                h if h >= V3_HEIGHT => 3,
                h if h >= V2_HEIGHT => 2,
                _ => 1,
            },
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Network::MainNet => "mainnet",
            Network::TestNet => "testnet",
            Network::DevNet => "devnet",
        })
    }
}

impl FromStr for Network {
    type Err = String;
    /// Case-insensitive: `mainnet`, `testnet` (or `TestNet-pM7`), `devnet`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "mainnet" => Ok(Network::MainNet),
            "testnet" | "testnet-pm7" => Ok(Network::TestNet),
            "devnet" => Ok(Network::DevNet),
            _ => Err(format!(
                "unknown network {s:?}: expected mainnet, testnet or devnet"
            )),
        }
    }
}

/// Read from configs by name (`network = "devnet"`), with [`FromStr`]'s rules and message.
impl<'de> serde::Deserialize<'de> for Network {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// Written by name, as [`fmt::Display`] does.
impl serde::Serialize for Network {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mainnet_activation_heights() {
        let m = Network::MainNet;
        assert_eq!(m.version(206_422), 1);
        assert_eq!(m.version(210_329), 1);
        assert_eq!(m.version(210_330), 2);
        assert_eq!(m.version(222_269), 2);
        assert_eq!(m.version(222_270), 3);
        assert_eq!(m.version(231_620), 4);
        assert_eq!(m.version(258_795), 4);
        assert_eq!(m.version(258_796), 5);
        assert_eq!(Network::TestNet.version(1), 5);
        assert_eq!(Network::DevNet.version(210_000), 5);
        assert_eq!(
            hex::encode(Network::MainNet.opr_chain()),
            "a642a8674f46696cc47fdb6b65f9c87b2a19c5ea8123b3d2f0c13b6f33a9d5ef"
        );
        assert_eq!("TestNet-pM7".parse::<Network>().unwrap(), Network::TestNet);
        assert!("moon".parse::<Network>().is_err());
    }
}
