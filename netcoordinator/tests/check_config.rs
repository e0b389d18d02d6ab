//! `netcoordinator check-config`, as an operator runs it before installing the service.

use std::process::{Command, Output};

fn check(config: &str, env: &[(&str, &str)]) -> Output {
    check_as(&[], config, env)
}

/// `check-config` with `extra` arguments (`--relay`).
fn check_as(extra: &[&str], config: &str, env: &[(&str, &str)]) -> Output {
    let path = std::env::temp_dir().join(format!(
        "check-config-{}-{}-{}.toml",
        std::process::id(),
        extra.len(),
        config.len()
    ));
    std::fs::write(&path, config).unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_netcoordinator"));
    c.args(["check-config", "--config", path.to_str().unwrap()])
        .args(extra)
        .env_remove("NETMINE_SECRET")
        .env_remove("NETMINE_HTTP_TOKEN")
        .env_remove("NETMINE_UPSTREAM_SECRET")
        .env_remove("NETMINE_EC_SECRET");
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().unwrap();
    let _ = std::fs::remove_file(&path);
    o
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn a_sound_config_prints_its_settings_with_secrets_hidden() {
    let prices = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/devnet-prices.toml");
    let o = check(
        &format!("network = \"devnet\"\nsecret = \"a-very-long-farm-secret-123\"\n[prices.sources.Fixed]\npriority = 0\nfile = \"{prices}\"\n"),
        &[],
    );
    let out = text(&o.stdout);
    assert!(o.status.success(), "{}{}", out, text(&o.stderr));
    assert!(out.contains("config ok"), "{out}");
    assert!(out.contains("secret = \"***\""), "{out}");
    assert!(out.contains("max_entries = 10"), "defaults shown: {out}");
    assert!(!out.contains("a-very-long-farm-secret-123"));
}

#[test]
fn every_problem_is_listed_and_the_exit_code_is_1() {
    let o = check(
        "caddr = \"nowhere\"\nmax_entries = 0\nnetwork = \"devnet\"\n",
        &[("NETMINE_EC_SECRET", "Es-not-a-real-key-but-secret-text")],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    for want in [
        "caddr",
        "no shared secret",
        "max_entries",
        "ec_secret",
        "4 problem",
    ] {
        assert!(err.contains(want), "{want} missing from {err}");
    }
    let all = format!("{}{}", text(&o.stdout), err);
    assert!(!all.contains("not-a-real-key-but-secret-text"), "{all}");
    assert!(text(&o.stdout).contains("ec_secret = \"***\""));
}

#[test]
fn an_unreadable_or_invalid_file_is_a_clear_error() {
    let o = check("this is not toml = = =", &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("not a valid coordinator config"));
    let o = check("no_such_key = 1", &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("no_such_key"),
        "{}",
        text(&o.stderr)
    );
}

/// A relay's HTTP is checked like the daemon's: beyond loopback only with a token, which is never
/// printed; without `http` in its file it serves on its own default, 127.0.0.1:7781.
#[test]
fn a_relays_http_is_checked_like_the_daemons() {
    let relay = "relay_name = \"siteB\"\nupstream = [\"primary:1234\"]\n\
                 secret = \"site-b-secret-0123456789\"\n\
                 upstream_secret = \"upstream-secret-0123456789\"\n";
    let o = check_as(&["--relay"], relay, &[]);
    let out = text(&o.stdout);
    assert!(o.status.success(), "{out}{}", text(&o.stderr));
    assert!(out.contains("http = \"127.0.0.1:7781\""), "{out}");
    let open = format!("{relay}http = \"0.0.0.0:7781\"\n");
    let o = check_as(&["--relay"], &open, &[]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(
        err.contains("set a token") && err.contains("1 problem"),
        "{err}"
    );
    let token = "relay-dashboard-token-0123456789";
    let o = check_as(&["--relay"], &open, &[("NETMINE_HTTP_TOKEN", token)]);
    let out = text(&o.stdout);
    assert!(o.status.success(), "{out}{}", text(&o.stderr));
    assert!(
        out.contains("http_token = \"***\"") && !out.contains(token),
        "{out}"
    );
}
