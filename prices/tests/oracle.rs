//! The oracle end to end against the fixture: PegNet's selection across several sources, per-asset
//! overrides, breakers on a controlled clock, last good quotes and their maximum age, refresh
//! intervals, and the config checks.

mod common;

use common::*;
use pegnet::Network;
use prices::breaker::{BreakerState, ManualClock};
use prices::report::SourceOutcome;
use prices::PricesConfig;
use prices_fixture::{Fault, FixtureServer};
use std::sync::Arc;
use std::time::Duration;

const CRYPTO_SOURCES: [(&str, i64); 4] = [
    ("AlternativeMe", 1),
    ("CoinMarketCap", 2),
    ("CoinCap", 3),
    ("CoinGecko", 4),
];

#[tokio::test]
async fn version_5_takes_the_first_price_inside_the_trimmed_mean_band() {
    let fx = FixtureServer::devnet().await.unwrap();
    let o = oracle(&config(&fx, &CRYPTO_SOURCES, ""));
    // XBT: 99,000 / 97,100 / 97,000 / 96,900. Trimmed mean 97,050; ±1 % is [96,079.5, 98,020.5],
    // so the top source (99,000) is passed over for the second.
    fx.fixture.set_price_at("AlternativeMe", "XBT", 99_000.0);
    fx.fixture.set_price_at("CoinMarketCap", "XBT", 97_100.0);
    fx.fixture.set_price_at("CoinCap", "XBT", 97_000.0);
    fx.fixture.set_price_at("CoinGecko", "XBT", 96_900.0);
    // ETH below 1000 uses ±10 %: 3,600 vs a trimmed mean of 3,350 is inside, so it stays.
    fx.fixture.set_price_at("AlternativeMe", "ETH", 900.0);
    fx.fixture.set_price_at("CoinMarketCap", "ETH", 950.0);
    let v5 = o.poll(5).await;
    let line =
        |r: &prices::Report, a: &str| r.assets.iter().find(|l| l.asset == a).unwrap().clone();
    let xbt = line(&v5, "XBT");
    assert_eq!(
        (xbt.value, xbt.source.as_deref()),
        (Some(97_100.0), Some("CoinMarketCap"))
    );
    assert_eq!(xbt.candidates.len(), 4);
    // ETH: 900, 950, 3350, 3350 → trimmed mean (950 + 3350) / 2 = 2150, band [1935, 2365]:
    // nothing inside, so the top priority stands.
    assert_eq!(line(&v5, "ETH").value, Some(900.0));
    // Version 4 always takes the highest priority.
    let v4 = o.poll(4).await;
    assert_eq!(line(&v4, "XBT").source.as_deref(), Some("AlternativeMe"));
    assert_eq!(line(&v4, "XBT").value, Some(99_000.0));
}

#[tokio::test]
async fn values_are_truncated_to_8_decimals_and_4_in_version_1() {
    let fx = FixtureServer::devnet().await.unwrap();
    let o = oracle(&config(&fx, &[("CoinGecko", 1)], ""));
    fx.fixture.set_price("FCT", 0.123456789);
    let line = |r: &prices::Report| r.assets.iter().find(|l| l.asset == "FCT").unwrap().value;
    assert_eq!(line(&o.poll(5).await), Some(0.12345678));
    assert_eq!(line(&o.poll(1).await), Some(0.1234));
}

#[tokio::test]
async fn per_asset_overrides_replace_the_priority_order() {
    let fx = FixtureServer::devnet().await.unwrap();
    let cfg = config(
        &fx,
        &CRYPTO_SOURCES,
        "[assets]\nXBT = [\"CoinGecko\", \"CoinCap\"]",
    );
    let o = oracle(&cfg);
    fx.fixture.set_price_at("CoinGecko", "XBT", 90_000.0);
    let r = o.poll(4).await;
    let xbt = r.assets.iter().find(|l| l.asset == "XBT").unwrap();
    assert_eq!(xbt.source.as_deref(), Some("CoinGecko"));
    assert_eq!(xbt.candidates.len(), 2, "only the listed sources");
    let eth = r.assets.iter().find(|l| l.asset == "ETH").unwrap();
    assert_eq!(eth.source.as_deref(), Some("AlternativeMe"));
}

