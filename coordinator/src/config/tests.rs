//! The settings' rules: every problem named by its key, secrets never shown, the layers applied
//! in order (defaults < file < environment < flags), and each role checked for what it runs.

use super::*;

#[test]
fn every_problem_is_listed_and_secrets_are_never_printed() {
    let text = r#"
        caddr = "nowhere"
        secret = "the-farm-secret-value"
        ec_secret = "Es2XT3jSxi1xqrDvS5JERM3W3jh1awRHuyoahn3hbQLyfEi1jvbX"
        max_entries = 0
        network = "devnet"
        previous_winners = ["x"]
        [prices]
        sources = { NoSuchSource = 1 }
    "#;
    let c: CoordinatorConfig = toml::from_str(text).unwrap();
    let (problems, plan) = c.problems(Role::Coordinator);
    assert!(plan.is_none());
    let all = problems.join("\n");
    for want in [
        "caddr",
        "max_entries",
        "previous_winners",
        "ec_secret",
        "NoSuchSource",
    ] {
        assert!(all.contains(want), "{want} missing from {all}");
    }
    assert!(!all.contains("the-farm-secret-value"), "{all}");
    assert!(!all.contains("Es2XT3jSxi1"), "{all}");
    assert_eq!(problems.len(), 5, "{all}");
    let err = c.validate().unwrap_err().to_string();
    assert_eq!(err.lines().count(), problems.len());
    let shown = c.to_toml();
    assert!(shown.contains("secret = \"***\""), "{shown}");
    assert!(shown.contains("ec_secret = \"***\""), "{shown}");
    assert!(!shown.contains("the-farm-secret-value") && !shown.contains("Es2XT3"));
    assert!(shown.contains("max_entries = 0"), "{shown}");
    // What it prints reads back as the same config.
    let again: CoordinatorConfig = toml::from_str(&shown).unwrap();
    assert_eq!(again.max_entries, 0);
    assert_eq!(again.caddr, "nowhere");
}

#[test]
fn a_pinned_winner_list_must_be_25_or_10_short_hashes() {
    let base = || CoordinatorConfig {
        secret: Some("0123456789abcdef0123".to_string().into()),
        prices: PricesConfig::fixed_only(
            concat!(env!("CARGO_MANIFEST_DIR"), "/../config/devnet-prices.toml").into(),
        ),
        network: pegnet::Network::DevNet,
        ..CoordinatorConfig::default()
    };
    let with = |w: Vec<String>| CoordinatorConfig {
        previous_winners: Some(w),
        ..base()
    };
    assert!(base().validate().is_ok());
    assert!(with(vec!["0aa7da814df36be1".into(); 25]).validate().is_ok());
    assert!(
        with(vec![String::new(); 25]).validate().is_ok(),
        "all empty"
    );
    assert!(with(vec!["0aa7da814df36be1".into(); 10]).validate().is_ok());
    for bad in [
        vec!["0aa7da814df36be1".to_string(); 24],
        vec!["not hex".to_string(); 25],
        vec!["0aa7da814df36be".to_string(); 25],
    ] {
        let e = with(bad).validate().unwrap_err().to_string();
        assert!(e.contains("previous_winners must be 25"), "{e}");
    }
}

#[test]
fn the_documented_example_parses_and_defaults_apply() {
    let text = include_str!("../../../config/netcoordinator.toml");
    let c: CoordinatorConfig = toml::from_str(text).unwrap();
    assert_eq!(c.caddr, ":1234");
    assert_eq!(c.listen_addr().unwrap().port(), 1234);
    let d: CoordinatorConfig = toml::from_str("").unwrap();
    assert_eq!(d.max_entries, 10);
    assert!(toml::from_str::<CoordinatorConfig>("no_such_key = 1").is_err());
    assert!(d
        .validate()
        .unwrap_err()
        .to_string()
        .contains("no shared secret"));
    let short = CoordinatorConfig {
        secret: Some(SecretString::from("farmsecret")),
        ..d.clone()
    };
    let e = short.validate().unwrap_err().to_string();
    assert!(e.contains("at least 16"), "{e}");
    assert!(!e.contains("farmsecret"), "{e}");
    let bad = CoordinatorConfig {
        secret: Some(SecretString::from(protocol::Secret::generate_text())),
        caddr: "nowhere".into(),
        ..d
    };
    assert!(bad.validate().is_err());
}

