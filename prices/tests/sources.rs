//! Every HTTP source against the fixture server: the documented shapes, and every way an API goes
//! wrong (malformed JSON, missing assets, HTTP 429/500, a socket that never answers, a price of 0
//! or "NaN", a bad key).

mod common;

use common::*;
use prices::report::SourceOutcome;
use prices_fixture::{Fault, FixtureServer};
use serde_json::json;
use std::time::Duration;

const HTTP_SOURCES: [&str; 9] = [
    "PegnetMarketCap",
    "AlternativeMe",
    "FreeForexAPI",
    "OpenExchangeRates",
    "APILayer",
    "CoinMarketCap",
    "CoinCap",
    "CoinGecko",
    "1Forge",
];

#[tokio::test]
async fn every_source_reads_its_documented_shape() {
    let fx = FixtureServer::devnet().await.unwrap();
    let want = devnet_prices();
    for name in HTTP_SOURCES {
        let o = oracle(&config(&fx, &[(name, 1)], ""));
        let report = o.poll(5).await;
        assert_eq!(report.sources[0].outcome, SourceOutcome::Fetched, "{name}");
        let src = prices::sources::build(name, None, Some("k".into()), None).unwrap();
        let mut priced = 0;
        for a in &report.assets {
            if !src.supports(&a.asset) {
                assert!(a.value.is_none(), "{name} priced {}", a.asset);
                continue;
            }
            let v = a.value.unwrap_or_else(|| panic!("{name}: no {}", a.asset));
            assert!(close(v, want[&a.asset]), "{name} {}: {v}", a.asset);
            assert_eq!(a.source.as_deref(), Some(name));
            priced += 1;
        }
        assert!(priced >= 1, "{name}");
        // V1 adds XPD and XPT, which only OpenExchangeRates has; PEG is called PNT there.
        let v1 = o.poll(1).await;
        let xpd = v1.assets.iter().find(|a| a.asset == "XPD").unwrap();
        assert_eq!(xpd.value.is_some(), name == "OpenExchangeRates", "{name}");
        assert_eq!(fx.fixture.hits(name), 2, "{name}: one request per poll");
    }
}

#[tokio::test]
async fn a_complete_set_of_sources_builds_every_version() {
    let fx = FixtureServer::devnet().await.unwrap();
    let cfg = config(
        &fx,
        &[("FixedUSD", 0), ("CoinGecko", 1), ("OpenExchangeRates", 2)],
        "",
    );
    let o = oracle(&cfg);
    for v in 1..=5 {
        let p = o.record_prices(v).await.unwrap();
        assert_eq!(p.len(), pegnet::assets::for_version(v).len());
    }
    let v5 = o.record_prices(5).await.unwrap();
    assert_eq!(v5[1], 100_000_000, "USD from FixedUSD");
    assert_eq!(v5[0], 420_000, "PEG 0.0042 from CoinGecko");
}

/// Polls `source` alone with `fault` injected; returns the failure text.
async fn failure(fault: Fault) -> Vec<(String, String)> {
    let fx = FixtureServer::devnet().await.unwrap();
    let mut out = Vec::new();
    for name in HTTP_SOURCES {
        fx.fixture.set_fault(name, Some(fault.clone()));
        let o = oracle(&config(&fx, &[(name, 1)], ""));
        let report = tokio::time::timeout(Duration::from_secs(20), o.poll(5))
            .await
            .expect("a poll never hangs");
        let SourceOutcome::Failed(e) = &report.sources[0].outcome else {
            panic!("{name}: {:?}", report.sources[0].outcome)
        };
        let err = report.record_prices().unwrap_err().to_string();
        assert!(err.contains(&format!("{name}: {e}")), "{err}");
        out.push((name.to_string(), e.clone()));
    }
    out
}

#[tokio::test]
async fn http_errors_are_reported_per_source() {
    for (name, e) in failure(Fault::Status(429)).await {
        assert_eq!(e, "rate limited (HTTP 429)", "{name}");
    }
    for (name, e) in failure(Fault::Status(500)).await {
        assert_eq!(e, "HTTP 500: fixture: injected HTTP 500", "{name}");
    }
}

#[tokio::test]
async fn malformed_json_is_reported() {
    for (name, e) in failure(Fault::Malformed).await {
        assert!(e.starts_with("malformed response: "), "{name}: {e}");
    }
}

#[tokio::test]
async fn a_hanging_socket_times_out() {
    for (name, e) in failure(Fault::Hang).await {
        assert_eq!(e, "timed out after 500.0ms", "{name}");
    }
}

#[tokio::test]
async fn connection_refused_is_reported() {
    let fx = FixtureServer::devnet().await.unwrap();
    let mut cfg = config(&fx, &[("CoinGecko", 1)], "");
    drop(fx);
    if let Some(prices::config::SourceEntry::Settings(s)) = cfg.sources.get_mut("CoinGecko") {
        s.url = Some("http://127.0.0.1:1/CoinGecko".into());
    }
    let report = oracle(&cfg).poll(5).await;
    let SourceOutcome::Failed(e) = &report.sources[0].outcome else {
        panic!("{:?}", report.sources[0].outcome)
    };
    assert!(e.starts_with("connection failed"), "{e}");
}

