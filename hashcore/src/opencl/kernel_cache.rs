//! Compiled kernels cached per device and driver, so a restart does not recompile
//! (`~/.cache/netmine/kernels/<sha256 of source, device, driver, platform, options>.bin`, or under
//! `$XDG_CACHE_HOME`). A missing, empty or unusable file only costs a recompile; the cache never
//! stops the miner.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

fn dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("netmine").join("kernels"))
}

/// The cache file name for this source on this device, driver and platform with these build
/// options: a digest of all five (each length-prefixed, so no two lists give the same name).
fn file_name(source: &str, device: &str, driver: &str, platform: &str, options: &str) -> String {
    let mut h = Sha256::new();
    for part in [source, device, driver, platform, options] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    format!("{}.bin", hex::encode(&h.finalize()[..16]))
}

/// The cache file for this source on this device and driver (`None` without a home directory).
pub fn path(
    source: &str,
    device: &str,
    driver: &str,
    platform: &str,
    options: &str,
) -> Option<PathBuf> {
    Some(dir()?.join(file_name(source, device, driver, platform, options)))
}

/// Reads a cached binary; `None` if it is missing or empty.
pub fn load(path: &PathBuf) -> Option<Vec<u8>> {
    std::fs::read(path).ok().filter(|b| !b.is_empty())
}

/// Stores a binary atomically (temporary file, then rename), creating the directory; failures
/// only cost a recompile next time.
pub fn store(path: &Path, binary: &[u8]) {
    let Some(parent) = path.parent() else { return };
    if std::fs::create_dir_all(parent).is_err() {
        return;
    }
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    if std::fs::write(&tmp, binary).is_ok() && std::fs::rename(&tmp, path).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_of_the_key_changes_the_file() {
        let base = file_name("src", "dev", "drv", "plat", "");
        for other in [
            file_name("src2", "dev", "drv", "plat", ""),
            file_name("src", "dev2", "drv", "plat", ""),
            file_name("src", "dev", "drv2", "plat", ""),
            file_name("src", "dev", "drv", "plat2", ""),
            file_name("src", "dev", "drv", "plat", "-O2"),
            // The same bytes split differently.
            file_name("sr", "cdev", "drv", "plat", ""),
        ] {
            assert_ne!(base, other);
        }
        assert_eq!(base, file_name("src", "dev", "drv", "plat", ""));
        assert!(base.ends_with(".bin") && base.len() == 32 + 4);
    }

    #[test]
    fn store_then_load_round_trips_and_bad_files_are_misses() {
        let dir = std::env::temp_dir().join(format!("kernel-cache-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("nested").join(file_name("s", "d", "v", "p", ""));
        assert_eq!(load(&path), None, "nothing cached yet");
        store(&path, b"binary");
        assert_eq!(load(&path).as_deref(), Some(&b"binary"[..]));
        store(&path, b"newer");
        assert_eq!(load(&path).as_deref(), Some(&b"newer"[..]), "replaced");
        std::fs::write(&path, b"").unwrap();
        assert_eq!(load(&path), None, "an empty file is a miss");
        // A directory that cannot be created (its parent is a file) is ignored, not a panic.
        let blocked = path.join("below-a-file.bin");
        store(&blocked, b"x");
        assert_eq!(load(&blocked), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
