//! Asset lists per OPR version (spec `pegnet-opr.md` §3.6). The order is the protobuf array order.

/// V1: 32 assets; PEG is still called `PNT` (the JSON key PegNet used at launch).
pub const V1: [&str; 32] = [
    "PNT", "USD", "EUR", "JPY", "GBP", "CAD", "CHF", "INR", "SGD", "CNY", "HKD", "KRW", "BRL",
    "PHP", "MXN", "XAU", "XAG", "XPD", "XPT", "XBT", "ETH", "LTC", "RVN", "XBC", "FCT", "BNB",
    "XLM", "ADA", "XMR", "DASH", "ZEC", "DCR",
];

/// V2 and V3: V1 with PNT renamed PEG and XPD, XPT removed.
pub const V2: [&str; 30] = [
    "PEG", "USD", "EUR", "JPY", "GBP", "CAD", "CHF", "INR", "SGD", "CNY", "HKD", "KRW", "BRL",
    "PHP", "MXN", "XAU", "XAG", "XBT", "ETH", "LTC", "RVN", "XBC", "FCT", "BNB", "XLM", "ADA",
    "XMR", "DASH", "ZEC", "DCR",
];

/// V4: V2 plus 12.
pub const V4_EXTRA: [&str; 12] = [
    "AUD", "NZD", "SEK", "NOK", "RUB", "ZAR", "TRY", "EOS", "LINK", "ATOM", "BAT", "XTZ",
];

/// V5: V4 plus 20.
pub const V5_EXTRA: [&str; 20] = [
    "HBAR", "NEO", "CRO", "ETC", "ONT", "DOGE", "VET", "HT", "ALGO", "DGB", "AED", "ARS", "TWD",
    "RWF", "KES", "UGX", "TZS", "BIF", "ETB", "NGN",
];

/// The assets of an OPR version, in record order (V1 uses `PNT` for PEG).
pub fn for_version(version: u8) -> Vec<&'static str> {
    match version {
        1 => V1.to_vec(),
        2 | 3 => V2.to_vec(),
        4 => V2.iter().chain(V4_EXTRA.iter()).copied().collect(),
        _ => V2
            .iter()
            .chain(V4_EXTRA.iter())
            .chain(V5_EXTRA.iter())
            .copied()
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_positions() {
        assert_eq!(for_version(1).len(), 32);
        assert_eq!(for_version(2).len(), 30);
        assert_eq!(for_version(3).len(), 30);
        assert_eq!(for_version(4).len(), 42);
        let v5 = for_version(5);
        assert_eq!(v5.len(), 62);
        assert_eq!(
            (v5[0], v5[17], v5[41], v5[42], v5[61]),
            ("PEG", "XBT", "XTZ", "HBAR", "NGN")
        );
    }
}
