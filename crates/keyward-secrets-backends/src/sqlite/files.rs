//! The vault's files on disk: the database refused like a key file when group or others can
//! access it, created with mode 0600, and the master key file beside it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use keyward_core_crypto::private_file::open_private_file;

use crate::error::{Error, Result};

/// The master key file of the vault at `db`: `<db>.key`.
pub(crate) fn key_path(db: &Path) -> PathBuf {
    with_suffix(db, ".key")
}

/// The next master key of a key-file rotation in progress: `<key>.next`.
pub(crate) fn next_key_path(key: &Path) -> PathBuf {
    with_suffix(key, ".next")
}

/// `path` with `suffix` appended to its file name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

/// Refuses a database file that group or others can access, a symbolic link, a file owned by
/// someone else, or anything but a regular file (the rules of key files).
pub(crate) fn check_db_file(path: &Path) -> Result<()> {
    open_private_file(path)?;
    Ok(())
}

/// Creates a new, empty database file with mode 0600; fails if it exists.
pub(crate) fn create_db_file(path: &Path) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            Error::Crypto(keyward_core_crypto::Error::AlreadyExists { path: path.into() })
        } else {
            Error::Io {
                action: "create",
                path: path.into(),
                source,
            }
        }
    })?;
    file.sync_all().map_err(|source| Error::Io {
        action: "sync",
        path: path.into(),
        source,
    })
}

/// Fails if `path` exists (or cannot be inspected).
pub(crate) fn ensure_absent(path: &Path) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(_) => Err(Error::Crypto(keyward_core_crypto::Error::AlreadyExists {
            path: path.into(),
        })),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(Error::Io {
            action: "inspect",
            path: path.into(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_sit_beside_the_database() {
        assert_eq!(
            key_path(Path::new("/v/keyward.db")),
            PathBuf::from("/v/keyward.db.key")
        );
        assert_eq!(
            next_key_path(Path::new("/v/keyward.db.key")),
            PathBuf::from("/v/keyward.db.key.next")
        );
    }
}
