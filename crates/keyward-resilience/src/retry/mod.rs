//! Retries: attempt and time limits, backoff with a cap, seedable jitter, `Retry-After` as a
//! clamped lower bound, a retry budget, and request classes that keep a non-idempotent write
//! from being sent twice.
//!
//! After a failed attempt the caller's error is mapped to a [`FailureKind`], and the decision
//! is made in this order:
//!
//! 1. the table below ([`should_retry`]): may a request of this [`RequestClass`] be retried
//!    after this kind of failure?
//! 2. the server's `Retry-After`: one above `retry_after_max` stops the call at once (no sleep,
//!    no early retry);
//! 3. the attempt limit (`max_attempts`, the first attempt included);
//! 4. the delay: the backoff for this retry ([`Backoff`], at most `cap`), jittered
//!    ([`Jitter`]), then raised to the server's `Retry-After` clamped within
//!    `[retry_after_min, retry_after_max]`;
//! 5. the time limit: stop if the delay would end past `max_elapsed` after the first attempt;
//! 6. the budget ([`RetryBudget`]): one token per retry, or stop.
//!
//! ## Which failures are retried
//!
//! A read or an idempotent write is retried on any transient failure. A non-idempotent write is
//! retried only when the failure proves the server never executed it.
//!
//! | [`FailureKind`] | `Read` | `IdempotentWrite` | `NonIdempotentWrite` |
//! | --- | --- | --- | --- |
//! | `ConnectRefused` (never reached the server) | retry | retry | retry |
//! | `RateLimited` (429, not executed) | retry | retry | retry |
//! | `RejectedBeforeExecution` (timestamp, nonce) | retry | retry | retry |
//! | `Timeout` (outcome unknown) | retry | retry | no |
//! | `ServerError` (5xx, outcome unknown) | retry | retry | no |
//! | `ClientError` (4xx) | no | no | no |
//! | `Other { retryable: true }` | retry | retry | no |
//! | `Other { retryable: false }` | no | no | no |

mod backoff;
mod budget;
mod class;
mod jitter;
mod policy;
mod retry_after;
mod run;
mod state;

/// The `tracing` target of every retry event.
const TARGET: &str = "keyward_resilience::retry";

pub use backoff::Backoff;
pub use budget::{RetryBudget, RetryBudgetBuilder};
pub use class::{FailureKind, RequestClass, should_retry};
pub use jitter::{Jitter, JitterRng};
pub use policy::{RetryPolicy, RetryPolicyBuilder};
pub use retry_after::{clamp_retry_after, parse_retry_after};
pub use run::RetryError;
pub use state::{Decision, RetryState, StopReason};