#[tokio::test]
async fn a_failing_source_falls_back_to_the_next_priority() {
    let fx = FixtureServer::devnet().await.unwrap();
    let o = oracle(&config(&fx, &CRYPTO_SOURCES, ""));
    fx.fixture
        .set_fault("AlternativeMe", Some(Fault::Status(503)));
    fx.fixture.set_price_at("CoinMarketCap", "XBT", 97_001.0);
    let r = o.poll(4).await;
    let xbt = r.assets.iter().find(|l| l.asset == "XBT").unwrap();
    assert_eq!(xbt.value, Some(97_001.0));
    assert_eq!(xbt.notes, ["AlternativeMe: failed"]);
    let alt = &r.sources[0];
    assert_eq!(
        alt.outcome,
        SourceOutcome::Failed("HTTP 503: fixture: injected HTTP 503".into())
    );
}

#[tokio::test]
async fn breakers_open_half_open_and_close_on_a_controlled_clock() {
    let fx = FixtureServer::devnet().await.unwrap();
    let cfg = config(
        &fx,
        &[("FixedUSD", 0), ("CoinGecko", 1), ("OpenExchangeRates", 2)],
        "max_quote_age_secs = 240\n[breaker]\nfailure_threshold = 2\nrecovery_timeout_secs = 300\nsuccess_threshold = 2",
    );
    let clock = Arc::new(ManualClock::default());
    let o = oracle_on(&cfg, clock.clone());
    let minute = Duration::from_secs(60);
    assert!(o.record_prices(5).await.is_ok());
    assert_eq!(fx.fixture.hits("CoinGecko"), 1);

    // CoinGecko dies. Its last good quotes keep the record whole while they are young enough.
    fx.fixture.set_fault("CoinGecko", Some(Fault::Status(500)));
    for n in 2..=3 {
        clock.advance(minute);
        let r = o.poll(5).await;
        assert_eq!(fx.fixture.hits("CoinGecko"), n);
        let xbt = r.assets.iter().find(|l| l.asset == "XBT").unwrap();
        assert_eq!(xbt.source.as_deref(), Some("CoinGecko"));
        assert_eq!(xbt.age_secs, Some(60.0 * (n - 1) as f64));
        assert!(r.record_prices().is_ok());
    }
    let cg = |r: &prices::Report| {
        r.sources
            .iter()
            .find(|s| s.name == "CoinGecko")
            .unwrap()
            .clone()
    };
    // Two failures opened the breaker: the next polls do not touch the API.
    clock.advance(minute);
    let r = o.poll(5).await;
    assert_eq!(fx.fixture.hits("CoinGecko"), 3);
    assert_eq!(
        cg(&r).outcome,
        SourceOutcome::BreakerOpen {
            retry_in_secs: 240.0
        }
    );
    assert!(matches!(cg(&r).breaker, BreakerState::Open { .. }));
    assert!(r.record_prices().is_ok(), "3-minute-old quotes are fine");
    // At 5 minutes the quotes are older than max_quote_age (4 minutes): the crypto assets have
    // no price, and the breaker is still open.
    clock.advance(Duration::from_secs(120));
    let r = o.poll(5).await;
    assert_eq!(fx.fixture.hits("CoinGecko"), 3);
    let err = r.record_prices().unwrap_err().to_string();
    assert!(err.contains("no price for PEG, ETH, LTC"), "{err}");
    assert!(err.contains("CoinGecko: breaker open"), "{err}");
    let xbt = r.assets.iter().find(|l| l.asset == "XBT").unwrap();
    assert_eq!(
        xbt.source.as_deref(),
        Some("OpenExchangeRates"),
        "XBT falls back"
    );
    assert_eq!(
        xbt.notes,
        ["CoinGecko: last quote is 5m00s old (max 4m00s)"]
    );

    // Five minutes after opening: one trial, which fails and re-opens it.
    clock.advance(Duration::from_secs(120));
    let r = o.poll(5).await;
    assert_eq!(fx.fixture.hits("CoinGecko"), 4);
    assert!(matches!(cg(&r).outcome, SourceOutcome::Failed(_)));
    assert!(matches!(cg(&r).breaker, BreakerState::Open { .. }));

    // It recovers: the next trial succeeds (half-open), a second success closes it.
    fx.fixture.set_fault("CoinGecko", None);
    clock.advance(Duration::from_secs(300));
    let r = o.poll(5).await;
    assert_eq!(cg(&r).breaker, BreakerState::HalfOpen { successes: 1 });
    assert!(r.record_prices().is_ok());
    let r = o.poll(5).await;
    assert_eq!(cg(&r).breaker, BreakerState::Closed { failures: 0 });
    assert_eq!(fx.fixture.hits("CoinGecko"), 6);
}

