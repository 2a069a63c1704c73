//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong in `keyward-core-crypto`.
///
/// No variant ever carries key material, plaintext or a token: a failed decryption is the opaque
/// [`Error::InvalidToken`], and an authentic but too old token is [`Error::Expired`], which says
/// nothing else.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The token is not a valid Fernet token for any key tried: it is malformed, was made with
    /// another key, was altered, or (with a TTL) carries a timestamp too far in the future.
    #[error("invalid token: it is malformed, was made with another key, or was altered")]
    InvalidToken,

    /// The token is authentic but older than the time-to-live it was checked against.
    #[error("token expired: it is older than the allowed time-to-live")]
    Expired,

    /// A key is not in the 44-character url-safe base64 form of 32 bytes.
    #[error("invalid Fernet key: {reason}")]
    InvalidKey {
        /// Why the key was rejected; never contains the key itself.
        reason: KeyFormatError,
    },

    /// A key ring was built from no keys.
    #[error("a key ring needs at least one key")]
    EmptyKeyRing,

    /// An environment variable that should hold keys is not set or not valid UTF-8.
    #[error("environment variable {var} is not set (or is not valid UTF-8)")]
    MissingEnv {
        /// Name of the variable.
        var: String,
    },

    /// An environment variable holds a key that does not parse.
    #[error("environment variable {var} holds an invalid Fernet key (key #{index}): {reason}")]
    InvalidEnvKey {
        /// Name of the variable.
        var: String,
        /// 1-based position of the bad key in the comma-separated list.
        index: usize,
        /// Why the key was rejected.
        reason: KeyFormatError,
    },

    /// A key file holds something that is not a Fernet key.
    #[error("key file {} does not hold a valid Fernet key: {reason}", path.display())]
    InvalidKeyFile {
        /// The key file.
        path: PathBuf,
        /// Why the content was rejected.
        reason: KeyFormatError,
    },

    /// A private file can be accessed by group or others.
    #[error(
        "{} is accessible by group or others (mode {mode:04o}); run chmod 600 {}",
        path.display(),
        path.display()
    )]
    InsecurePermissions {
        /// The file.
        path: PathBuf,
        /// The permission bits found (`mode & 0o7777`).
        mode: u32,
    },

    /// A private file is a symbolic link, which is refused rather than followed.
    #[error(
        "{} is a symbolic link; private files are not followed through links: point to the file itself",
        path.display()
    )]
    Symlink {
        /// The link.
        path: PathBuf,
    },

    /// A private file is owned by a user other than the caller or root.
    #[error(
        "{} is owned by uid {owner}, not by the current user (uid {expected}) or root; run chown {expected} {}",
        path.display(),
        path.display()
    )]
    WrongOwner {
        /// The file.
        path: PathBuf,
        /// The file's owner.
        owner: u32,
        /// The caller's effective uid.
        expected: u32,
    },

    /// A private file is not a regular file (a directory, device, FIFO or socket).
    #[error("{} is not a regular file", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
    },

    /// A file that would be written exists already and overwriting was not asked for.
    #[error("{} exists already; refusing to overwrite it (pass the overwrite option to replace it)", path.display())]
    AlreadyExists {
        /// The file.
        path: PathBuf,
    },

    /// An I/O operation on a path failed.
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        /// What was being done ("read", "write", "create a temporary file in", ...).
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed: {0}")]
    Rng(String),
}

/// Why a string was rejected as a Fernet key. Carries lengths and positions, never the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFormatError {
    /// The key is not 44 characters long.
    #[error("expected 44 characters of url-safe base64, found {found} characters")]
    WrongLength {
        /// The number of characters found.
        found: usize,
    },
    /// A character outside the url-safe base64 alphabet (A-Z a-z 0-9 - _, then one '=').
    #[error(
        "character {position} is not in the url-safe base64 alphabet (A-Z, a-z, 0-9, '-', '_', one trailing '=')"
    )]
    BadCharacter {
        /// 1-based position of the first offending character.
        position: usize,
    },
    /// The text is url-safe base64 of the right length but not a canonical encoding of 32 bytes.
    #[error("not a canonical base64 encoding of 32 bytes")]
    NotCanonical,
    /// A key file or variable held nothing.
    #[error("it is empty")]
    Empty,
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error with what was being done and where.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
