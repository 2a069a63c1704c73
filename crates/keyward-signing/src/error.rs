//! The crate's one error type.

use std::path::PathBuf;

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

    /// The credential's key is of a kind the venue does not accept (say, an RSA key for
    /// OKX, or any key but Ed25519 for Binance's `session.logon`). Nothing was signed.
    #[error("{scheme} does not accept {kind} keys for {what}")]
    KeyNotAccepted {
        /// The scheme's name.
        scheme: &'static str,
        /// The kind of key the credentials hold.
        kind: crate::keys::KeyKind,
        /// What was asked for.
        what: &'static str,
    },

    /// A private or public key could not be read; the error never carries the key.
    #[error(transparent)]
    Key(#[from] crate::keys::KeyError),

    /// The request cannot be signed as given.
    #[error("cannot sign this request: {0}")]
    InvalidRequest(String),

    /// WebSocket parameters are not a JSON object of scalars where one is needed.
    #[error("invalid WebSocket parameters: {0}")]
    InvalidParams(String),

    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed: {0}")]
    Rng(String),

    /// A nonce source has issued the largest nonce it can represent.
    #[error(
        "the nonce source has no nonce left below 2^64; the venue will refuse any lower nonce, so use a new API key"
    )]
    NonceExhausted,

    /// A nonce state file does not hold a high-water mark. It is never reset silently: a lower
    /// value could issue a nonce twice.
    #[error(
        "nonce state file {} is corrupt ({reason}); it is not reset automatically because a lower value could reissue a nonce: restore it, or write a number above the last nonce used followed by a newline",
        path.display()
    )]
    CorruptNonceState {
        /// The state file.
        path: PathBuf,
        /// What is wrong with its content (the content itself is not secret, but is not echoed).
        reason: &'static str,
    },

    /// The lock file beside a nonce state file could not be opened or locked.
    #[error("could not {action} nonce lock file {}: {source}", path.display())]
    NonceLock {
        /// What was being done ("create", "lock").
        action: &'static str,
        /// The lock file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A nonce source that draws its nonces over the network was asked for one without
    /// [`reserve`](crate::NonceSource::reserve) having made one ready, or after the one made
    /// ready was taken by another caller. No nonce was issued.
    #[error(
        "no nonce is ready: await NonceSource::reserve() before signing with a nonce source that leases its nonces over the network"
    )]
    NonceNotReserved,

    /// The shared nonce sequence in Redis could not be reached (or answered something no
    /// keyward process writes) and this process's lease is used up. No nonce was issued: a
    /// nonce of the process's own making could repeat one another process issued.
    #[cfg(feature = "redis")]
    #[error(
        "the shared nonce sequence in Redis is out of reach and this process's lease is used up, so no nonce was issued: {0}"
    )]
    NonceStoreUnavailable(#[source] crate::redis::RedisError),

    /// The shared nonce counter in Redis holds something that is not a counter (another program
    /// wrote the key). It is never reset silently.
    #[cfg(feature = "redis")]
    #[error(
        "the shared nonce counter {key} in Redis is corrupt ({reason}); it is not reset automatically: delete it (as safe as a Redis restart: the sequence restarts above the local floor and the clock) or set it to a decimal number above the last nonce used"
    )]
    CorruptNonceCounter {
        /// The counter's key (a hash of the API key's name, nothing secret).
        key: String,
        /// What is wrong with it (its content is not echoed).
        reason: &'static str,
    },

    /// A nonce source outside this crate failed (for implementations of
    /// [`crate::NonceSource`] that keep their state elsewhere).
    #[error("the nonce source failed: {0}")]
    Nonce(Box<dyn std::error::Error + Send + Sync>),

    /// A server-clock sample was received before it was sent by the local clock: the local
    /// clock stepped back during the probe, so the sample says nothing and is dropped.
    #[error(
        "a server-clock sample was received at {received_ms} ms, before it was sent at {sent_ms} ms; the local clock stepped back, so the sample is dropped"
    )]
    InvalidClockSample {
        /// Local time when the probe was sent, in ms.
        sent_ms: u64,
        /// Local time when the answer was received, in ms.
        received_ms: u64,
    },

    /// Reading or writing a private file failed (permissions, ownership, I/O), as
    /// `keyward-core-crypto` reports it.
    #[error(transparent)]
    File(#[from] keyward_core_crypto::Error),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
