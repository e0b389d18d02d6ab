//! Binaries of the workspace's other packages, for tests that start them as processes (a
//! coordinator test starting `netminer`, the load test starting relays).
//!
//! Cargo builds a package's binaries only for that package's own tests (`CARGO_BIN_EXE_*`), so
//! a test asks cargo for the others. It asks with `cargo build --workspace --bins --tests`: the
//! same units, with the same features, as `cargo test --workspace` builds. A narrower
//! `cargo build -p netminer` resolves features for that package alone, which compiles a dozen
//! crates again and relinks the binaries in the middle of the suite. Under
//! `cargo test --workspace` everything is already fresh and the call costs under a second; run
//! alone (`cargo test -p netcoordinator --test NAME`) the first call builds the workspace's tests.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The binaries `names` of this workspace (at `workspace`, the directory holding the workspace's
/// `Cargo.toml`), built into the profile directory of `beside` (a `CARGO_BIN_EXE_*` path of the
/// calling test's own package), with the calling test's profile: `NETMINE_TEST_PROFILE` when
/// set (tests built with `--profile NAME`), else `test` for a debug build and `release` for one
/// with `--release`. Their paths, in the order of `names`; panics with cargo's output when the
/// build fails.
pub fn workspace_bins(beside: &Path, workspace: &Path, names: &[&str]) -> Vec<PathBuf> {
    let profile_dir = beside.parent().expect("a binary's path has a directory");
    let profile = std::env::var("NETMINE_TEST_PROFILE").unwrap_or_else(|_| {
        if cfg!(debug_assertions) {
            "test".into()
        } else {
            "release".into()
        }
    });
    let out = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--profile", &profile])
        .args(["--workspace", "--bins", "--tests"])
        .current_dir(workspace)
        .env(
            "CARGO_TARGET_DIR",
            profile_dir
                .parent()
                .expect("a profile directory is in a target directory"),
        )
        .output()
        .expect("running cargo");
    assert!(
        out.status.success(),
        "building {names:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    names
        .iter()
        .map(|bin| {
            let p = profile_dir.join(bin);
            assert!(p.exists(), "{} was not built", p.display());
            p
        })
        .collect()
}
