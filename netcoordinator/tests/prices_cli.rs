//! `netcoordinator prices`, run as a user would, against the fixture server.

use prices_fixture::{Fault, FixtureServer};
use std::process::Output;

async fn run(args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_netcoordinator"))
        .args(args)
        .output()
        .await
        .unwrap()
}

fn tmp(name: &str, content: &str) -> String {
    let p = std::env::temp_dir().join(format!("prices-cli-{}-{name}", std::process::id()));
    std::fs::write(&p, content).unwrap();
    p.to_string_lossy().into_owned()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test]
async fn prints_every_asset_and_fails_when_the_record_cannot_be_built() {
    let fx = FixtureServer::devnet().await.unwrap();
    let cfg = tmp(
        "live.toml",
        &format!("network = \"testnet\"\n{}", fx.config_toml()),
    );
    let o = run(&["prices", "--config", &cfg]).await;
    let out = text(&o.stdout);
    assert!(o.status.success(), "{out}{}", text(&o.stderr));
    assert!(out.starts_with("OPR version 5\n"), "{out}");
    // One line per asset: USD from FixedUSD, PEG from PegnetMarketCap (priority 1), fiat from
    // FreeForexAPI (3), ages in seconds.
    let line = |a: &str| {
        out.lines()
            .find(|l| l.split_whitespace().next() == Some(a))
            .unwrap_or_else(|| panic!("no {a} line in {out}"))
            .to_string()
    };
    for a in pegnet::assets::for_version(5) {
        line(a);
    }
    let usd: Vec<String> = line("USD").split_whitespace().map(String::from).collect();
    assert_eq!(&usd[..4], ["USD", "1.00000000", "FixedUSD", "0s"]);
    assert!(
        line("PEG").contains("0.00420000  PegnetMarketCap"),
        "{}",
        line("PEG")
    );
    assert!(line("EUR").contains("FreeForexAPI"), "{}", line("EUR"));
    assert!(out.contains("testnet: an OPR version 5 record can be built (62 prices)"));
    assert!(out.contains("  1  PegnetMarketCap    ok"), "{out}");

    // The three PEG sources fail: the table says why, and the exit status is 1.
    fx.fixture
        .set_fault("PegnetMarketCap", Some(Fault::Status(429)));
    fx.fixture
        .set_fault("CoinMarketCap", Some(Fault::Malformed));
    fx.fixture.set_fault("CoinGecko", Some(Fault::Status(500)));
    let o = run(&["prices", "--config", &cfg]).await;
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(
        out.contains("PEG                       -  MISSING"),
        "{out}"
    );
    assert!(
        out.contains("PegnetMarketCap    FAILED: rate limited (HTTP 429)"),
        "{out}"
    );
    assert!(
        out.contains("CoinMarketCap      FAILED: malformed response"),
        "{out}"
    );
    assert!(
        err.contains("error: cannot build the record: no price for PEG, CRO (failed sources:"),
        "{err}"
    );

    // --json: the same report for scripts; version 4 has 42 assets.
    let o = run(&["prices", "--config", &cfg, "--json", "--version", "4"]).await;
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["version"], 4);
    assert_eq!(v["assets"].as_array().unwrap().len(), 42);
    assert_eq!(v["assets"][0]["asset"], "PEG");
    assert!(v["assets"][0]["value"].is_null());
    assert_eq!(v["sources"][1]["outcome"]["outcome"], "failed");
}

#[tokio::test]
async fn fixed_files_and_bad_configs() {
    let f = tmp("fixed.toml", prices::sources::fixed::DEVNET_PRICES);
    let o = run(&["prices", "--network", "mainnet", "--prices", &f]).await;
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("mainnet: an OPR version 5 record can be built"));

    // A relative `file` is relative to the config file.
    let dir = std::env::temp_dir().join(format!("prices-cli-rel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("p.toml"), prices::sources::fixed::DEVNET_PRICES).unwrap();
    std::fs::write(
        dir.join("nc.toml"),
        "[prices.sources]\nFixedUSD = -1\nPegnetMarketCap = -1\nAlternativeMe = -1\n\
         FreeForexAPI = -1\nOpenExchangeRates = -1\nFixed = { priority = 7, file = \"p.toml\" }\n",
    )
    .unwrap();
    let o = run(&["prices", "--config", dir.join("nc.toml").to_str().unwrap()]).await;
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("  7  Fixed              ok"));
    let _ = std::fs::remove_dir_all(&dir);

    // The devnet needs no config at all.
    let o = run(&["prices", "--network", "devnet"]).await;
    assert!(o.status.success(), "{}", text(&o.stderr));

    // Mainnet defaults without an OpenExchangeRates key: refused with what to do.
    let o = run(&["prices"]).await;
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("OpenExchangeRates is enabled (priority 9) but has no key"));

    for (cfg, want) in [
        (
            "[prices.sources]\nOpenExchangeRates = -1\nCoinGecko = 1\n",
            "PegnetMarketCap and CoinGecko both have priority 1",
        ),
        ("[prices]\ntimeout = 3\n", "unknown field `timeout`"),
    ] {
        let path = tmp("bad.toml", cfg);
        let o = run(&["prices", "--config", &path]).await;
        assert_eq!(o.status.code(), Some(1));
        let err = text(&o.stderr);
        assert!(err.contains(want), "{err}");
    }
    let o = run(&[
        "prices",
        "--network",
        "mainnet",
        "--prices",
        "/nonexistent.toml",
    ])
    .await;
    assert!(
        text(&o.stderr).contains("/nonexistent.toml"),
        "{}",
        text(&o.stderr)
    );
    let o = run(&["prices", "--version", "9"]).await;
    assert_eq!(o.status.code(), Some(2), "clap refuses the version");
}
