//! [`FleetError`]: why a fleet's Redis configuration was refused or its connection failed.

use keyward_signing::redis::RedisError;

/// Why a [`FleetConfig`](super::FleetConfig) was refused or [`connect`](super::FleetConfig::connect)
/// failed. No variant ever carries a password, a full URL with its user info, or a stored value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FleetError {
    /// The URL is not a `redis://` or `rediss://` URL keyward accepts (unparsable, another
    /// scheme, no host, a query, a bad database number).
    #[error("the Redis URL {shown} is not usable: {reason}")]
    Url {
        /// The URL as it may be shown (scheme, host, port; never the user info).
        shown: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A plain `redis://` URL to a host other than loopback: its traffic (the password included)
    /// would cross the network in clear.
    #[error(
        "plain redis:// is only allowed to a loopback address (127.0.0.0/8, ::1, localhost), not {host}; use rediss:// (TLS)"
    )]
    PlainNotLoopback {
        /// The host that was refused.
        host: String,
    },
    /// The URL asked for TLS without certificate verification (`#insecure`): keyward has no
    /// way to turn verification off.
    #[error(
        "the Redis URL asks for TLS without certificate verification (#insecure), which keyward never does; give the server's CA with a CA file instead"
    )]
    Insecure,
    /// The key prefix (the fleet's name) breaks the rules: 1 to 64 of `A-Z a-z 0-9 . _ -`.
    #[error("the fleet's key prefix {0:?} is not allowed: 1 to 64 characters of A-Z a-z 0-9 . _ -")]
    Prefix(String),
    /// The fleet size is not a whole number from 1 up.
    #[error("the fleet size {0:?} is not a whole number of processes from 1 up")]
    FleetSize(String),
    /// The timeout is zero or longer than a minute.
    #[error("the Redis timeout {0:?} is not allowed: give more than zero and at most 60 s")]
    Timeout(std::time::Duration),
    /// A setting that is needed is absent (an environment variable, a field of a stored secret).
    #[error("{0}")]
    Missing(String),
    /// The secret store could not give the configuration, or gave something unusable.
    #[error("the fleet configuration could not be read from the store: {0}")]
    Store(String),
    /// The CA certificate (PEM) could not be read or holds no certificate.
    #[error("the Redis CA certificate is not usable: {0}")]
    Ca(String),
    /// No connection within the timeout, or the connection (TCP, TLS handshake, AUTH) failed.
    #[error("could not connect to Redis at {shown}: {cause}")]
    Connect {
        /// Where (scheme, host, port).
        shown: String,
        /// The cause ([`RedisError::Timeout`] when nothing answered in time).
        cause: RedisError,
    },
    /// Connected, but PING did not answer PONG within the timeout.
    #[error("Redis at {shown} did not answer PING: {cause}")]
    Ping {
        /// Where (scheme, host, port).
        shown: String,
        /// The cause.
        cause: RedisError,
    },
}
