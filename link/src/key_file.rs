//! The box's signing key on disk: `box.key` in the data dir, 64 hex digits, mode 0600, made on
//! first start. Every netminer and relay of a box may share it (the coordinator pins a key per
//! identity, so one key can sign for several identities of the same box). The key never leaves
//! the box: only its public half travels, and `netminer key` prints it for the operator.

use protocol::BoxKey;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The key file's name in the data dir.
pub const FILE_NAME: &str = "box.key";

/// Why the key file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The file or its directory cannot be read or written.
    #[error("box key {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file does not hold a key.
    #[error("box key {0}: not 64 hex digits (move it aside to make a new key, then add the new key to the coordinator's roster)")]
    Malformed(PathBuf),
    /// Others than its owner may read it.
    #[error("box key {0}: readable by other users; make it private with `chmod 600 {0}`")]
    Open(PathBuf),
}

/// The key in `dir`, made (with a fresh random key, mode 0600) if there is none yet. Two
/// processes starting at once end up with the same key.
pub fn load_or_create(dir: &Path) -> Result<BoxKey, KeyFileError> {
    let path = dir.join(FILE_NAME);
    let io = |source| KeyFileError::Io {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    match opts.open(&path) {
        Ok(mut f) => {
            let key = BoxKey::generate();
            f.write_all(format!("{}\n", hex::encode(key.to_bytes())).as_bytes())
                .and_then(|()| f.sync_all())
                .map_err(io)?;
            tracing::info!(path = %path.display(), public = %key.public(), "made this box's signing key");
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load(&path),
        Err(e) => Err(io(e)),
    }
}

/// Reads the key at `path`.
pub fn load(path: &Path) -> Result<BoxKey, KeyFileError> {
    let io = |source| KeyFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map_err(io)?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(KeyFileError::Open(path.to_path_buf()));
        }
    }
    // A file being written by another process starting at the same moment: wait for it.
    for _ in 0..50 {
        let text = std::fs::read_to_string(path).map_err(io)?;
        let t = text.trim();
        if t.is_empty() {
            std::thread::sleep(std::time::Duration::from_millis(20));
            continue;
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(t, &mut bytes).map_err(|_| KeyFileError::Malformed(path.into()))?;
        return Ok(BoxKey::from_bytes(&bytes));
    }
    Err(KeyFileError::Malformed(path.to_path_buf()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_made_once_private_and_read_back() {
        let dir = std::env::temp_dir().join(format!("netmine-key-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let k = load_or_create(&dir).unwrap();
        assert_eq!(load_or_create(&dir).unwrap().public(), k.public());
        let path = dir.join(FILE_NAME);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(load(&path), Err(KeyFileError::Open(_))));
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        std::fs::write(&path, "nothex\n").unwrap();
        assert!(matches!(load(&path), Err(KeyFileError::Malformed(_))));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
