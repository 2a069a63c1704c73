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
    /// A public key cannot be used: not a public key PEM, unreadable, or without an API key
    /// (never says what the text is).
    #[error("the public key {api_key} for {venue} cannot be used: {reason}")]
    InvalidPublicKey {
        /// The venue.
        venue: String,
        /// The first characters of the API key.
        api_key: String,
        /// What is wrong.
        reason: String,
    },
    /// A public key of a kind the venue does not accept.
    #[error("{venue} does not accept {kind} keys; it takes {accepted}")]
    KeyNotAccepted {
        /// The venue.
        venue: String,
        /// The key's kind.
        kind: keyward_signing::keys::KeyKind,
        /// What the venue takes, as a phrase.
        accepted: String,
    },
    /// Two credentials of one venue share an API key.
    #[error("two credentials for {venue} share the API key {api_key}; give each its own")]
    DuplicateApiKey {
        /// The venue.
        venue: String,
        /// The first characters of the API key.
        api_key: String,
    },
    /// A fault specification could not be read.
    #[error("invalid fault specification: {0}")]
    InvalidFaults(String),
    /// The replicas' shared state (Redis) could not be used.
    #[error("the testnet's shared state: {0}")]
    SharedState(String),
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
