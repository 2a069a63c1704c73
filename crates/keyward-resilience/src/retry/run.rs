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
use crate::clock::{Monotonic, Sleep};

/// A call that failed for good: why retrying stopped ([`StopReason`], the one list of
/// reasons), how many attempts were made, and the last attempt's error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryError<E> {
    reason: StopReason,
    attempts: u32,
    last: E,
}

impl<E> RetryError<E> {
    fn new(reason: StopReason, attempts: u32, last: E) -> Self {
        Self {
            reason,
            attempts,
            last,
        }
    }

    /// Why retrying stopped.
    pub fn reason(&self) -> StopReason {
        self.reason
    }

    /// Attempts made, the first included.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The last attempt's error.
    pub fn last(&self) -> &E {
        &self.last
    }

    /// The last attempt's error, by value.
    pub fn into_last(self) -> E {
        self.last
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
        clock: &dyn Monotonic,
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
        let e: RetryError<std::io::Error> = RetryError::new(
            StopReason::AttemptsExhausted,
            3,
            std::io::Error::other("boom"),
        );
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
