//! The on-disk table cache, shared with PegNet's Go tools: `~/.lxrhash/lxrhash-seed-fafaececfafaecec-
//! passes-5-size-<bits>.dat`, the raw table with no header.
//!
//! Unlike the Go code, a file is only used after it passes a length check and a SHA-256 check
//! (against the digests known for 10, 20 and 30 bits, or a `.sha256` file we wrote beside it), and
//! it is written atomically (temporary file, fsync, rename), so a crash mid-write never leaves a
//! table that later loads. A lock file keeps two processes on one box from both spending minutes
//! generating it.

use crate::error::{Error, Result};
use crate::memory::HugeRegion;
use crate::params::{known_digest, PASSES, SEED};
use crate::table::{sha256_hex, Table};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Told how far a table's generation has got: `(done, total)` steps. Whoever runs the program
/// decides how to show it (the command-line crate draws a progress bar on a terminal); the cache
/// itself only logs every 10 %.
pub type Progress = Arc<dyn Fn(u64, u64) + Send + Sync>;

/// Where and how to get a table.
#[derive(Clone, Default)]
pub struct TableOptions {
    /// Table size in bits (8..=30).
    pub bits: u32,
    /// Cache directory; `None` means `~/.lxrhash`.
    pub dir: Option<PathBuf>,
    /// Called while generating, if set.
    pub progress: Option<Progress>,
}

impl std::fmt::Debug for TableOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableOptions")
            .field("bits", &self.bits)
            .field("dir", &self.dir)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

/// Where the table came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableOrigin {
    /// Read from a valid cache file.
    Loaded,
    /// Generated because no cache file existed.
    Generated,
    /// Generated because the cache file was rejected for the given reason.
    Rebuilt(String),
}

/// What [`load_or_build`] did.
#[derive(Debug, Clone)]
pub struct TableReport {
    /// The cache file path.
    pub path: PathBuf,
    /// Where the table came from.
    pub origin: TableOrigin,
    /// Set when the table could not be written to the cache (mining continues from memory).
    pub save_warning: Option<String>,
    /// SHA-256 of the table, lowercase hex.
    pub sha256: String,
    /// Time spent loading or generating.
    pub elapsed: Duration,
}

/// The file name PegNet's LXRHash uses for a table of `bits` bits.
pub fn file_name(bits: u32) -> String {
    format!("lxrhash-seed-{SEED:x}-passes-{PASSES}-size-{bits}.dat")
}

/// `~/.lxrhash`, where PegNet keeps its tables.
pub fn default_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".lxrhash"))
}

fn sidecar_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".sha256");
    PathBuf::from(p)
}