#[test]
fn http_beyond_loopback_needs_a_token_that_is_never_shown() {
    let base = CoordinatorConfig {
        secret: Some(SecretString::from(protocol::Secret::generate_text())),
        ..CoordinatorConfig::default()
    };
    let (p, _) = base.problems(Role::Coordinator);
    assert!(!p.iter().any(|p| p.contains("http")), "{p:?}");
    let open = CoordinatorConfig {
        http: ":7780".into(),
        ..base.clone()
    };
    let (p, _) = open.problems(Role::Coordinator);
    assert!(
        p.iter()
            .any(|p| p.contains("set a token (--http-token, http_token")),
        "{p:?}"
    );
    let tokened = CoordinatorConfig {
        http_token: Some(SecretString::from("dashboard-token-0123456789")),
        ..open
    };
    let (p, _) = tokened.problems(Role::Coordinator);
    assert!(!p.iter().any(|p| p.contains("http")), "{p:?}");
    let shown = tokened.to_toml();
    assert!(shown.contains("http_token = \"***\""), "{shown}");
    assert!(!shown.contains("dashboard-token"), "{shown}");
    assert!(!format!("{tokened:?}").contains("dashboard-token"));
    let bad = CoordinatorConfig {
        http: "web".into(),
        stats_interval_secs: 0.0,
        ..base
    };
    let (p, _) = bad.problems(Role::Coordinator);
    assert!(
        p.iter().any(|p| p.contains("\"web\" is not IP:PORT")),
        "{p:?}"
    );
    assert!(p.iter().any(|p| p.contains("stats_interval_secs")), "{p:?}");
}

#[test]
fn the_documented_price_section_needs_only_a_key() {
    let text = include_str!("../../../config/netcoordinator.toml");
    let c = CoordinatorConfig {
        secret: Some(SecretString::from("sixteen-chars-ok")),
        ..toml::from_str(text).unwrap()
    };
    let e = c.validate().unwrap_err().to_string();
    assert!(
        e.contains("OpenExchangeRates is enabled (priority 9) but has no key"),
        "{e}"
    );
    let keyed = text.replace(
        "# OpenExchangeRates = { priority = 9, key = \"your app id\", refresh_secs = 3600.0 }",
        "OpenExchangeRates = { priority = 9, key = \"your app id\", refresh_secs = 3600.0 }",
    );
    let c: CoordinatorConfig = toml::from_str(&keyed).unwrap();
    let plan = c.prices.plan(pegnet::Network::MainNet).unwrap();
    assert_eq!(plan.sources.len(), 5);
    assert_eq!(c.prices.breaker.failure_threshold, 3);
    // Every commented-out source line is valid once uncommented (keys filled in).
    let all = keyed
        .lines()
        .map(|l| {
            l.strip_prefix("# ")
                .filter(|r| r.contains("priority =") || r.starts_with("Coin"))
                .unwrap_or(l)
        })
        .collect::<Vec<_>>()
        .join("\n")
        .replace(
            "/etc/netmine/prices.toml",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../config/devnet-prices.toml"),
        );
    let c: CoordinatorConfig = toml::from_str(&all).unwrap();
    assert_eq!(
        c.prices
            .plan(pegnet::Network::MainNet)
            .unwrap()
            .sources
            .len(),
        11
    );
}

#[test]
fn max_entries_per_coinbase_is_unset_by_default_read_from_the_file_and_never_0() {
    let ok = |text: &str| CoordinatorConfig {
        secret: Some(SecretString::from("sixteen-chars-ok")),
        network: pegnet::Network::DevNet,
        ..toml::from_str(text).unwrap()
    };
    assert_eq!(ok("").max_entries_per_coinbase, None);
    let capped = ok("max_entries_per_coinbase = 2");
    assert_eq!(capped.max_entries_per_coinbase, Some(2));
    assert!(capped.validate().is_ok());
    assert!(capped.to_toml().contains("max_entries_per_coinbase = 2"));
    let zero = ok("max_entries_per_coinbase = 0");
    let (problems, _) = zero.problems(Role::Coordinator);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("max_entries_per_coinbase"),
        "{problems:?}"
    );
    assert!(toml::from_str::<CoordinatorConfig>("max_entries_per_coinbase = -1").is_err());
}

#[test]
fn no_auth_is_refused_unless_the_listen_address_is_loopback() {
    for caddr in [":1234", "0.0.0.0:1234", "192.168.1.5:1234", "[::]:1234"] {
        let c = CoordinatorConfig {
            no_auth: true,
            caddr: caddr.into(),
            ..CoordinatorConfig::default()
        };
        let e = c.validate().unwrap_err().to_string();
        assert!(
            e.contains("--no-auth") && e.contains("loopback"),
            "{caddr}: {e}"
        );
    }
    for caddr in ["127.0.0.1:1234", "[::1]:1234"] {
        let c = CoordinatorConfig {
            no_auth: true,
            caddr: caddr.into(),
            network: pegnet::Network::DevNet,
            ..CoordinatorConfig::default()
        };
        assert!(c.validate().is_ok(), "{caddr}");
    }
}