#[tokio::test]
async fn quotes_younger_than_the_refresh_interval_are_reused() {
    let fx = FixtureServer::devnet().await.unwrap();
    let mut cfg = config(
        &fx,
        &[("FixedUSD", 0), ("CoinGecko", 1), ("OpenExchangeRates", 2)],
        "",
    );
    if let Some(prices::config::SourceEntry::Settings(s)) = cfg.sources.get_mut("OpenExchangeRates")
    {
        s.refresh_secs = Some(3600.0);
    }
    let clock = Arc::new(ManualClock::default());
    let o = oracle_on(&cfg, clock.clone());
    o.poll(5).await;
    clock.advance(Duration::from_secs(1800));
    let r = o.poll(5).await;
    assert_eq!(fx.fixture.hits("OpenExchangeRates"), 1);
    assert_eq!(fx.fixture.hits("CoinGecko"), 2);
    let oxr = r
        .sources
        .iter()
        .find(|s| s.name == "OpenExchangeRates")
        .unwrap();
    assert_eq!(oxr.outcome, SourceOutcome::Cached { age_secs: 1800.0 });
    let eur = r.assets.iter().find(|l| l.asset == "EUR").unwrap();
    assert_eq!(eur.age_secs, Some(1800.0));
    // Version 4 needs a subset of what was asked: still cached. Version 1 also needs XPD and
    // XPT, which were not asked for: a new request.
    o.poll(4).await;
    assert_eq!(fx.fixture.hits("OpenExchangeRates"), 1);
    o.poll(1).await;
    assert_eq!(fx.fixture.hits("OpenExchangeRates"), 2);
}

#[tokio::test]
async fn sources_no_asset_needs_are_not_asked() {
    let fx = FixtureServer::devnet().await.unwrap();
    let cfg = config(
        &fx,
        &[
            ("FixedUSD", 0),
            ("CoinGecko", 1),
            ("OpenExchangeRates", 2),
            ("1Forge", 3),
        ],
        "[assets]\nEUR = [\"OpenExchangeRates\"]",
    );
    let o = oracle(&cfg);
    // 1Forge covers nothing OpenExchangeRates does not, but it is asked for its assets anyway…
    let r = o.poll(5).await;
    assert_eq!(fx.fixture.hits("1Forge"), 1);
    // …while a source with nothing to price in this version is left alone.
    let cfg = config(
        &fx,
        &[
            ("FixedUSD", 0),
            ("CoinGecko", 1),
            ("OpenExchangeRates", 2),
            ("PegnetMarketCap", 3),
        ],
        "[assets]\nPEG = [\"CoinGecko\"]",
    );
    let r2 = oracle(&cfg).poll(5).await;
    let pmc = r2
        .sources
        .iter()
        .find(|s| s.name == "PegnetMarketCap")
        .unwrap();
    assert_eq!(pmc.outcome, SourceOutcome::Unused);
    assert_eq!(fx.fixture.hits("PegnetMarketCap"), 0);
    assert!(r.record_prices().is_ok());
}

