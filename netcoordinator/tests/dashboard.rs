//! The dashboard in a real browser: Chromium (headless) loads `/` from a devnet with two miners
//! and must render both miners in the table (with their remote-control buttons), the hash-rate
//! chart, and the blocks. `.ci/run` installs Chromium; without it this test fails (it is opt-in:
//! `--include-ignored`).
//!
//! With `NETMINE_SCREENSHOT=path.png` it also keeps the screenshot (docs/dashboard.png comes from it).

use netcoordinator::devnet::{run, DevnetOptions};
use std::path::PathBuf;
use std::process::Command;

/// The browser: `CHROMIUM` if set, else the first of the usual names on PATH.
fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return p.into();
    }
    for name in [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ] {
        for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
            let p = dir.join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!("no Chromium found (apt install chromium, or set CHROMIUM=/path/to/chrome)");
}

/// Runs headless Chromium on `url` with `args` (a fresh profile), returning stdout.
fn browse(url: &str, args: &[&str], profile: &std::path::Path) -> String {
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--window-size=1440,1000",
            // Long enough for the page's first round of API calls and its rendering.
            "--virtual-time-budget=8000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .output()
        .expect("running chromium");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
#[ignore = "needs Chromium (installed by .ci/run)"]
fn the_dashboard_renders_the_miners_the_chart_and_the_blocks_in_chromium() {
    chromium(); // fail at once, before the devnet, when there is no browser
    let profile = std::env::temp_dir().join(format!("netmine-chromium-{}", std::process::id()));
    let shot = std::env::var_os("NETMINE_SCREENSHOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| profile.with_extension("png"));
    let (tx, rx) = std::sync::mpsc::channel::<std::net::SocketAddr>();
    // The browser runs beside the devnet once two blocks are in.
    let looker = std::thread::spawn({
        let (profile, shot) = (profile.clone(), shot.clone());
        move || {
            let url = format!("http://{}/", rx.recv().unwrap());
            let dom = browse(&url, &["--dump-dom"], &profile);
            browse(
                &url,
                &[&format!("--screenshot={}", shot.display())],
                &profile,
            );
            dom
        }
    });
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut seen = 0;
    let mut tx = Some(tx);
    rt.block_on(run(
        DevnetOptions {
            miners: 2,
            blocks: 4,
            block_seconds: 12.0,
            bits: 12,
            table_dir: Some(std::env::temp_dir().join("netmine-dashboard-tables")),
            threads: 1,
            // A port of its choosing: each block says where the dashboard is.
            http: Some("127.0.0.1:0".parse().unwrap()),
        },
        |b| {
            seen += 1;
            if seen == 2 {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(b.dashboard.expect("the dashboard's address"));
                }
            }
        },
    ))
    .unwrap();
    let dom = looker.join().unwrap();
    assert!(
        dom.contains("data-ready=\"1\""),
        "the page never loaded its data:\n{dom}"
    );
    for m in ["devnet0", "devnet1"] {
        assert!(
            dom.contains(&format!("data-identity=\"{m}\"")),
            "miner {m} not in the table:\n{dom}"
        );
    }
    // Remote control: a Pause and a Restart button on each (protocol 3) miner's row, and the
    // farm-wide ones (what they send is tested through the API in coordinator/tests/control.rs).
    assert!(
        dom.matches(">Pause</button>").count() >= 2
            && dom.matches(">Restart</button>").count() >= 2,
        "no control buttons on the miners' rows:\n{dom}"
    );
    assert!(
        dom.contains("id=\"pause-all\""),
        "no Pause all button:\n{dom}"
    );
    let line = dom
        .split("class=\"line\" d=\"M")
        .nth(1)
        .unwrap_or_else(|| panic!("no chart line:\n{dom}"));
    assert!(
        line.split('"').next().unwrap().contains(" L"),
        "the chart has one point only"
    );
    assert!(
        dom.contains("data-height="),
        "no block in the table:\n{dom}"
    );
    assert!(
        dom.contains("<div id=\"error\" style=\"display: none;\"></div>"),
        "the page shows an error:\n{dom}"
    );
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "screenshot {} bytes",
        png.len()
    );
    let _ = std::fs::remove_dir_all(&profile);
}