#[tokio::test]
async fn missing_zero_and_nan_prices_are_not_used() {
    let fx = FixtureServer::devnet().await.unwrap();
    let cfg = config(
        &fx,
        &[("FixedUSD", 0), ("CoinGecko", 1), ("OpenExchangeRates", 2)],
        "",
    );
    let o = oracle(&cfg);
    fx.fixture.set_raw("CoinGecko", "ETH", None);
    fx.fixture.set_raw("CoinGecko", "LTC", Some(json!(0)));
    fx.fixture.set_raw("CoinGecko", "DOGE", Some(json!("NaN")));
    fx.fixture.set_raw("CoinGecko", "ADA", Some(json!(-3.0)));
    fx.fixture
        .set_raw("OpenExchangeRates", "EUR", Some(json!(0)));
    let report = o.poll(5).await;
    let line = |a: &str| report.assets.iter().find(|l| l.asset == a).unwrap().clone();
    assert_eq!(line("ETH").notes, ["CoinGecko: no quote"]);
    assert_eq!(line("LTC").notes, ["CoinGecko: unusable value 0"]);
    assert_eq!(line("DOGE").notes, ["CoinGecko: unusable value NaN"]);
    assert_eq!(line("ADA").notes, ["CoinGecko: unusable value -3"]);
    // A rate of 0 per dollar is an infinite price.
    assert_eq!(line("EUR").notes, ["OpenExchangeRates: unusable value inf"]);
    let err = report.record_prices().unwrap_err().to_string();
    assert!(
        err.contains("no price for EUR, ETH, LTC, ADA, DOGE"),
        "record order: {err}"
    );
    // The same holds for a string price that is not a number.
    fx.fixture
        .set_raw("CoinGecko", "ETH", Some(json!("twelve")));
    let report = o.poll(5).await;
    let eth = report.assets.iter().find(|l| l.asset == "ETH").unwrap();
    assert_eq!(eth.notes, ["CoinGecko: unusable value NaN"]);
}

#[tokio::test]
async fn a_bad_key_is_an_api_error_and_never_shown() {
    let fx = FixtureServer::devnet().await.unwrap();
    let secret = "sekrit-key-1234";
    for name in ["OpenExchangeRates", "APILayer", "CoinMarketCap", "1Forge"] {
        let mut cfg = config(&fx, &[(name, 1)], "");
        if let Some(prices::config::SourceEntry::Settings(s)) = cfg.sources.get_mut(name) {
            s.key = Some(prices::config::ApiKey(secret.into()));
        }
        assert!(!format!("{cfg:?}").contains(secret), "Debug hides the key");
        let report = oracle(&cfg).poll(5).await;
        let shown = format!(
            "{}{}{:?}",
            report.table(),
            serde_json::to_string(&report).unwrap(),
            report.record_prices()
        );
        assert!(!shown.contains(secret), "{name}: {shown}");
        let SourceOutcome::Failed(e) = &report.sources[0].outcome else {
            panic!("{name}: {:?}", report.sources[0].outcome)
        };
        assert!(
            e.starts_with("API error") || e.starts_with("HTTP 401"),
            "{name}: {e}"
        );
    }
    // A server that echoes the key in its error text gets it redacted.
    let e = prices::SourceError::Status {
        status: 401,
        detail: format!("bad key {secret}"),
    }
    .redact(Some(secret));
    assert_eq!(e.to_string(), "HTTP 401: bad key ***");
}

#[tokio::test]
async fn keys_with_reserved_characters_reach_the_server_intact() {
    let fx = FixtureServer::devnet().await.unwrap();
    // `&`, `+`, `=`, a space (and `%`, `#`, `?`, `/`) would each cut or alter a query string built
    // by hand: the server would see another key, or none.
    let key = "k&ey+with=a space%2B#?/";
    fx.fixture.set_key(key);
    for name in ["OpenExchangeRates", "APILayer", "CoinMarketCap", "1Forge"] {
        let mut cfg = config(&fx, &[(name, 1)], "");
        // The config's usual key is refused now: the fixture really checks what arrives.
        let report = oracle(&cfg).poll(5).await;
        assert!(
            matches!(report.sources[0].outcome, SourceOutcome::Failed(_)),
            "{name}: {:?}",
            report.sources[0].outcome
        );
        if let Some(prices::config::SourceEntry::Settings(s)) = cfg.sources.get_mut(name) {
            s.key = Some(prices::config::ApiKey(key.into()));
        }
        let report = oracle(&cfg).poll(5).await;
        assert_eq!(report.sources[0].outcome, SourceOutcome::Fetched, "{name}");
        assert!(
            report.assets.iter().any(|a| a.value.is_some()),
            "{name}: no prices"
        );
    }
}

mod garbage {
    use proptest::prelude::*;
    use serde_json::Value;

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<f64>().prop_map(|f| serde_json::json!(f)),
            "[a-zA-Z0-9/.]{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("data".to_string()),
                        Just("rates".to_string()),
                        Just("quotes".to_string()),
                        Just("1".to_string()),
                        Just("bitcoin".to_string()),
                        Just("USDEUR".to_string()),
                        Just("USD".to_string()),
                        Just("price".to_string()),
                        "[a-z_]{1,6}",
                    ],
                    inner,
                    0..6
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn all_parsers() -> Vec<Box<dyn prices::PriceSource>> {
        prices::sources::KINDS
            .iter()
            .filter(|k| k.url.is_some())
            .map(|k| prices::sources::build(k.name, None, Some("k".into()), None).unwrap())
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]
        #[test]
        fn random_bytes_never_panic_a_parser(body in prop::collection::vec(any::<u8>(), 0..256)) {
            for s in all_parsers() {
                let _ = s.parse(&body);
            }
        }

        #[test]
        fn json_shaped_garbage_never_panics_a_parser(v in json_value()) {
            let body = serde_json::to_vec(&v).unwrap();
            for s in all_parsers() {
                let _ = s.parse(&body);
            }
        }
    }
}
