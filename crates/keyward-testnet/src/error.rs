//! The crate's error type.

/// Why the testnet could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The host to bind is not a loopback address: the testnet serves 127.0.0.1 only.
    #[error(
        "the testnet binds loopback addresses only, and {host:?} is not one; use 127.0.0.1 (or ::1)"
    )]
    NonLoopbackHost {
        /// The host given.
        host: String,
    },
    /// A listener could not be bound.
    #[error("could not listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Credentials name a venue or scheme the testnet does not serve.
    #[error("the testnet serves no venue or scheme called {name:?}; known: {known}")]
    UnknownVenue {
        /// The name given.
        name: String,
        /// The names served.
        known: String,
    },
    /// Credentials cannot be used for their venue (never says what the secret is).
    #[error("the credentials for {venue} cannot be used: {reason}")]
    InvalidCredentials {
        /// The venue.
        venue: String,
        /// What is wrong.
        reason: String,
    },
    /// A fault specification could not be read.
    #[error("invalid fault specification: {0}")]
    InvalidFaults(String),
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
