//! factom-walletd client: fetch the `Es` secret of an EC address, for operators who keep keys in
//! the wallet (spec `factom-node.md` §7).

use crate::address::{EcAddress, EcSecret};
use crate::transport::{ClientError, JsonRpc, RpcConfig};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
struct AddressResult {
    public: String,
    secret: String,
}

/// Client of factom-walletd's `/v2` JSON-RPC endpoint. netmine uses it only to look up the `Es`
/// secret of the paying EC address at start-up, then signs commits locally.
#[derive(Debug)]
pub struct WalletdClient {
    rpc: JsonRpc,
}

impl WalletdClient {
    /// A client with the given settings (walletd listens on `localhost:8089` by default).
    pub fn new(cfg: RpcConfig) -> Result<Self, ClientError> {
        Ok(WalletdClient {
            rpc: JsonRpc::new(cfg)?,
        })
    }

    /// The secret key of `ec`, checked to match it.
    pub async fn ec_secret(&self, ec: &EcAddress) -> Result<EcSecret, ClientError> {
        let r: AddressResult = self
            .rpc
            .call("address", json!({"address": ec.to_string()}))
            .await?;
        let bad = |detail: String| ClientError::Decode {
            url: self.rpc.url().to_string(),
            method: "address".into(),
            detail,
        };
        let secret: EcSecret = r.secret.parse().map_err(|e| bad(format!("{e}")))?;
        if secret.public() != *ec || r.public != ec.to_string() {
            return Err(bad(format!("walletd returned a key that is not {ec}")));
        }
        Ok(secret)
    }
}
