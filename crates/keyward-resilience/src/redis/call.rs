//! One call to Redis, bounded by a timeout, with its failure as a typed error. The same rule as
//! `keyward_signing::redis`'s `bounded`, written again here because keyward-resilience may not
//! depend on keyward-signing (DESIGN.md's layer table).

use std::future::Future;
use std::time::Duration;

/// How long one call to Redis may take by default, connection included: 500 ms. A fleet's
/// Redis sits on the same host or LAN, where an answer takes well under a millisecond; a call
/// this slow means Redis is down or overloaded, and the limiter falls back to its local share.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);

/// Why a call to Redis gave no answer. It never carries a value that was sent or stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RedisError {
    /// No answer within the timeout.
    #[error("Redis did not answer within {0:?}")]
    Timeout(Duration),
    /// The connection failed or Redis answered with an error.
    #[error("Redis failed: {0}")]
    Failed(String),
}

/// Runs `call` with a `timeout`. The redis crate's errors name the command and the server's
/// message, never the arguments, so they are safe to keep. (The twin of
/// `keyward_signing::redis::bounded`: this crate may depend on no other keyward crate.)
pub(crate) async fn bounded<T>(
    timeout: Duration,
    call: impl Future<Output = redis::RedisResult<T>>,
) -> Result<T, RedisError> {
    match tokio::time::timeout(timeout, call).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(RedisError::Failed(error.to_string())),
        Err(_) => Err(RedisError::Timeout(timeout)),
    }
}
