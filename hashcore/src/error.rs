//! Typed errors of the hashcore crate.

use std::path::PathBuf;

/// Everything that can go wrong in hashcore.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A table size outside the supported range was requested.
    #[error("LXRHash table size of {0} bits is not supported: use 8 to 30 bits (30 is the only size PegNet accepts)")]
    BitsOutOfRange(u32),

    /// `LXRBITSIZE` is set but does not hold a valid size.
    #[error("environment variable LXRBITSIZE={value:?} is not a table size: expected a whole number from 8 to 30 (unset it to use the 30-bit table)")]
    BadBitsEnv {
        /// The raw value found in the environment.
        value: String,
    },

    /// The operating system refused the memory for a table.
    #[error("could not allocate {bytes} bytes for the LXRHash table: {source}")]
    Alloc {
        /// Size in bytes of the allocation that failed.
        bytes: usize,
        /// The error `mmap` returned (typically out of memory or over a `ulimit`).
        source: std::io::Error,
    },

    /// A table file exists but is not a valid table.
    #[error("table file {path} is corrupt: {reason}")]
    CorruptTable {
        /// Path of the rejected file.
        path: PathBuf,
        /// Which check failed and with what values (e.g. a wrong length or SHA-256 digest).
        reason: String,
    },

    /// Reading or writing a table file failed.
    #[error("{action} {path}: {source}")]
    TableIo {
        /// What was being done ("reading", "writing", ...).
        action: &'static str,
        /// The table, digest or lock file being read or written.
        path: PathBuf,
        /// The I/O error from the operating system.
        source: std::io::Error,
    },

    /// A mining backend could not be started or used.
    #[error("backend: {0}")]
    Backend(String),
}

/// Result alias for hashcore.
pub type Result<T, E = Error> = std::result::Result<T, E>;
