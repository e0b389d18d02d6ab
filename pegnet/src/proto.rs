//! V2–V5 content: protobuf (spec §3.5), decoded like gogo-protobuf (strings as raw bytes, no UTF-8
//! check) and encoded canonically, so re-encoding a decoded mainnet record gives its bytes back.

use prost::Message;

/// The `opr.V2Content` message.
#[derive(Clone, PartialEq, Message)]
pub struct V2Content {
    /// Coinbase Factoid address (`FA…`), as raw bytes.
    #[prost(bytes = "vec", tag = "1")]
    pub address: Vec<u8>,
    /// Miner identity, as raw bytes.
    #[prost(bytes = "vec", tag = "2")]
    pub id: Vec<u8>,
    /// Height of the block the record is for.
    #[prost(int32, tag = "3")]
    pub height: i32,
    /// Previous winners: 8 raw bytes each (or empty).
    #[prost(bytes = "vec", repeated, tag = "4")]
    pub winners: Vec<Vec<u8>>,
    /// Prices in the version's asset order, each in units of 10⁻⁸ USD (USD × 1e8).
    #[prost(uint64, repeated, tag = "5")]
    pub assets: Vec<u64>,
}

impl V2Content {
    /// Decodes content; empty content is refused as gogo's grader does.
    pub fn parse(content: &[u8]) -> Result<V2Content, String> {
        if content.is_empty() {
            return Err("no bytes to decode".into());
        }
        V2Content::decode(content).map_err(|e| format!("protobuf: {e}"))
    }

    /// Canonical protobuf encoding (fields in tag order): the bytes a miner hashes and a
    /// coordinator puts in the entry. Re-encoding a decoded mainnet record gives its bytes back.
    pub fn encode(&self) -> Vec<u8> {
        self.encode_to_vec()
    }
}
