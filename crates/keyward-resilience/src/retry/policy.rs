//! The retry policy: limits, backoff, jitter, Retry-After clamps and budget, and the delay
//! before each retry.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::budget::RetryBudget;
use super::retry_after::clamp_retry_after;
use super::state::RetryState;
use super::{Backoff, Jitter, JitterRng};
use crate::error::{Error, Result};

/// When and how often to retry. Build one with [`RetryPolicy::builder`], share it (it is
/// `Sync`), and run calls through [`RetryPolicy::retry`] or drive a loop of your own with
/// [`RetryPolicy::start`] or [`RetryPolicy::next_delay`].
#[derive(Debug)]
pub struct RetryPolicy {
    max_attempts: u32,
    max_elapsed: Option<Duration>,
    backoff: Backoff,
    cap: Duration,
    jitter: Jitter,
    retry_after_min: Duration,
    retry_after_max: Duration,
    budget: Option<Arc<RetryBudget>>,
    /// Seeds one generator per retry loop, so a seeded policy repeats its delays exactly.
    rng: Mutex<JitterRng>,
}

impl RetryPolicy {
    /// A builder starting from the defaults (see [`RetryPolicyBuilder`]).
    pub fn builder() -> RetryPolicyBuilder {
        RetryPolicyBuilder::default()
    }

    /// Total attempts allowed, the first included.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// Time allowed from the start of the first attempt to the start of the last, if limited.
    pub fn max_elapsed(&self) -> Option<Duration> {
        self.max_elapsed
    }

    /// The longest wait a server's `Retry-After` may ask for; a longer one stops the call
    /// ([`StopReason::RetryAfterTooLong`](super::StopReason::RetryAfterTooLong)).
    pub fn retry_after_max(&self) -> Duration {
        self.retry_after_max
    }

    /// The budget retries are withdrawn from, if any.
    pub fn budget(&self) -> Option<&Arc<RetryBudget>> {
        self.budget.as_ref()
    }

    /// `retry_after` within the policy's `[retry_after_min, retry_after_max]`.
    pub fn clamp_retry_after(&self, retry_after: Duration) -> Duration {
        clamp_retry_after(retry_after, self.retry_after_min, self.retry_after_max)
    }

    /// A generator for one retry loop's jitter, seeded from the policy's own.
    pub fn new_rng(&self) -> JitterRng {
        self.rng
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .fork()
    }

    /// Starts the bookkeeping of one call whose first attempt starts at `now` (the injected
    /// clock's time), and deposits the call in the budget.
    pub fn start(&self, now: Duration) -> RetryState<'_> {
        if let Some(budget) = &self.budget {
            budget.deposit();
        }
        RetryState::new(self, now, self.new_rng())
    }

    /// The delay before the next attempt, after `attempt` attempts (1 after the first) have
    /// failed, or `None` when `attempt` has reached `max_attempts`. Neither the time limit nor
    /// the budget is checked here: [`RetryState`] does that.
    ///
    /// The delay is the backoff for retry number `attempt`, capped at `cap`, jittered (with
    /// `prev_delay`, the previous value returned, for decorrelated jitter), and then raised to
    /// the server's `retry_after` clamped within `[retry_after_min, retry_after_max]`:
    /// `max(jittered, clamp(retry_after))`. So a `Retry-After` is a lower bound, and the delay
    /// is at most `max(cap, retry_after_max)`.
    pub fn next_delay(
        &self,
        attempt: u32,
        prev_delay: Option<Duration>,
        retry_after: Option<Duration>,
        rng: &mut JitterRng,
    ) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let delay = self.backoff.delay(attempt, self.cap);
        let jittered = self
            .jitter
            .apply(delay, self.backoff.base(), prev_delay, self.cap, rng);
        Some(match retry_after {
            Some(after) => jittered.max(self.clamp_retry_after(after)),
            None => jittered,
        })
    }
}

/// Builds a [`RetryPolicy`]. The defaults:
///
/// | setting | default | why |
/// | --- | --- | --- |
/// | `max_attempts` | 3 | resilience4j's and the AWS SDKs' default |
/// | `max_elapsed` | none | a bot's own deadline usually lives elsewhere |
/// | `backoff` | exponential, base 200 ms, factor 2 | |
/// | `cap` | 10 s | |
/// | `jitter` | [`Jitter::Full`] | the AWS SDKs' default: the best spread |
/// | `seed` | from the operating system | set one in tests |
/// | `retry_after_min` | 100 ms | `Retry-After: 0` does not become a storm |
/// | `retry_after_max` | 60 s | `Retry-After: 999999` does not park a bot for days: the call fails at once |
/// | `budget` | none | share one [`RetryBudget`] between a fleet's policies |
#[derive(Debug, Clone)]
pub struct RetryPolicyBuilder {
    max_attempts: u32,
    max_elapsed: Option<Duration>,
    backoff: Backoff,
    cap: Duration,
    jitter: Jitter,
    seed: Option<u64>,
    retry_after_min: Duration,
    retry_after_max: Duration,
    budget: Option<Arc<RetryBudget>>,
}

