//! The crate's one error type.

/// Everything a secret store can fail with. No variant carries a secret value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No secret of that name (or no such version or stage).
    #[error("secret {name} not found{}", detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    NotFound {
        /// The secret's name.
        name: String,
        /// Which version or stage was asked for, if not the latest.
        detail: Option<String>,
    },
    /// A secret name that the store cannot hold.
    #[error("invalid secret name {name:?}: {reason}")]
    InvalidName {
        /// The name given (names are not secret).
        name: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The `.env` file of the selected environment does not exist. There is no fallback to
    /// `.env` or to another environment.
    #[error(
        "the environment {environment} has no .env file: {} does not exist (create it with mode 0600, or select another environment)",
        path.display()
    )]
    EnvironmentFileMissing {
        /// The environment selected.
        environment: String,
        /// The file that was looked for.
        path: std::path::PathBuf,
    },
    /// A process variable differs from the value the `.env` file gives it, and the override
    /// policy refuses that (the default for a production environment). Names only, never a
    /// value.
    #[error(
        "the process variable {variable} would override the value {} gives it{}; unset it, or choose an override policy (file-wins, or warn to use the process value with an audit entry)",
        path.display(),
        if *count > 1 { format!(" ({} variables in all)", count) } else { String::new() }
    )]
    OverrideRefused {
        /// The first such variable, by name.
        variable: String,
        /// The `.env` file.
        path: std::path::PathBuf,
        /// How many variables differ.
        count: usize,
    },
    /// The silent override policy ([`OverridePolicy::ProcessWins`](crate::environment::OverridePolicy::ProcessWins))
    /// was asked for a production environment, whose values are never overridden silently.
    #[error(
        "the environment {environment} is a production environment: a process variable may not silently override its .env file; choose the refuse, warn or file-wins policy"
    )]
    UnsafeOverridePolicy {
        /// The environment's name.
        environment: String,
    },
    /// The store cannot do this (for example write to the process environment).
    #[error("the {store} store does not support {operation}")]
    Unsupported {
        /// The store's kind.
        store: &'static str,
        /// What was asked.
        operation: &'static str,
    },
    /// Stored data could not be read as a secret (corrupt, or sealed by an unknown key).
    #[error("stored data for {name} is unreadable: {reason}")]
    Corrupt {
        /// The secret's name, or the file.
        name: String,
        /// What is wrong; never the data.
        reason: String,
    },
    /// A cryptographic or key-file error from keyward-core-crypto.
    #[error(transparent)]
    Crypto(#[from] keyward_core_crypto::Error),
    /// An I/O error on a path.
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: std::path::PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The backend (database, remote service) failed.
    #[error("the {store} store failed: {message}")]
    Backend {
        /// The store's kind.
        store: &'static str,
        /// What happened, without any secret.
        message: String,
    },
    /// A database was written by a newer keyward whose schema this version does not know.
    #[error(
        "the database {} has schema version {found}, newer than the {supported} this keyward knows; upgrade keyward",
        path.display()
    )]
    SchemaTooNew {
        /// The database file.
        path: std::path::PathBuf,
        /// The schema version found in the file.
        found: i64,
        /// The newest schema version this build knows.
        supported: u32,
    },
    /// A write to the vault under a master key that is not the vault's active one: the key was
    /// rotated by another process since this handle opened the vault, or the key file is not
    /// this vault's. Nothing was written. Key ids are not secret.
    #[error(
        "the vault {} is sealed by master key {active}, but this handle's key is {offered} (the key was rotated by another process, or this is not the vault's key file); nothing was written: open the vault again with its current key file",
        path.display()
    )]
    WrongMasterKey {
        /// The database file.
        path: std::path::PathBuf,
        /// The id of the vault's active master key.
        active: String,
        /// The id of the key this handle would have sealed with.
        offered: String,
    },
    /// The version read was revoked (marked compromised) and has not been replaced: store a new
    /// value for the secret. Names, version ids, times and the operator's reason are not secret.
    #[error(
        "secret {name} version {version} was revoked (marked compromised) at {at_ms} ms since the Unix epoch{}; it is refused until a new value replaces it (keyward secret put {name})",
        reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
    )]
    Revoked {
        /// The secret's name.
        name: String,
        /// The revoked version.
        version: String,
        /// When it was revoked, in milliseconds since the Unix epoch.
        at_ms: u64,
        /// The reason given, if any.
        reason: Option<String>,
    },
    /// A revocation reason that cannot be kept (its length is given, never its text).
    #[error("invalid revocation reason ({length} bytes): {reason}")]
    InvalidReason {
        /// The reason's length in bytes.
        length: usize,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A master-key rotation was stopped by its progress callback; nothing was changed.
    #[error(
        "master-key rotation stopped after {done} of {total} rows; it was rolled back and the vault still uses the old key"
    )]
    RotationAborted {
        /// Rows re-encrypted before the stop (all rolled back).
        done: u64,
        /// Rows in the vault.
        total: u64,
    },
}

impl Error {
    /// Whether the failure may pass by itself (the store could not be reached or failed), so
    /// that a cache may keep serving what it has. A secret that is gone, unreadable or refused
    /// is not transient.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Backend { .. } | Self::Io { .. })
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
