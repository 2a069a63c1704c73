//! The bookkeeping of one call's retries, for loops of any shape: sync, async, or another
//! layer's own.

use std::fmt;
use std::time::Duration;

use super::class::{FailureKind, RequestClass, should_retry};
use super::policy::RetryPolicy;
use super::{JitterRng, TARGET};

/// Why a call is not retried again: a [`Decision::Stop`], and the [`reason`](super::RetryError::reason)
/// of the [`RetryError`](super::RetryError) a call ends with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StopReason {
    /// The decision table says no: see [`should_retry`](super::should_retry).
    NotRetryable,
    /// `max_attempts` attempts were made.
    AttemptsExhausted,
    /// The next delay would end past `max_elapsed` from the first attempt's start.
    DeadlineExceeded,
    /// The retry budget has no token left.
    BudgetExhausted,
    /// The server asked to wait longer than the policy's `retry_after_max`: the call fails at
    /// once rather than park the caller (or retry sooner than the server allows).
    RetryAfterTooLong,
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotRetryable => "the failure must not be retried for this kind of request",
            Self::AttemptsExhausted => "no attempts are left",
            Self::DeadlineExceeded => "the next retry would end past the time limit",
            Self::BudgetExhausted => "the retry budget is spent",
            Self::RetryAfterTooLong => {
                "the server asked to wait longer than the policy's retry_after_max"
            }
        })
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Sleep this long, then make the next attempt.
    Retry(Duration),
    /// Give up, returning the last error.
    Stop(StopReason),
}

/// One call's retries in progress: attempts made, the previous delay, the call's jitter
/// generator. Made by [`RetryPolicy::start`]; ask it [`on_failure`](Self::on_failure) after
/// each failed attempt.
#[derive(Debug)]
pub struct RetryState<'p> {
    policy: &'p RetryPolicy,
    rng: JitterRng,
    started: Duration,
    attempts: u32,
    prev: Option<Duration>,
}

impl<'p> RetryState<'p> {
    pub(crate) fn new(policy: &'p RetryPolicy, now: Duration, rng: JitterRng) -> Self {
        Self {
            policy,
            rng,
            started: now,
            attempts: 1,
            prev: None,
        }
    }

    /// Attempts made or under way: 1 during the first.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The decision after the current attempt failed with `kind` at `now`. In order: the
    /// decision table ([`should_retry`]), the server's `Retry-After` (stop when it asks for
    /// more than `retry_after_max`), the attempt limit, the time limit (stop when `now +
    /// delay` would pass `max_elapsed` after the start), and last the budget, so a token is
    /// spent only on a retry that happens. On [`Decision::Retry`] the next attempt is counted.
    /// Each decision is a `tracing` event with target `keyward_resilience::retry`.
    pub fn on_failure(
        &mut self,
        class: RequestClass,
        kind: &FailureKind,
        now: Duration,
    ) -> Decision {
        let failed = self.attempts;
        let decision = self.decide(class, kind, now);
        match decision {
            Decision::Retry(delay) => tracing::debug!(
                target: TARGET,
                attempt = failed,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                ?class,
                ?kind,
                "attempt failed; retrying"
            ),
            Decision::Stop(StopReason::NotRetryable) => tracing::debug!(
                target: TARGET,
                attempt = failed,
                ?class,
                ?kind,
                "attempt failed; not retryable"
            ),
            Decision::Stop(reason) => tracing::warn!(
                target: TARGET,
                attempt = failed,
                ?class,
                ?kind,
                %reason,
                "attempt failed; giving up"
            ),
        }
        decision
    }

    fn decide(&mut self, class: RequestClass, kind: &FailureKind, now: Duration) -> Decision {
        if !should_retry(class, kind) {
            return Decision::Stop(StopReason::NotRetryable);
        }
        let policy = self.policy;
        if kind
            .retry_after()
            .is_some_and(|after| after > policy.retry_after_max())
        {
            return Decision::Stop(StopReason::RetryAfterTooLong);
        }
        let Some(delay) =
            policy.next_delay(self.attempts, self.prev, kind.retry_after(), &mut self.rng)
        else {
            return Decision::Stop(StopReason::AttemptsExhausted);
        };
        if let Some(max) = policy.max_elapsed() {
            let resume = now.saturating_add(delay);
            if resume.saturating_sub(self.started) > max {
                return Decision::Stop(StopReason::DeadlineExceeded);
            }
        }
        if let Some(budget) = policy.budget() {
            if budget.try_withdraw().is_err() {
                return Decision::Stop(StopReason::BudgetExhausted);
            }
        }
        self.prev = Some(delay);
        self.attempts += 1;
        Decision::Retry(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::{Backoff, Jitter};

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_loop_of_ones_own() {
        let p = RetryPolicy::builder()
            .max_attempts(3)
            .backoff(Backoff::Constant(MS * 100))
            .jitter(Jitter::None)
            .build()
            .unwrap();
        let mut s = p.start(Duration::ZERO);
        let kind = FailureKind::Timeout;
        assert_eq!(
            s.on_failure(RequestClass::Read, &kind, Duration::ZERO),
            Decision::Retry(MS * 100)
        );
        assert_eq!(s.attempts(), 2);
        assert_eq!(
            s.on_failure(RequestClass::Read, &kind, MS * 100),
            Decision::Retry(MS * 100)
        );
        assert_eq!(
            s.on_failure(RequestClass::Read, &kind, MS * 200),
            Decision::Stop(StopReason::AttemptsExhausted)
        );
        assert_eq!(s.attempts(), 3);
    }

    #[test]
    fn not_retryable_comes_first() {
        let p = RetryPolicy::builder().max_attempts(1).build().unwrap();
        let mut s = p.start(Duration::ZERO);
        assert_eq!(
            s.on_failure(
                RequestClass::NonIdempotentWrite,
                &FailureKind::Timeout,
                Duration::ZERO
            ),
            Decision::Stop(StopReason::NotRetryable)
        );
    }
}
