//! Compiled kernels cached per device and driver, so a restart does not recompile
//! (`~/.cache/netmine/kernels/<sha256 of source, device, driver, options>.bin`).

use sha2::{Digest, Sha256};
use std::path::PathBuf;

fn dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("netmine").join("kernels"))
}

/// The cache file for this source on this device and driver.
pub fn path(
    source: &str,
    device: &str,
    driver: &str,
    platform: &str,
    options: &str,
) -> Option<PathBuf> {
    let mut h = Sha256::new();
    for part in [source, device, driver, platform, options] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    Some(dir()?.join(format!("{}.bin", hex::encode(&h.finalize()[..16]))))
}

/// Reads a cached binary.
pub fn load(path: &PathBuf) -> Option<Vec<u8>> {
    std::fs::read(path).ok().filter(|b| !b.is_empty())
}

/// Stores a binary (atomically; failures only cost a recompile next time).
pub fn store(path: &PathBuf, binary: &[u8]) {
    let Some(parent) = path.parent() else { return };
    if std::fs::create_dir_all(parent).is_err() {
        return;
    }
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    if std::fs::write(&tmp, binary).is_ok() && std::fs::rename(&tmp, path).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}
