//! A file's SHA-256, read without following a symbolic link.

use std::fmt;
use std::io::Read;
use std::path::Path;

use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};

/// The largest file hashed, in bytes: a bigger file is reported as
/// [`FileState::TooLarge`] (configuration files are far smaller).
pub const MAX_HASHED_LEN: u64 = 16 * 1024 * 1024;

/// The SHA-256 of a file's contents. Shown as hex: a digest of a whole file is not a secret,
/// but it is kept only in memory and in the 0600 record.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileDigest([u8; 32]);

impl FileDigest {
    /// The digest of `data`.
    pub fn of(data: &[u8]) -> Self {
        Self(Sha256::digest(data).into())
    }

    /// The digest as 64 lower-case hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Reads 64 hex digits; `None` for anything else.
    pub fn from_hex(text: &str) -> Option<Self> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).ok()?;
        Some(Self(out))
    }
}

impl fmt::Debug for FileDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FileDigest({})", self.to_hex())
    }
}

impl fmt::Display for FileDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// What is at a path now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    /// A regular file with this digest.
    File(FileDigest),
    /// Nothing.
    Missing,
    /// A symbolic link (never followed).
    Symlink,
    /// Something other than a regular file or a link (a directory, a FIFO, a socket ...).
    NotAFile,
    /// A regular file larger than [`MAX_HASHED_LEN`].
    TooLarge,
    /// It could not be read (permission denied, an I/O error).
    Unreadable,
}

/// Looks at `path` without following a symbolic link and hashes it if it is a regular file.
pub fn probe(path: &Path) -> FileState {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return FileState::Missing,
        Err(_) => return FileState::Unreadable,
    };
    if meta.file_type().is_symlink() {
        return FileState::Symlink;
    }
    if !meta.is_file() {
        return FileState::NotAFile;
    }
    match hash_no_follow(path) {
        Ok(state) => state,
        Err(_) => FileState::Unreadable,
    }
}

/// The digest of the regular file at `path`, an error for anything else.
pub(crate) fn hash_file(path: &Path) -> Result<FileDigest> {
    let refused = |why: &str| Error::Io {
        action: "hash",
        path: path.to_owned(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, why.to_owned()),
    };
    match probe(path) {
        FileState::File(digest) => Ok(digest),
        FileState::Missing => Err(Error::Io {
            action: "hash",
            path: path.to_owned(),
            source: std::io::ErrorKind::NotFound.into(),
        }),
        FileState::Symlink => Err(refused("it is a symbolic link")),
        FileState::NotAFile => Err(refused("it is not a regular file")),
        FileState::TooLarge => Err(refused("it is larger than 16 MiB")),
        FileState::Unreadable => Err(refused("it cannot be read")),
    }
}

/// Opens `path` without following a link (and without blocking on a FIFO), checks that the
/// opened file is regular, and hashes it in a bounded read.
fn hash_no_follow(path: &Path) -> std::io::Result<FileState> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        let flags = rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK;
        options.custom_flags(flags.bits() as i32);
    }
    let file = match options.open(path) {
        Ok(file) => file,
        #[cfg(unix)]
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
            return Ok(FileState::Symlink);
        }
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Ok(FileState::NotAFile);
    }
    let mut hasher = Sha256::new();
    let mut buf = [0u8; 8192];
    let mut total: u64 = 0;
    let mut reader = file.take(MAX_HASHED_LEN + 1);
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        hasher.update(&buf[..n]);
    }
    // The buffer held file contents: wipe it.
    zeroize::Zeroize::zeroize(&mut buf);
    if total > MAX_HASHED_LEN {
        return Ok(FileState::TooLarge);
    }
    Ok(FileState::File(FileDigest(hasher.finalize().into())))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn states_without_following_links() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a");
        std::fs::write(&file, b"abc").unwrap();
        assert_eq!(probe(&file), FileState::File(FileDigest::of(b"abc")));
        let link = dir.path().join("l");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert_eq!(probe(&link), FileState::Symlink);
        assert_eq!(probe(&dir.path().join("none")), FileState::Missing);
        assert_eq!(probe(dir.path()), FileState::NotAFile);
        let d = FileDigest::of(b"x");
        assert_eq!(FileDigest::from_hex(&d.to_hex()), Some(d));
        assert_eq!(FileDigest::from_hex("zz"), None);
        assert!(hash_file(&link).is_err());
    }
}
