//! The async retry loop and the error it ends with.
//!
//! The loop is written here rather than on `backon`: backon's model is an iterator of delays
//! fixed before the call, while this policy's next delay depends on the failure (a Retry-After
//! lower bound, a request class that forbids the retry), on a shared budget withdrawn only when a
//! retry will happen, and on an injected clock and sleep for the time limit. Fitting those into
//! backon's `Backoff` iterator would leave little of backon; the loop itself is a dozen lines.

use std::fmt;
use std::future::Future;

use super::class::{FailureKind, RequestClass};
use super::policy::RetryPolicy;
use super::state::{Decision, StopReason};
use crate::clock::{Clock, Sleep};

/// A call that failed for good: why retrying stopped, how many attempts were made, and the
/// last attempt's error.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryError<E> {
    /// The failure must not be retried for this request class (see
    /// [`should_retry`](super::should_retry)).
    NotRetryable {
        /// Attempts made.
        attempts: u32,
        /// The last attempt's error.
        last: E,
    },
    /// Every allowed attempt failed.
    Exhausted {
        /// Attempts made.
        attempts: u32,
        /// The last attempt's error.
        last: E,
    },
    /// The next delay would have ended past the policy's `max_elapsed`.
    DeadlineExceeded {
        /// Attempts made.
        attempts: u32,
        /// The last attempt's error.
        last: E,
    },
    /// The retry budget had no token left.
    BudgetExhausted {
        /// Attempts made.
        attempts: u32,
        /// The last attempt's error.
        last: E,
    },
    /// The server's `Retry-After` asked for more than the policy's `retry_after_max`.
    RetryAfterTooLong {
        /// Attempts made.
        attempts: u32,
        /// The last attempt's error.
        last: E,
    },
}

impl<E> RetryError<E> {
    fn new(reason: StopReason, attempts: u32, last: E) -> Self {
        match reason {
            StopReason::NotRetryable => Self::NotRetryable { attempts, last },
            StopReason::AttemptsExhausted => Self::Exhausted { attempts, last },
            StopReason::DeadlineExceeded => Self::DeadlineExceeded { attempts, last },
            StopReason::BudgetExhausted => Self::BudgetExhausted { attempts, last },
            StopReason::RetryAfterTooLong => Self::RetryAfterTooLong { attempts, last },
        }
    }

    /// Why retrying stopped.
    pub fn reason(&self) -> StopReason {
        match self {
            Self::NotRetryable { .. } => StopReason::NotRetryable,
            Self::Exhausted { .. } => StopReason::AttemptsExhausted,
            Self::DeadlineExceeded { .. } => StopReason::DeadlineExceeded,
            Self::BudgetExhausted { .. } => StopReason::BudgetExhausted,
            Self::RetryAfterTooLong { .. } => StopReason::RetryAfterTooLong,
        }
    }

    /// Attempts made, the first included.
    pub fn attempts(&self) -> u32 {
        match *self {
            Self::NotRetryable { attempts, .. }
            | Self::Exhausted { attempts, .. }
            | Self::DeadlineExceeded { attempts, .. }
            | Self::BudgetExhausted { attempts, .. }
            | Self::RetryAfterTooLong { attempts, .. } => attempts,
        }
    }

    /// The last attempt's error.
    pub fn last(&self) -> &E {
        match self {
            Self::NotRetryable { last, .. }
            | Self::Exhausted { last, .. }
            | Self::DeadlineExceeded { last, .. }
            | Self::BudgetExhausted { last, .. }
            | Self::RetryAfterTooLong { last, .. } => last,
        }
    }

    /// The last attempt's error, by value.
    pub fn into_last(self) -> E {
        match self {
            Self::NotRetryable { last, .. }
            | Self::Exhausted { last, .. }
            | Self::DeadlineExceeded { last, .. }
            | Self::BudgetExhausted { last, .. }
            | Self::RetryAfterTooLong { last, .. } => last,
        }
    }
}

/// Says why retrying stopped; the last error is the [`source`](std::error::Error::source), not
/// repeated here.
impl<E> fmt::Display for RetryError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.attempts();
        let s = if n == 1 { "" } else { "s" };
        write!(f, "the call failed after {n} attempt{s}; {}", self.reason())
    }
}

impl<E: std::error::Error + 'static> std::error::Error for RetryError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.last())
    }
}

impl RetryPolicy {
    /// Runs `op` until it succeeds or the policy stops retrying. `classify` maps each error to a
    /// [`FailureKind`]; together with `class` it decides whether to retry (see the decision
    /// table in the [module docs](super)). Time is read from `clock` and waited on with `sleep`,
    /// so a [`ManualClock`](crate::ManualClock) and [`ManualSleep`](crate::ManualSleep) make
    /// a test exact and instant. Each retry is a `tracing` event (target
    /// `keyward_resilience::retry`) with the attempt number and the delay; errors themselves are
    /// never logged.
    pub async fn retry<T, E, Op, Fut, C>(
        &self,
        class: RequestClass,
        clock: &dyn Clock,
        sleep: &dyn Sleep,
        mut op: Op,
        classify: C,
    ) -> Result<T, RetryError<E>>
    where
        Op: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        C: Fn(&E) -> FailureKind,
    {
        let mut state = self.start(clock.now());
        loop {
            let error = match op().await {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            match state.on_failure(class, &classify(&error), clock.now()) {
                Decision::Retry(delay) => sleep.sleep(delay).await,
                Decision::Stop(reason) => {
                    return Err(RetryError::new(reason, state.attempts(), error));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_source() {
        let e: RetryError<std::io::Error> = RetryError::Exhausted {
            attempts: 3,
            last: std::io::Error::other("boom"),
        };
        assert_eq!(
            e.to_string(),
            "the call failed after 3 attempts; no attempts are left"
        );
        let source = std::error::Error::source(&e).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("boom"));
        assert_eq!(e.reason(), StopReason::AttemptsExhausted);
        assert_eq!(e.into_last().to_string(), "boom");
    }
}