impl Default for RetryPolicyBuilder {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            max_elapsed: None,
            backoff: Backoff::exponential(Duration::from_millis(200)),
            cap: Duration::from_secs(10),
            jitter: Jitter::Full,
            seed: None,
            retry_after_min: Duration::from_millis(100),
            retry_after_max: Duration::from_secs(60),
            budget: None,
        }
    }
}

impl RetryPolicyBuilder {
    /// Total attempts, the first included (1 means never retry). At least 1.
    pub fn max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts;
        self
    }

    /// Stop instead of sleeping when the sleep would end more than `max_elapsed` after the
    /// first attempt started.
    pub fn max_elapsed(mut self, max_elapsed: Duration) -> Self {
        self.max_elapsed = Some(max_elapsed);
        self
    }

    /// The backoff curve.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// The largest backoff delay, before a `Retry-After` raises it.
    pub fn cap(mut self, cap: Duration) -> Self {
        self.cap = cap;
        self
    }

    /// The jitter.
    pub fn jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// Seeds the jitter, so that the same calls get the same delays.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// The shortest wait a `Retry-After` can ask for.
    pub fn retry_after_min(mut self, min: Duration) -> Self {
        self.retry_after_min = min;
        self
    }

    /// The longest wait a `Retry-After` can ask for. A venue that asks for more is not waited
    /// for: the call stops at once with its last error
    /// ([`StopReason::RetryAfterTooLong`](super::StopReason::RetryAfterTooLong)), so a huge or
    /// hostile header can neither park a client nor be retried sooner than the venue allows.
    pub fn retry_after_max(mut self, max: Duration) -> Self {
        self.retry_after_max = max;
        self
    }

    /// The budget each retry must withdraw from.
    pub fn budget(mut self, budget: Arc<RetryBudget>) -> Self {
        self.budget = Some(budget);
        self
    }

    /// The policy, or [`Error::InvalidConfig`] if `max_attempts` is 0, the exponential factor
    /// is below 1 or not finite, or `retry_after_min > retry_after_max`.
    pub fn build(self) -> Result<RetryPolicy> {
        if self.max_attempts == 0 {
            return Err(Error::InvalidConfig(
                "retry max_attempts is 0; it counts the first attempt, so use at least 1".into(),
            ));
        }
        if !self.backoff.is_valid() {
            return Err(Error::InvalidConfig(
                "exponential backoff factor must be finite and at least 1".into(),
            ));
        }
        if self.retry_after_min > self.retry_after_max {
            return Err(Error::InvalidConfig(format!(
                "retry_after_min {:?} is above retry_after_max {:?}",
                self.retry_after_min, self.retry_after_max
            )));
        }
        let rng = self
            .seed
            .map_or_else(JitterRng::from_os, JitterRng::seed_from_u64);
        Ok(RetryPolicy {
            max_attempts: self.max_attempts,
            max_elapsed: self.max_elapsed,
            backoff: self.backoff,
            cap: self.cap,
            jitter: self.jitter,
            retry_after_min: self.retry_after_min,
            retry_after_max: self.retry_after_max,
            budget: self.budget,
            rng: Mutex::new(rng),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn policy(b: RetryPolicyBuilder) -> RetryPolicy {
        b.jitter(Jitter::None).seed(1).build().unwrap()
    }

    #[test]
    fn next_delay_stops_at_max_attempts() {
        let p = policy(RetryPolicy::builder().max_attempts(3));
        let mut rng = p.new_rng();
        assert_eq!(p.next_delay(1, None, None, &mut rng), Some(MS * 200));
        assert_eq!(p.next_delay(2, None, None, &mut rng), Some(MS * 400));
        assert_eq!(p.next_delay(3, None, None, &mut rng), None);
    }

    #[test]
    fn retry_after_is_a_clamped_lower_bound() {
        let p = policy(RetryPolicy::builder().backoff(Backoff::Constant(MS * 500)));
        let mut rng = p.new_rng();
        let after = |s| p.next_delay(1, None, Some(s), &mut p.new_rng());
        assert_eq!(after(Duration::from_secs(2)), Some(Duration::from_secs(2)));
        assert_eq!(after(MS * 10), Some(MS * 500), "backoff is longer");
        assert_eq!(
            after(Duration::from_secs(999_999)),
            Some(Duration::from_secs(60))
        );
        let quick = policy(RetryPolicy::builder().backoff(Backoff::Constant(MS)));
        assert_eq!(
            quick.next_delay(1, None, Some(Duration::ZERO), &mut rng),
            Some(MS * 100)
        );
    }

    #[test]
    fn invalid_settings_are_refused() {
        let bad = [
            RetryPolicy::builder().max_attempts(0),
            RetryPolicy::builder().backoff(Backoff::Exponential {
                base: MS,
                factor: 0.5,
            }),
            RetryPolicy::builder()
                .retry_after_min(Duration::from_secs(2))
                .retry_after_max(Duration::from_secs(1)),
        ];
        for b in bad {
            assert!(matches!(b.build(), Err(Error::InvalidConfig(_))));
        }
    }

    #[test]
    fn a_seed_repeats_the_delays() {
        let delays = || {
            let p = RetryPolicy::builder().seed(9).build().unwrap();
            let mut rng = p.new_rng();
            (1..3)
                .map(|n| p.next_delay(n, None, None, &mut rng))
                .collect::<Vec<_>>()
        };
        assert_eq!(delays(), delays());
    }
}
