//! The crate's one error type.

use std::time::Duration;

/// Everything the resilience policies can refuse or reject. None of them carries request data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A policy was configured with values that cannot work.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),

    // -- circuit breaker --------------------------------------------------------------------
    /// The circuit is open: calls are refused until its open wait is over.
    #[error("circuit {name} is open; {}", crate::breaker::open_hint(.retry_after))]
    CircuitOpen {
        /// The breaker's name.
        name: String,
        /// How long until the breaker lets trial calls through. Always `Some` from
        /// [`CircuitBreaker`](crate::CircuitBreaker) since it has no forced-open state; still an
        /// `Option` so that the exchange client's error, which carries it, keeps its shape.
        retry_after: Option<Duration>,
    },
    /// The circuit is half-open and all its trial permits are taken (in flight, or decided
    /// while the others are still in flight).
    #[error(
        "circuit {name} is half-open and all its trial calls are taken; retry once they have results"
    )]
    HalfOpenBusy {
        /// The breaker's name.
        name: String,
    },

    // -- retry ------------------------------------------------------------------------------
    /// The retry budget is spent: retrying now would amplify an outage.
    #[error("retry budget exhausted; not retrying")]
    RetryBudgetExhausted,

    // -- rate limiter -----------------------------------------------------------------------
    /// The rate limit would be exceeded; ready again after `wait`. From
    /// [`RateLimiter::until_ready`](crate::limiter::RateLimiter::until_ready): the wait would
    /// pass the limiter's ceiling, so it failed at once without sleeping.
    #[error("rate limit {limit} reached; ready in {wait:?}")]
    RateLimited {
        /// The limit that refused (for example `orders/10s`).
        limit: String,
        /// How long until the request would be allowed.
        wait: Duration,
    },
    /// The request costs more than the limit lets through at once (its burst): it can never be
    /// allowed as one request.
    #[error(
        "a cost of {cost} exceeds the burst {capacity} of rate limit {limit}; split the request"
    )]
    CostExceedsCapacity {
        /// The limit.
        limit: String,
        /// The request's cost.
        cost: u32,
        /// The most the limit lets through at once (its burst).
        capacity: u32,
    },
    /// The fleet's shared rate budget (feature `redis`) holds data keyward did not write in
    /// one of its keys, or Redis answered its script with something the script never returns.
    /// Nothing was charged. The message names the key (prefix, scope and limit: no secret).
    #[error("the shared rate budget is unusable: {0}")]
    SharedBudget(String),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