#[test]
fn debug_never_shows_the_secrets() {
    let secret = "farm-shared-secret-4711";
    let ec = "Es2Rf7iM6PdsqfYCo3D1tnAR65SkLENyWJG1deUzpRMQmbh9F3eG";
    let text = format!("secret = \"{secret}\"\nec_secret = \"{ec}\"\n");
    let c: CoordinatorConfig = toml::from_str(&text).unwrap();
    // The values are read as given...
    assert_eq!(c.secret.as_ref().unwrap().expose_secret(), secret);
    assert_eq!(c.ec_secret.as_ref().unwrap().expose_secret(), ec);
    // ...but no Debug of the config (or a clone) prints them.
    for shown in [
        format!("{c:?}"),
        format!("{c:#?}"),
        format!("{:?}", c.clone()),
    ] {
        assert!(!shown.contains(secret), "{shown}");
        assert!(!shown.contains(ec), "{shown}");
        assert!(!shown.contains("Es2Rf7"), "{shown}");
    }
    assert!(format!("{c:?}").contains("secret: Some("));
}

fn env(pairs: &[(&str, &str)]) -> Environment {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Environment::from_lookup(move |name| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    })
}

#[test]
fn the_environment_overrides_the_file_and_an_empty_variable_is_unset() {
    let mut c: CoordinatorConfig = toml::from_str(
        "http = \"0.0.0.0:7780\"\nsecret = \"the-file-secret-0123\"\nnetwork = \"devnet\"\nbits = 20",
    )
    .unwrap();
    c.prices = PricesConfig::fixed_only(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../config/devnet-prices.toml").into(),
    );
    // Without the token the open HTTP address is a problem...
    let (p, _) = c.problems(Role::Coordinator);
    assert!(p.iter().any(|p| p.contains("set a token")), "{p:?}");
    // ...with NETMINE_HTTP_TOKEN it is not: check-config and the daemon read the same layer.
    c.apply_env(&env(&[
        ("NETMINE_HTTP_TOKEN", "dashboard-token-0123456789"),
        ("NETMINE_SECRET", "the-env-secret-456789"),
        ("NETMINE_EC_SECRET", ""),
        ("LXRBITSIZE", "22"),
    ]))
    .unwrap();
    let (p, _) = c.problems(Role::Coordinator);
    assert!(p.is_empty(), "{p:?}");
    assert_eq!(
        c.secret.as_ref().unwrap().expose_secret(),
        "the-env-secret-456789"
    );
    assert!(c.ec_secret.is_none(), "an empty variable counts as unset");
    assert_eq!(c.bits, Some(22));
    let e = c.apply_env(&env(&[("LXRBITSIZE", "31")])).unwrap_err();
    assert!(e.to_string().contains("LXRBITSIZE"), "{e}");
}

#[test]
fn a_relay_names_every_bad_key_and_needs_its_upstream() {
    let c: CoordinatorConfig = toml::from_str(
        "ban_after = 0\nmax_connections = 0\nsecret = \"relay-site-secret-0123\"\nmax_entries = 0\n\
         standby = true",
    )
    .unwrap();
    let (p, plan) = c.problems(Role::Relay);
    assert!(plan.is_none());
    let all = p.join("\n");
    for key in [
        "ban_after",
        "max_connections",
        "upstream:",
        "relay_name",
        "upstream_secret",
        "standby:",
    ] {
        assert!(all.contains(key), "{key} missing from {all}");
    }
    // A key only the paying coordinator uses is not the relay's problem.
    assert!(!all.contains("max_entries"), "{all}");
    let good = CoordinatorConfig {
        ban_after: 5,
        max_connections: 10,
        upstream: vec!["primary.lan:1234".into()],
        relay_name: Some("site1".into()),
        upstream_secret: Some(SecretString::from("upstream-secret-0123")),
        upstream_tls_fingerprint: vec!["sha256:nothex".into()],
        standby: false,
        ..c
    };
    let (p, _) = good.problems(Role::Relay);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].contains("upstream_tls_fingerprint"), "{p:?}");
    assert!(good.validate_relay().is_err());
}

#[test]
fn every_default_is_written_once() {
    let d = CoordinatorConfig::default();
    let s = crate::server::ServerConfig::default();
    assert_eq!(s.records_per_miner, d.records_per_miner);
    assert_eq!(s.max_pending_per_address, d.max_pending_per_address);
    assert_eq!(s.max_connections, d.max_connections);
    assert_eq!(s.max_table_transfers, d.max_table_transfers);
}
