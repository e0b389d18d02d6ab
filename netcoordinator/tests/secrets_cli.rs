//! The coordinator's start-up rules for the farm secret, run as a user would: short secrets are
//! refused naming the rule, `gen-secret` prints one that is accepted, `--no-auth` is refused
//! unless the listen address is loopback, and `--secret` warns that the process list shows it.

use std::process::{Command, Output};

/// `netcoordinator ARGS` with `secret` in NETMINE_SECRET (if any) and no EC key anywhere: a start
/// that passes the checks stops at "no EC key", before touching factomd or any file.
fn run(args: &[&str], secret: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_netcoordinator"));
    c.args(args)
        .env_remove("NETMINE_SECRET")
        .env_remove("NETMINE_EC_SECRET")
        .env_remove("LXRBITSIZE")
        .env("RUST_LOG", "info");
    if let Some(s) = secret {
        c.env("NETMINE_SECRET", s);
    }
    c.output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const DEVNET: [&str; 6] = [
    "--network",
    "devnet",
    "--factomd",
    "127.0.0.1:1",
    "--caddr",
    "127.0.0.1:0",
];

#[test]
fn a_short_secret_is_refused_naming_the_rule() {
    let o = run(&DEVNET, Some("farmsecret"));
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("at least 16"), "{err}");
    assert!(err.contains("gen-secret"), "{err}");
    assert!(
        !err.contains("farmsecret"),
        "the secret is never printed: {err}"
    );
}

#[test]
fn gen_secret_prints_a_fresh_secret_that_is_accepted() {
    let gen = || {
        let o = run(&["gen-secret"], None);
        assert!(o.status.success(), "{}", stderr(&o));
        String::from_utf8(o.stdout).unwrap().trim().to_string()
    };
    let (a, b) = (gen(), gen());
    assert_ne!(a, b);
    assert_eq!(a.len(), 64);
    assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
    let o = run(&DEVNET, Some(&a));
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("no EC key"), "the checks passed: {err}");
    assert!(!err.contains(&a), "{err}");
}

#[test]
fn no_auth_is_refused_unless_on_loopback() {
    let args = [
        "--network",
        "devnet",
        "--factomd",
        "127.0.0.1:1",
        "--no-auth",
        "--caddr",
    ];
    for caddr in ["0.0.0.0:0", ":1234"] {
        let o = run(&[&args[..], &[caddr]].concat(), None);
        assert!(!o.status.success());
        let err = stderr(&o);
        assert!(
            err.contains("--no-auth") && err.contains("loopback"),
            "{err}"
        );
    }
    let o = run(&[&args[..], &["127.0.0.1:0"]].concat(), None);
    let err = stderr(&o);
    assert!(
        err.contains("no EC key"),
        "loopback passes the checks: {err}"
    );
}

#[test]
fn the_secret_flag_warns_that_the_process_list_shows_it() {
    let secret = "a-long-enough-farm-secret";
    let o = run(&[&DEVNET[..], &["--secret", secret]].concat(), None);
    let err = stderr(&o);
    assert!(
        err.contains("process list") && err.contains("NETMINE_SECRET"),
        "{err}"
    );
    assert!(!err.contains(secret), "{err}");
    // From the environment: no warning.
    let o = run(&DEVNET, Some(secret));
    assert!(!stderr(&o).contains("process list"), "{}", stderr(&o));
}
