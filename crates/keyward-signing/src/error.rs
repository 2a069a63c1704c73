//! The crate's one error type.

/// Everything that can go wrong while signing. No variant carries a secret, a signature or a
/// signed URL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The scheme needs a passphrase (OKX, Coinbase Exchange) or memo (BitMart) and the
    /// credentials have none.
    #[error("{scheme} needs a passphrase in the credentials")]
    MissingPassphrase {
        /// The scheme's name.
        scheme: &'static str,
    },

    /// The secret is not in the form the venue issues (for example not base64 for Kraken).
    #[error("the {scheme} secret is not valid: {reason}")]
    InvalidSecret {
        /// The scheme's name.
        scheme: &'static str,
        /// What is wrong; never the secret.
        reason: &'static str,
    },

    /// The scheme has no such kind of signing (for example WebSocket auth for Kraken REST).
    #[error("{scheme} does not support {what}")]
    Unsupported {
        /// The scheme's name.
        scheme: &'static str,
        /// What was asked for.
        what: &'static str,
    },

    /// The request cannot be signed as given.
    #[error("cannot sign this request: {0}")]
    InvalidRequest(String),

    /// WebSocket parameters are not a JSON object of scalars where one is needed.
    #[error("invalid WebSocket parameters: {0}")]
    InvalidParams(String),

    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed: {0}")]
    Rng(String),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