fn plan_err(toml_text: &str, network: Network) -> String {
    let c: PricesConfig = toml::from_str(toml_text).unwrap_or_else(|e| panic!("{e}"));
    match c.plan(network) {
        Ok(_) => panic!("accepted: {toml_text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn config_mistakes_are_refused_at_load() {
    let off = "[sources]\nOpenExchangeRates = -1\n";
    let cases: &[(&str, &str)] = &[
        ("", "OpenExchangeRates is enabled (priority 9) but has no key"),
        (
            "[sources]\nOpenExchangeRates = -1\nCoinGecko = 2\n",
            "AlternativeMe and CoinGecko both have priority 2",
        ),
        ("[sources]\nCoinGeco = 5\n", "unknown source \"CoinGeco\"; the sources are FixedUSD"),
        ("[sources]\nOpenExchangeRates = -2\n", "priority -2"),
        (
            "[sources]\nOpenExchangeRates = -1\nCoinGecko = { priority = 5, key = \"x\" }\n",
            "CoinGecko takes no key",
        ),
        (
            "[sources]\nOpenExchangeRates = -1\nCoinGecko = { priority = 5, url = \"ftp://x\" }\n",
            "url \"ftp://x\" is not an http(s) URL",
        ),
        (
            "[sources]\nOpenExchangeRates = -1\nFixedUSD = { priority = 0, url = \"http://x\" }\n",
            "FixedUSD is not an HTTP source",
        ),
        ("[sources]\nOpenExchangeRates = -1\nFixed = 7\n", "the Fixed source is enabled but has no `file`"),
        (
            "[sources]\nOpenExchangeRates = -1\nFixed = { priority = 7, file = \"/nonexistent.toml\" }\n",
            "Fixed: price file /nonexistent.toml",
        ),
        (&format!("{off}[assets]\nXBT = [\"CoinGecko\"]\n"), "assets.XBT: CoinGecko is not enabled"),
        (&format!("{off}[assets]\nEUR = [\"AlternativeMe\"]\n"), "AlternativeMe does not price EUR"),
        (&format!("{off}[assets]\nXYZ = [\"AlternativeMe\"]\n"), "\"XYZ\" is not a PegNet asset"),
        (&format!("{off}[assets]\nXBT = []\n"), "assets.XBT: the list is empty"),
        (&format!("{off}[assets]\nXBT = [\"AlternativeMe\", \"AlternativeMe\"]\n"), "listed twice"),
        (&format!("{off}[assets]\nXBT = [\"Kitco\"]\n"), "unknown source \"Kitco\""),
        (&format!("timeout_secs = 0\n{off}"), "timeout_secs = 0 must be a number of seconds > 0"),
        (&format!("max_quote_age_secs = nan\n{off}"), "max_quote_age_secs = NaN"),
        (&format!("[breaker]\nfailure_threshold = 0\n{off}"), "at least 1"),
        (
            "[sources]\nFixedUSD = -1\nPegnetMarketCap = -1\nAlternativeMe = -1\nFreeForexAPI = -1\nOpenExchangeRates = -1\n",
            "no source is enabled",
        ),
    ];
    for (text, want) in cases {
        let e = plan_err(text, Network::MainNet);
        assert!(e.starts_with("[prices] "), "{e}");
        assert!(e.contains(want), "{text:?}: {e}");
    }
    assert!(toml::from_str::<PricesConfig>("no_such_key = 1").is_err());
    assert!(toml::from_str::<PricesConfig>("[sources.CoinGecko]\nprio = 1").is_err());
}

#[test]
fn network_defaults() {
    // Mainnet: PegNet's priorities once OpenExchangeRates has a key.
    let c: PricesConfig = toml::from_str("[sources.OpenExchangeRates]\nkey = \"k\"").unwrap();
    let plan = c.plan(Network::MainNet).unwrap();
    let names: Vec<_> = plan
        .sources
        .iter()
        .map(|s| (s.source.name(), s.priority))
        .collect();
    assert_eq!(
        names,
        [
            ("FixedUSD", 0),
            ("PegnetMarketCap", 1),
            ("AlternativeMe", 2),
            ("FreeForexAPI", 3),
            ("OpenExchangeRates", 9)
        ]
    );
    // Devnet: the built-in fixed prices, enough for every version.
    let plan = PricesConfig::default().plan(Network::DevNet).unwrap();
    assert_eq!(plan.sources.len(), 1);
    assert_eq!(plan.sources[0].source.name(), "Fixed");
    // --prices FILE: that file only, on any network.
    let dir = std::env::temp_dir().join(format!("prices-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("p.toml");
    std::fs::write(&f, "[prices]\nUSD = 1.0\n").unwrap();
    let plan = PricesConfig::fixed_only(f).plan(Network::MainNet).unwrap();
    assert_eq!(plan.sources.len(), 1);
    assert!(plan.sources[0].source.supports("USD"));
    assert!(!plan.sources[0].source.supports("EUR"));
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn the_fixed_file_is_reread_and_a_broken_file_fails_like_an_api() {
    let dir = std::env::temp_dir().join(format!("prices-fixed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("p.toml");
    std::fs::write(&f, prices::sources::fixed::DEVNET_PRICES).unwrap();
    let clock = Arc::new(ManualClock::default());
    let plan = PricesConfig::fixed_only(f.clone())
        .plan(Network::MainNet)
        .unwrap();
    let o = prices::Oracle::with_clock(plan, clock.clone()).unwrap();
    let refresh = Duration::from_secs(61);
    assert_eq!(
        o.record_prices(5).await.unwrap()[2],
        108_420_000,
        "EUR 1.0842"
    );
    std::fs::write(
        &f,
        prices::sources::fixed::DEVNET_PRICES.replace("EUR = 1.0842", "EUR = 1.1"),
    )
    .unwrap();
    assert_eq!(
        o.record_prices(5).await.unwrap()[2],
        108_420_000,
        "refresh: 60 s"
    );
    clock.advance(refresh);
    assert_eq!(o.record_prices(5).await.unwrap()[2], 110_000_000);
    clock.advance(refresh);
    std::fs::write(&f, "[prices\n").unwrap();
    let r = o.poll(5).await;
    let SourceOutcome::Failed(e) = &r.sources[0].outcome else {
        panic!("{:?}", r.sources[0].outcome)
    };
    assert!(e.contains("p.toml"), "{e}");
    // The last good prices carry on (max age 30 min by default).
    assert!(r.record_prices().is_ok());
    let _ = std::fs::remove_dir_all(dir);
}
