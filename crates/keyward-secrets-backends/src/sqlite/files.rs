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

/// Which file a path named when it was checked: device and inode on Unix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileId {
    #[cfg(unix)]
    dev: u64,
    #[cfg(unix)]
    ino: u64,
}

impl FileId {
    #[cfg(unix)]
    fn of(meta: &std::fs::Metadata) -> Self {
        use std::os::unix::fs::MetadataExt;
        Self {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }

    #[cfg(not(unix))]
    fn of(_: &std::fs::Metadata) -> Self {
        Self {}
    }
}

/// Refuses a database file that group or others can access, a symbolic link, a file owned by
/// someone else, or anything but a regular file (the rules of key files). Returns which file
/// was checked, for [`ensure_same_file`] once SQLite has opened the path.
pub(crate) fn check_db_file(path: &Path) -> Result<FileId> {
    let file = open_private_file(path)?;
    let meta = file.metadata().map_err(|source| Error::Io {
        action: "inspect",
        path: path.into(),
        source,
    })?;
    Ok(FileId::of(&meta))
}

/// Refuses the open if `path` no longer names the file [`check_db_file`] checked: a file or a
/// symbolic link swapped in between the check and SQLite's own open. (SQLite does not hand out
/// its descriptor, so the path is inspected again right after; with `SQLITE_OPEN_NOFOLLOW`
/// SQLite itself refuses a link.)
pub(crate) fn ensure_same_file(path: &Path, checked: &FileId) -> Result<()> {
    let meta = std::fs::symlink_metadata(path).map_err(|source| Error::Io {
        action: "inspect",
        path: path.into(),
        source,
    })?;
    if meta.file_type().is_symlink() {
        return Err(Error::Crypto(keyward_core_crypto::Error::Symlink {
            path: path.into(),
        }));
    }
    if FileId::of(&meta) != *checked {
        return Err(Error::Io {
            action: "open",
            path: path.into(),
            source: std::io::Error::other(
                "the file was replaced while it was being opened; nothing was read or written",
            ),
        });
    }
    Ok(())
}

/// SQLite's refusal to open `path`; a symbolic link refused by `SQLITE_OPEN_NOFOLLOW` says so.
pub(crate) fn open_error(path: &Path, e: rusqlite::Error) -> Error {
    let link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if link {
        Error::Crypto(keyward_core_crypto::Error::Symlink { path: path.into() })
    } else {
        super::db(e)
    }
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

/// A connection to the existing vault file at `path`: the file checked (private, not a
/// symbolic link), opened without following links, checked again to be the same file, and
/// configured. Used by [`super::SqliteVault::open`] and by the read-audit writer's second
/// connection.
pub(crate) fn open_checked(path: &Path) -> Result<rusqlite::Connection> {
    use rusqlite::OpenFlags;
    let checked = check_db_file(path)?;
    let conn = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_NOFOLLOW,
    )
    .map_err(|e| open_error(path, e))?;
    ensure_same_file(path, &checked)?;
    super::schema::configure(&conn, super::DEFAULT_BUSY_TIMEOUT)?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Finding 17 of issue 13: what SQLite opens after the checks must be the file that was
    /// checked. The swap is done by hand between the two steps, as an attacker would race it.
    #[cfg(unix)]
    #[test]
    fn a_file_or_a_link_swapped_in_after_the_check_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.db");
        let other = dir.path().join("other.db");
        for p in [&path, &other] {
            create_db_file(p).unwrap();
        }
        let checked = check_db_file(&path).unwrap();
        ensure_same_file(&path, &checked).unwrap();

        // Another regular file renamed over the checked one.
        std::fs::rename(&other, &path).unwrap();
        let err = ensure_same_file(&path, &checked).unwrap_err();
        assert!(err.to_string().contains("replaced"), "{err}");

        // A symbolic link put in its place: refused, and SQLite's NOFOLLOW open refuses it too.
        let checked = check_db_file(&path).unwrap();
        let target = dir.path().join("target.db");
        std::fs::rename(&path, &target).unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::symlink(&target, &path).unwrap();
        assert!(matches!(
            ensure_same_file(&path, &checked),
            Err(Error::Crypto(keyward_core_crypto::Error::Symlink { .. }))
        ));
        let opened = rusqlite::Connection::open_with_flags(
            &path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NOFOLLOW,
        );
        let err = open_error(&path, opened.unwrap_err());
        assert!(
            matches!(
                err,
                Error::Crypto(keyward_core_crypto::Error::Symlink { .. })
            ),
            "{err}"
        );
    }

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
