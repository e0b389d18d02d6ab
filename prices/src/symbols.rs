//! How each API names PegNet's assets. PegNet calls Bitcoin `XBT` and Bitcoin Cash `XBC`; the
//! crypto APIs key their data by CoinMarketCap's numeric IDs, CoinGecko's IDs or CoinCap's slugs.
//! These are the IDs PegNet's `polling/` package uses (spec `factom-node.md` §9).

/// A crypto asset and its name at each API.
#[derive(Debug, Clone, Copy)]
pub struct Crypto {
    /// PegNet's ticker for the asset (e.g. `XBT` for bitcoin, `XBC` for bitcoin cash).
    pub asset: &'static str,
    /// CoinMarketCap's (and alternative.me's) numeric ID.
    pub cmc_id: u32,
    /// CoinGecko's coin ID (e.g. `bitcoin`), as its `ids=` parameter and answer keys use it.
    pub coingecko: &'static str,
    /// CoinCap's slug, where PegNet polled CoinCap for the asset.
    pub coincap: Option<&'static str>,
    /// alternative.me's ticker serves the asset (its `limit=300` listing).
    pub alternative_me: bool,
}

const fn c(
    asset: &'static str,
    cmc_id: u32,
    coingecko: &'static str,
    coincap: Option<&'static str>,
    alternative_me: bool,
) -> Crypto {
    Crypto {
        asset,
        cmc_id,
        coingecko,
        coincap,
        alternative_me,
    }
}

/// Every crypto asset of OPR versions 1–5, PEG first.
pub const CRYPTOS: [Crypto; 29] = [
    c("PEG", 4979, "pegnet", None, false),
    c("XBT", 1, "bitcoin", Some("bitcoin"), true),
    c("ETH", 1027, "ethereum", Some("ethereum"), true),
    c("LTC", 2, "litecoin", Some("litecoin"), true),
    c("RVN", 2577, "ravencoin", Some("ravencoin"), true),
    c("XBC", 1831, "bitcoin-cash", Some("bitcoin-cash"), true),
    c("FCT", 1087, "factom", Some("factom"), true),
    c("BNB", 1839, "binancecoin", Some("binance-coin"), true),
    c("XLM", 512, "stellar", Some("stellar"), true),
    c("ADA", 2010, "cardano", Some("cardano"), true),
    c("XMR", 328, "monero", Some("monero"), true),
    c("DASH", 131, "dash", Some("dash"), true),
    c("ZEC", 1437, "zcash", Some("zcash"), true),
    c("DCR", 1168, "decred", Some("decred"), true),
    c("EOS", 1765, "eos", Some("eos"), true),
    c("LINK", 1975, "chainlink", Some("chainlink"), true),
    c("ATOM", 3794, "cosmos", Some("cosmos"), false),
    c(
        "BAT",
        1697,
        "basic-attention-token",
        Some("basic-attention-token"),
        true,
    ),
    // alternative.me maps XTZ in PegNet but never requests it.
    c("XTZ", 2011, "tezos", Some("tezos"), false),
    c(
        "HBAR",
        4642,
        "hedera-hashgraph",
        Some("hedera-hashgraph"),
        false,
    ),
    c("NEO", 1376, "neo", Some("neo"), true),
    c("CRO", 3635, "crypto-com-chain", None, false),
    c(
        "ETC",
        1321,
        "ethereum-classic",
        Some("ethereum-classic"),
        true,
    ),
    c("ONT", 2566, "ontology", Some("ontology"), true),
    c("DOGE", 74, "dogecoin", Some("dogecoin"), true),
    c("VET", 3077, "vechain", Some("vechain"), false),
    c("HT", 2502, "huobi-token", Some("huobi-token"), true),
    c("ALGO", 4030, "algorand", Some("algorand"), false),
    c("DGB", 109, "digibyte", Some("digibyte"), false),
];

/// Every fiat currency of OPR versions 1–5 except USD (V1, then V4's, then V5's additions).
pub const FIATS: [&str; 30] = [
    "EUR", "JPY", "GBP", "CAD", "CHF", "INR", "SGD", "CNY", "HKD", "KRW", "BRL", "PHP", "MXN",
    "AUD", "NZD", "SEK", "NOK", "RUB", "ZAR", "TRY", "AED", "ARS", "TWD", "RWF", "KES", "UGX",
    "TZS", "BIF", "ETB", "NGN",
];

/// The precious metals PegNet prices (XPD and XPT only in V1).
pub const METALS: [&str; 4] = ["XAU", "XAG", "XPD", "XPT"];

/// The crypto entry of `asset`.
pub fn crypto(asset: &str) -> Option<&'static Crypto> {
    CRYPTOS.iter().find(|c| c.asset == asset)
}

/// Whether `asset` is a fiat currency other than USD.
pub fn is_fiat(asset: &str) -> bool {
    FIATS.contains(&asset)
}

/// Every asset any OPR version prices, with PEG under its V2+ name.
pub fn all_assets() -> Vec<&'static str> {
    let mut v: Vec<&str> = pegnet::assets::for_version(5);
    for a in pegnet::assets::V1 {
        if a != "PNT" && !v.contains(&a) {
            v.push(a);
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_classified_once() {
        for a in all_assets() {
            let kinds = [
                crypto(a).is_some(),
                is_fiat(a),
                METALS.contains(&a),
                a == "USD",
            ];
            assert_eq!(kinds.iter().filter(|k| **k).count(), 1, "{a}");
        }
        assert_eq!(all_assets().len(), 64);
        let mut ids: Vec<u32> = CRYPTOS.iter().map(|c| c.cmc_id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), CRYPTOS.len(), "CMC IDs are unique");
    }
}