/// Loads the table from the cache if a valid file is there, otherwise generates it and tries to
/// save it. Only a failure to get *any* valid table is an error; an unwritable cache is a warning
/// in the report (and in the log).
pub fn load_or_build(opts: &TableOptions) -> Result<(Arc<Table>, TableReport)> {
    let bits = crate::params::check_bits(opts.bits)?;
    let started = Instant::now();
    let dir = opts
        .dir
        .clone()
        .or_else(default_dir)
        .unwrap_or_else(|| PathBuf::from(".lxrhash"));
    let path = dir.join(file_name(bits));
    let dir_error = fs::create_dir_all(&dir).err();
    let _lock = dir_error
        .is_none()
        .then(|| FileLock::acquire(&path))
        .flatten();

    let origin = match load(&path, bits) {
        Ok(table) => {
            let sha256 = table.sha256_hex_cached.clone();
            return Ok((
                Arc::new(table.table),
                TableReport {
                    path,
                    origin: TableOrigin::Loaded,
                    save_warning: None,
                    sha256,
                    elapsed: started.elapsed(),
                },
            ));
        }
        Err(Error::TableIo { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            TableOrigin::Generated
        }
        Err(e) => {
            tracing::warn!("{e}; rebuilding it");
            TableOrigin::Rebuilt(e.to_string())
        }
    };

    let table = generate_with_progress(bits, opts.progress.as_ref())?;
    let sha256 = table.sha256_hex();
    if let Some(expected) = known_digest(bits) {
        if sha256 != expected {
            // Generation is deterministic, so this is a hardware fault or a bug: never mine with it.
            return Err(Error::CorruptTable {
                path,
                reason: format!(
                    "freshly generated table has sha256 {sha256}, expected {expected} (memory fault?)"
                ),
            });
        }
    }
    let save_warning = match dir_error {
        Some(e) => Some(format!("cannot create table dir {}: {e}", dir.display())),
        None => save(&path, &table, &sha256).err().map(|e| e.to_string()),
    };
    if let Some(w) = &save_warning {
        tracing::warn!(
            "{w}; the table stays in memory only and will be generated again next start"
        );
    }
    Ok((
        Arc::new(table),
        TableReport {
            path,
            origin,
            save_warning,
            sha256,
            elapsed: started.elapsed(),
        },
    ))
}

/// What a program does at start: resolve the size (`explicit`, else `LXRBITSIZE`, else 30), warn
/// if it is not the network's, load or build the table, and log where it came from and how much
/// of it is on huge pages. (See [`open_with_progress`] to show the generation's progress.)
pub fn open(explicit_bits: Option<u32>, dir: Option<PathBuf>) -> Result<(Arc<Table>, TableReport)> {
    open_with_progress(explicit_bits, dir, None)
}

/// [`open`], telling `progress` how far a generation has got.
pub fn open_with_progress(
    explicit_bits: Option<u32>,
    dir: Option<PathBuf>,
    progress: Option<Progress>,
) -> Result<(Arc<Table>, TableReport)> {
    let bits = crate::params::resolve_bits(explicit_bits)?;
    if bits != crate::params::DEFAULT_BITS {
        tracing::warn!(
            "using a {bits}-bit LXRHash table: fine for tests, but the network only accepts records hashed with the 30-bit table"
        );
    }
    let (table, report) = load_or_build(&TableOptions {
        bits,
        dir,
        progress,
    })?;
    let origin = match &report.origin {
        TableOrigin::Loaded => "loaded".to_string(),
        TableOrigin::Generated => "generated".to_string(),
        TableOrigin::Rebuilt(why) => format!("rebuilt ({why})"),
    };
    tracing::info!(
        path = %report.path.display(),
        seconds = format!("{:.1}", report.elapsed.as_secs_f64()),
        "LXRHash table {origin}"
    );
    if let (Some(s), true) = (table.huge_page_share(), table.len() >= 2 << 20) {
        tracing::info!(
            "huge pages: {:.1}% of the table ({} of {} MiB)",
            s.percent(),
            s.huge_bytes >> 20,
            s.total_bytes >> 20
        );
    }
    Ok((table, report))
}

/// A table read from disk together with its verified digest.
pub struct LoadedTable {
    /// The table, ready to hash with; its digest was checked before it was returned.
    pub table: Table,
    sha256_hex_cached: String,
}

/// Reads and verifies a table file. Errors: `TableIo` (missing or unreadable) or `CorruptTable`.
pub fn load(path: &Path, bits: u32) -> Result<LoadedTable> {
    let io = |action, source| Error::TableIo {
        action,
        path: path.to_path_buf(),
        source,
    };
    let corrupt = |reason: String| Error::CorruptTable {
        path: path.to_path_buf(),
        reason,
    };
    let mut file = File::open(path).map_err(|e| io("opening", e))?;
    let expected_len = 1u64 << bits;
    let len = file.metadata().map_err(|e| io("reading", e))?.len();
    if len != expected_len {
        return Err(corrupt(format!(
            "it is {len} bytes, expected {expected_len}"
        )));
    }
    let mut region = HugeRegion::new(expected_len as usize)?;
    file.read_exact(region.as_mut_slice())
        .map_err(|e| io("reading", e))?;
    let sha256 = sha256_hex(region.as_slice());
    let expected = match known_digest(bits) {
        Some(d) => Some(d.to_string()),
        None => fs::read_to_string(sidecar_path(path))
            .ok()
            .map(|s| s.trim().to_string()),
    };
    match expected {
        Some(expected) if expected != sha256 => {
            return Err(corrupt(format!(
                "its sha256 is {sha256}, expected {expected}"
            )));
        }
        Some(_) => {}
        None => {
            // No digest to compare with (a size only the Go tools wrote): at least check that
            // every byte value occurs 2^bits/256 times, as a shuffle of the identity must.
            let mut counts = [0u64; 256];
            for &b in region.as_slice() {
                counts[b as usize] += 1;
            }
            if counts.iter().any(|&c| c != expected_len / 256) {
                return Err(corrupt("byte values are not evenly distributed".into()));
            }
        }
    }
    Ok(LoadedTable {
        table: Table::from_region(region, bits),
        sha256_hex_cached: sha256,
    })
}

/// Writes the table atomically: a crash at any point leaves either no file or a complete one.
fn save(path: &Path, table: &Table, sha256: &str) -> Result<()> {
    write_atomically(path, table.as_bytes())?;
    if known_digest(table.bits()).is_none() {
        write_atomically(&sidecar_path(path), format!("{sha256}\n").as_bytes())?;
    }
    Ok(())
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let io = |action, source| Error::TableIo {
        action,
        path: tmp.clone(),
        source,
    };
    let result = (|| {
        let mut f = File::create(&tmp).map_err(|e| io("creating", e))?;
        f.write_all(bytes).map_err(|e| io("writing", e))?;
        f.sync_all().map_err(|e| io("syncing", e))?;
        drop(f);
        fs::rename(&tmp, path).map_err(|e| io("renaming", e))?;
        // Persist the rename itself.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn generate_with_progress(bits: u32, progress: Option<&Progress>) -> Result<Table> {
    tracing::info!(bits, "generating the LXRHash table");
    let started = Instant::now();
    let mut last_log = 0u64;
    let table = Table::generate(bits, &mut |done, total| {
        if let Some(p) = progress {
            p(done, total);
        }
        // A log line every 10 %, for services whose stderr is not a terminal.
        let tenth = done * 10 / total;
        if tenth > last_log && bits >= 24 {
            last_log = tenth;
            tracing::info!("table generation {}% done", tenth * 10);
        }
    })?;
    tracing::info!(
        bits,
        seconds = started.elapsed().as_secs_f64(),
        "LXRHash table generated"
    );
    Ok(table)
}

/// An exclusive advisory lock on `<table>.lock`, released on drop.
/// The cache's lock on the table at `path` (`<path>.lock`, an exclusive `flock`), held by whoever
/// builds, loads or copies that table, so that the processes of one box share one copy. Blocks
/// until it is free; `None` if the lock file cannot be made (the caller goes on without it).
pub fn lock(path: &Path) -> Option<impl Drop> {
    FileLock::acquire(path)
}

struct FileLock(File);

impl FileLock {
    fn acquire(path: &Path) -> Option<FileLock> {
        let mut p = path.as_os_str().to_owned();
        p.push(".lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(PathBuf::from(p))
            .ok()?;
        use std::os::fd::AsRawFd;
        let fd = file.as_raw_fd();
        // SAFETY: flock on a file descriptor we own.
        if unsafe { libc::flock(fd, libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            tracing::info!("another process is building or loading this table; waiting for it");
            // SAFETY: as above.
            if unsafe { libc::flock(fd, libc::LOCK_EX) } != 0 {
                return None;
            }
        }
        Some(FileLock(file))
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: unlocking our own descriptor.
        unsafe {
            libc::flock(self.0.as_raw_fd(), libc::LOCK_UN);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("hashcore-cache-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    fn opts(bits: u32, dir: &Path) -> TableOptions {
        TableOptions {
            bits,
            dir: Some(dir.to_path_buf()),
            progress: None,
        }
    }

    #[test]
    fn file_name_matches_pegnet() {
        assert_eq!(
            file_name(30),
            "lxrhash-seed-fafaececfafaecec-passes-5-size-30.dat"
        );
    }

    #[test]
    fn generates_saves_then_loads() {
        let dir = tmpdir("roundtrip");
        let (t1, r1) = load_or_build(&opts(10, &dir)).unwrap();
        assert_eq!(r1.origin, TableOrigin::Generated);
        assert!(r1.save_warning.is_none());
        assert_eq!(fs::read(&r1.path).unwrap(), t1.as_bytes());
        let (t2, r2) = load_or_build(&opts(10, &dir)).unwrap();
        assert_eq!(r2.origin, TableOrigin::Loaded);
        assert_eq!(t1.as_bytes(), t2.as_bytes());
        // No temporary file is left behind.
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.contains(".tmp-")), "{names:?}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn corrupt_files_are_rejected_and_rebuilt() {
        let dir = tmpdir("corrupt");
        let (good, r) = load_or_build(&opts(10, &dir)).unwrap();
        // Same length, one byte flipped: only the digest can tell.
        let mut bytes = good.as_bytes().to_vec();
        bytes[100] ^= 1;
        fs::write(&r.path, &bytes).unwrap();
        let err = load(&r.path, 10).err().unwrap();
        assert!(err.to_string().contains("sha256"), "{err}");
        let (t, r2) = load_or_build(&opts(10, &dir)).unwrap();
        assert!(matches!(r2.origin, TableOrigin::Rebuilt(_)));
        assert_eq!(t.as_bytes(), good.as_bytes());
        assert_eq!(fs::read(&r.path).unwrap(), good.as_bytes());
        // A truncated file (a crash of a non-atomic writer) is caught by the length check.
        fs::write(&r.path, &good.as_bytes()[..500]).unwrap();
        let err = load(&r.path, 10).err().unwrap();
        assert!(err.to_string().contains("500 bytes"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sizes_without_a_known_digest_use_a_sidecar() {
        let dir = tmpdir("sidecar");
        let (_, r) = load_or_build(&opts(11, &dir)).unwrap();
        let side = sidecar_path(&r.path);
        assert_eq!(fs::read_to_string(&side).unwrap().trim(), r.sha256);
        let mut bytes = fs::read(&r.path).unwrap();
        bytes.swap(1, 2000);
        fs::write(&r.path, &bytes).unwrap();
        assert!(load(&r.path, 11).is_err());
        // Without the sidecar, the byte-distribution check still catches a zeroed region.
        fs::remove_file(&side).unwrap();
        bytes[..64].fill(0);
        fs::write(&r.path, &bytes).unwrap();
        let err = load(&r.path, 11).err().unwrap();
        assert!(err.to_string().contains("evenly"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_unwritable_dir_is_a_warning_not_an_error() {
        let dir = tmpdir("ro");
        fs::create_dir_all(&dir).unwrap();
        // A regular file where the directory should be: creating the dir fails even for root.
        let blocker = dir.join("not-a-dir");
        fs::write(&blocker, b"x").unwrap();
        let (t, r) = load_or_build(&opts(10, &blocker.join("sub"))).unwrap();
        assert_eq!(t.bits(), 10);
        assert!(r.save_warning.unwrap().contains("cannot create table dir"));
        fs::remove_dir_all(&dir).unwrap();
    }
}
