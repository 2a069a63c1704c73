//! Jitter: randomness added to backoff delays so a fleet of clients does not retry in step,
//! drawn from a seedable generator so tests can pin every delay.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::rngs::SmallRng;
use rand::{Rng, RngCore, SeedableRng};

/// The generator jitter draws from: rand's `SmallRng`, seeded. Wrapped so that rand's
/// version is not part of this crate's API.
#[derive(Debug, Clone)]
pub struct JitterRng(SmallRng);

impl JitterRng {
    /// A generator whose sequence is fixed by `seed` (for one version of rand on one pointer
    /// width: `SmallRng` is fast, not portable).
    pub fn seed_from_u64(seed: u64) -> Self {
        Self(SmallRng::seed_from_u64(seed))
    }

    /// A generator seeded by the operating system, or, should that fail, by the system time.
    pub fn from_os() -> Self {
        SmallRng::try_from_os_rng().map_or_else(|_| Self::seed_from_u64(time_seed()), Self)
    }

    /// A fresh generator seeded from this one: one per retry loop, all following from the
    /// policy's seed.
    pub(crate) fn fork(&mut self) -> Self {
        Self::seed_from_u64(self.0.next_u64())
    }

    /// Uniform in `[lo, hi]` nanoseconds; `lo` when `hi <= lo`.
    fn between(&mut self, lo: Duration, hi: Duration) -> Duration {
        let (lo, hi) = (nanos(lo), nanos(hi));
        if hi <= lo {
            return Duration::from_nanos(lo);
        }
        Duration::from_nanos(self.0.random_range(lo..=hi))
    }
}

/// A seed from the wall clock's nanoseconds: different per process start, which is all jitter
/// needs when the operating system's generator is unavailable.
fn time_seed() -> u64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    nanos(since) ^ u64::from(std::process::id()).rotate_left(32)
}

/// A duration in nanoseconds, saturating at `u64::MAX` (about 584 years).
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// How much randomness to add to each backoff delay.
///
/// The kinds and their bounds follow the AWS Architecture Blog's "Exponential Backoff And
/// Jitter" (Marc Brooker, 2015), with `d` the capped backoff delay:
///
/// | jitter | delay |
/// | --- | --- |
/// | [`Jitter::None`] | exactly `d` |
/// | [`Jitter::Full`] | uniform in `[0, d]` |
/// | [`Jitter::Equal`] | `d/2` plus uniform in `[0, d − d/2]`, so in `[d/2, d]` |
/// | [`Jitter::Decorrelated`] | uniform in `[base, max(base, prev × 3)]`, then at most `cap` |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Jitter {
    /// No randomness: the backoff delay itself.
    None,
    /// Uniform between zero and the backoff delay: the best spread, no minimum wait (the
    /// AWS SDKs' default).
    #[default]
    Full,
    /// Half the backoff delay, plus uniform up to the other half: a guaranteed minimum wait.
    Equal,
    /// Each delay uniform between the base and three times the previous delay, capped: grows
    /// on its own, so it ignores the backoff curve except for its base.
    Decorrelated,
}

impl Jitter {
    /// The jittered delay. `delay` is the capped backoff delay (see
    /// [`Backoff::delay`](super::Backoff::delay)); `base` the backoff's base and `prev` the
    /// previous delay (`None` before the first retry, when `base` stands in), both used only by
    /// [`Jitter::Decorrelated`]. The result is never above `cap` when `delay` is not.
    pub fn apply(
        self,
        delay: Duration,
        base: Duration,
        prev: Option<Duration>,
        cap: Duration,
        rng: &mut JitterRng,
    ) -> Duration {
        match self {
            Self::None => delay,
            Self::Full => rng.between(Duration::ZERO, delay),
            Self::Equal => {
                let half = delay / 2;
                half + rng.between(Duration::ZERO, delay - half)
            }
            Self::Decorrelated => {
                let prev = prev.unwrap_or(base);
                let hi = base.max(prev.saturating_mul(3));
                rng.between(base, hi).min(cap)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn draws(jitter: Jitter, delay: Duration, seed: u64) -> Vec<Duration> {
        let mut rng = JitterRng::seed_from_u64(seed);
        (0..200)
            .map(|_| jitter.apply(delay, MS * 10, None, MS * 1000, &mut rng))
            .collect()
    }

    #[test]
    fn bounds_hold_and_the_range_is_used() {
        let d = MS * 400;
        assert!(draws(Jitter::None, d, 1).iter().all(|&x| x == d));
        let full = draws(Jitter::Full, d, 1);
        assert!(full.iter().all(|&x| x <= d));
        assert!(full.iter().any(|&x| x < d / 4) && full.iter().any(|&x| x > d * 3 / 4));
        let equal = draws(Jitter::Equal, d, 1);
        assert!(equal.iter().all(|&x| x >= d / 2 && x <= d));
        let dec = draws(Jitter::Decorrelated, d, 1);
        assert!(dec.iter().all(|&x| x >= MS * 10 && x <= MS * 30));
    }

    #[test]
    fn same_seed_same_delays() {
        assert_eq!(
            draws(Jitter::Full, MS * 500, 7),
            draws(Jitter::Full, MS * 500, 7)
        );
        assert_ne!(
            draws(Jitter::Full, MS * 500, 7),
            draws(Jitter::Full, MS * 500, 8)
        );
    }

    #[test]
    fn decorrelated_grows_from_prev_and_stops_at_cap() {
        let mut rng = JitterRng::seed_from_u64(3);
        let cap = MS * 50;
        let mut prev = None;
        for _ in 0..50 {
            let d = Jitter::Decorrelated.apply(Duration::ZERO, MS * 10, prev, cap, &mut rng);
            let hi = (MS * 10).max(prev.unwrap_or(MS * 10) * 3).min(cap);
            assert!(d >= MS * 10 && d <= hi, "{d:?} not in [10ms, {hi:?}]");
            prev = Some(d);
        }
    }
}
