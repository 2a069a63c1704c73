//! Reading and writing private files (keys, vaults, secrets) with OpenSSH-strict rules.
//!
//! Reading refuses, like OpenSSH's `sshkey_perm_ok`, a file that group or others can access
//! (`mode & 0o077 != 0`); it also refuses a symbolic link, anything but a regular file, and a file
//! owned by someone other than the caller or root. The checks run on the opened descriptor
//! (`O_NOFOLLOW`, then `fstat`), so the file checked is the file read.
//!
//! Writing is atomic: a temporary file with mode 0600 in the same directory, written and
//! `fsync`ed, renamed over the target (or linked without replacing it), then the directory is
//! `fsync`ed, so a crash leaves the old file or the new one, never a torn one.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Whether a write may replace an existing file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overwrite {
    /// Fail with [`Error::AlreadyExists`] if the target exists.
    No,
    /// Replace the target atomically.
    Yes,
}

/// Reads a private file of at most `max_len` bytes into zeroizing memory, after the checks
/// described in the module docs.
pub fn read_private_file(path: &Path, max_len: u64) -> Result<Zeroizing<Vec<u8>>> {
    let file = open_private_file(path)?;
    let mut data = Zeroizing::new(Vec::new());
    file.take(max_len.saturating_add(1))
        .read_to_end(&mut data)
        .map_err(|e| Error::io("read", path, e))?;
    if data.len() as u64 > max_len {
        return Err(Error::io(
            "read",
            path,
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("file is larger than {max_len} bytes"),
            ),
        ));
    }
    Ok(data)
}

/// Opens a private file for reading after the checks described in the module docs.
#[cfg(unix)]
pub fn open_private_file(path: &Path) -> Result<File> {
    let link = std::fs::symlink_metadata(path).map_err(|e| Error::io("read", path, e))?;
    if link.file_type().is_symlink() {
        return Err(Error::Symlink { path: path.into() });
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    open_checked(path, &mut options)
}

/// Opens a private file for appending, creating it with mode 0600 when absent, after the
/// same checks as [`open_private_file`] on the opened file (no link followed, a regular file
/// owned by the caller or root, no access for group or others): an append-only log.
#[cfg(unix)]
pub fn open_private_append(path: &Path) -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt;

    let mut options = std::fs::OpenOptions::new();
    options.append(true).create(true).mode(0o600);
    open_checked(path, &mut options)
}

/// Opens `path` with `options` without following a link (NONBLOCK: a FIFO planted there fails
/// the checks instead of blocking the open), then checks the opened file's metadata.
#[cfg(unix)]
fn open_checked(path: &Path, options: &mut std::fs::OpenOptions) -> Result<File> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};

    let flags = rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK;
    let file = options
        .custom_flags(flags.bits() as i32)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
                Error::Symlink { path: path.into() }
            } else {
                Error::io("open", path, e)
            }
        })?;
    let meta = file.metadata().map_err(|e| Error::io("inspect", path, e))?;
    check_metadata(
        path,
        &Found {
            regular: meta.file_type().is_file(),
            mode: meta.mode(),
            owner: meta.uid(),
        },
        rustix::process::geteuid().as_raw(),
    )?;
    Ok(file)
}

/// Opens a file for appending, creating it when absent. Off Unix there are no mode bits to
/// check.
#[cfg(not(unix))]
pub fn open_private_append(path: &Path) -> Result<File> {
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| Error::io("open", path, e))
}

/// Opens a file for reading. Off Unix there are no mode bits to check.
#[cfg(not(unix))]
pub fn open_private_file(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| Error::io("open", path, e))
}

/// What `fstat` said about an opened file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Found {
    pub(crate) regular: bool,
    pub(crate) mode: u32,
    pub(crate) owner: u32,
}

/// The rules, apart from the system calls, so every branch is testable without root.
pub(crate) fn check_metadata(path: &Path, found: &Found, caller: u32) -> Result<()> {
    if !found.regular {
        return Err(Error::NotAFile { path: path.into() });
    }
    if found.owner != caller && found.owner != 0 {
        return Err(Error::WrongOwner {
            path: path.into(),
            owner: found.owner,
            expected: caller,
        });
    }
    if found.mode & 0o077 != 0 {
        return Err(Error::InsecurePermissions {
            path: path.into(),
            mode: found.mode & 0o7777,
        });
    }
    Ok(())
}

/// Writes `data` to `path` atomically with mode 0600, as described in the module docs.
pub fn write_private_file(path: &Path, data: &[u8], overwrite: Overwrite) -> Result<()> {
    let dir = parent_dir(path);
    if overwrite == Overwrite::No && std::fs::symlink_metadata(path).is_ok() {
        return Err(Error::AlreadyExists { path: path.into() });
    }
    let mut builder = tempfile::Builder::new();
    builder.prefix(".keyward-tmp-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o600));
    }
    let mut tmp = builder
        .tempfile_in(&dir)
        .map_err(|e| Error::io("create a temporary file in", &dir, e))?;
    tmp.write_all(data)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| Error::io("write", tmp.path().to_path_buf(), e))?;
    let persisted = match overwrite {
        Overwrite::Yes => tmp.persist(path),
        Overwrite::No => tmp.persist_noclobber(path),
    };
    persisted.map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            Error::AlreadyExists { path: path.into() }
        } else {
            Error::io("write", path, e.error)
        }
    })?;
    sync_dir(&dir)
}

/// The directory holding `path` ("." for a bare file name).
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Makes a rename durable by syncing the directory that holds it.
fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("sync directory", dir, e))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(mode: u32, owner: u32) -> Found {
        Found {
            regular: true,
            mode,
            owner,
        }
    }

    #[test]
    fn rules_refuse_loose_modes_and_foreign_owners() {
        let p = Path::new("/k");
        assert!(check_metadata(p, &found(0o100600, 1000), 1000).is_ok());
        assert!(check_metadata(p, &found(0o100400, 0), 1000).is_ok());
        for mode in [0o644, 0o640, 0o604, 0o660, 0o601, 0o610] {
            let err = check_metadata(p, &found(0o100000 | mode, 1000), 1000).unwrap_err();
            assert!(
                err.to_string()
                    .contains(&format!("(mode {mode:04o}); run chmod 600 /k")),
                "{err}"
            );
        }
        assert!(matches!(
            check_metadata(p, &found(0o100600, 1234), 1000),
            Err(Error::WrongOwner {
                owner: 1234,
                expected: 1000,
                ..
            })
        ));
        let dir = Found {
            regular: false,
            mode: 0o040700,
            owner: 1000,
        };
        assert!(matches!(
            check_metadata(p, &dir, 1000),
            Err(Error::NotAFile { .. })
        ));
    }

    #[test]
    fn bare_file_name_lives_in_the_current_directory() {
        assert_eq!(parent_dir(Path::new("key")), PathBuf::from("."));
        assert_eq!(parent_dir(Path::new("/a/key")), PathBuf::from("/a"));
    }
}
