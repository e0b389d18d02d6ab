//! `netcoordinator --tls` and `netcoordinator tls-fingerprint`, run as a user would: the
//! fingerprint the daemon logs is the one `tls-fingerprint` prints, and stays the same across
//! restarts (the certificate is generated once into the data dir).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("nc-tls-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Starts the daemon with `--tls` on `data` and returns the fingerprint it logs.
fn logged_fingerprint(data: &Path, extra: &[&str]) -> String {
    let child = common::Spawned::start(
        "netcoordinator",
        Command::new(env!("CARGO_BIN_EXE_netcoordinator"))
            .args([
                "--network",
                "devnet",
                "--factomd",
                "127.0.0.1:1",
                "--caddr",
                common::ANY,
                "--bits",
                "10",
                "--http",
                "off",
            ])
            .args(extra)
            .arg("--data-dir")
            .arg(data)
            .arg("--table-dir")
            .arg(data.join("tables"))
            .env("NETMINE_SECRET", "a-long-enough-farm-secret")
            .env(
                "NETMINE_EC_SECRET",
                factom::EcSecret::generate().to_secret_string(),
            )
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1"),
    );
    let line = child.line_blocking("--tls-fingerprint sha256:", Duration::from_secs(60));
    let i = line.find("--tls-fingerprint sha256:").unwrap();
    let rest = &line[i + "--tls-fingerprint ".len()..];
    rest.split_whitespace().next().unwrap().to_string()
}

fn printed(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_netcoordinator"))
        .arg("tls-fingerprint")
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap().trim().to_string()
}

#[test]
fn tls_fingerprint_prints_what_the_daemon_logged() {
    let d = dir("fp");
    let data = d.join("data");
    let ds = data.to_str().unwrap();
    // Before any --tls start there is no certificate: a clear error.
    let o = Command::new(env!("CARGO_BIN_EXE_netcoordinator"))
        .args(["tls-fingerprint", "--data-dir", ds])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--tls"));

    let first = logged_fingerprint(&data, &["--tls"]);
    assert!(
        first.starts_with("sha256:") && first.len() == 7 + 64,
        "{first}"
    );
    assert_eq!(printed(&["--data-dir", ds]), first);
    // Restarted: the same certificate.
    assert_eq!(logged_fingerprint(&data, &["--tls"]), first);

    // The operator's own certificate and key (PEM).
    let cert = data.join(coordinator::tls::CERT_FILE);
    let key = data.join(coordinator::tls::KEY_FILE);
    let own = d.join("own");
    std::fs::create_dir_all(&own).unwrap();
    std::fs::copy(&cert, own.join("c.pem")).unwrap();
    std::fs::copy(&key, own.join("k.pem")).unwrap();
    let c = own.join("c.pem");
    let k = own.join("k.pem");
    let fp = logged_fingerprint(
        &d.join("data2"),
        &[
            "--tls-cert",
            c.to_str().unwrap(),
            "--tls-key",
            k.to_str().unwrap(),
        ],
    );
    assert_eq!(fp, first);
    assert_eq!(printed(&["--tls-cert", c.to_str().unwrap()]), first);
    assert!(!d.join("data2").join(coordinator::tls::CERT_FILE).exists());
}
