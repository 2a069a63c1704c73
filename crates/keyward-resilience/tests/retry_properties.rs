//! Property tests: every backoff delay lies within its documented bounds, `Retry-After` always
//! ends within its clamps, garbage headers never panic, and a budget never allows more than its
//! share.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use keyward_resilience::ManualClock;
use keyward_resilience::retry::{
    Backoff, Jitter, JitterRng, RetryBudget, RetryPolicy, clamp_retry_after, parse_retry_after,
};
use proptest::prelude::*;

/// Durations: mostly up to about three hours, sometimes anywhere in a u64 of nanoseconds.
fn duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        4 => (0u64..=10_000_000_000_000).prop_map(Duration::from_nanos),
        1 => any::<u64>().prop_map(Duration::from_nanos),
    ]
}

fn backoff() -> impl Strategy<Value = Backoff> {
    prop_oneof![
        duration().prop_map(Backoff::Constant),
        (duration(), duration()).prop_map(|(base, step)| Backoff::Linear { base, step }),
        (duration(), 1.0f64..16.0).prop_map(|(base, factor)| Backoff::Exponential { base, factor }),
    ]
}

fn jitter() -> impl Strategy<Value = Jitter> {
    prop_oneof![
        Just(Jitter::None),
        Just(Jitter::Full),
        Just(Jitter::Equal),
        Just(Jitter::Decorrelated),
    ]
}

fn attempt() -> impl Strategy<Value = u32> {
    prop_oneof![3 => 0u32..70, 1 => any::<u32>()]
}

/// Asserts that `got` is within the bounds `jitter` documents for the capped backoff `d`.
fn assert_jitter_bounds(
    jitter: Jitter,
    got: Duration,
    d: Duration,
    base: Duration,
    prev: Option<Duration>,
    cap: Duration,
) -> Result<(), TestCaseError> {
    prop_assert!(got <= cap, "{got:?} above cap {cap:?}");
    match jitter {
        Jitter::None => prop_assert_eq!(got, d),
        Jitter::Full => prop_assert!(got <= d, "full: {got:?} above {d:?}"),
        Jitter::Equal => prop_assert!(got >= d / 2 && got <= d, "equal: {got:?} for {d:?}"),
        Jitter::Decorrelated => {
            let hi = base.max(prev.unwrap_or(base).saturating_mul(3)).min(cap);
            let lo = base.min(cap);
            prop_assert!(
                got >= lo && got <= hi,
                "decorrelated: {got:?} not in [{lo:?}, {hi:?}]"
            );
        }
    }
    Ok(())
}

proptest! {
    /// For every backoff × jitter, attempt number, cap and seed: 0 <= delay <= cap, and the
    /// jitter's own bounds (none: d; full: [0, d]; equal: [d/2, d]; decorrelated:
    /// [base, min(cap, max(base, prev × 3))]), over a run of consecutive retries.
    #[test]
    fn every_delay_lies_within_its_documented_bounds(
        backoff in backoff(),
        jitter in jitter(),
        first in attempt(),
        cap in duration(),
        seed in any::<u64>(),
        prev in proptest::option::of(duration()),
    ) {
        let mut rng = JitterRng::seed_from_u64(seed);
        let mut prev = prev;
        for retry in (first..).take(8) {
            let d = backoff.delay(retry, cap);
            prop_assert!(d <= cap);
            let got = jitter.apply(d, backoff.base(), prev, cap, &mut rng);
            assert_jitter_bounds(jitter, got, d, backoff.base(), prev, cap)?;
            prev = Some(got);
        }
    }

    /// The policy's delay is the jittered backoff raised to the clamped Retry-After: never below
    /// `clamp(retry_after)`, never above `max(cap, retry_after_max)` (`cap` without one), and
    /// `None` once the attempts are used up.
    #[test]
    fn policy_delays_honour_retry_after_and_the_caps(
        backoff in backoff(),
        jitter in jitter(),
        max_attempts in 1u32..20,
        attempt in 0u32..25,
        cap in duration(),
        (min, max) in (duration(), duration()).prop_map(|(a, b)| (a.min(b), a.max(b))),
        retry_after in proptest::option::of(duration()),
        prev in proptest::option::of(duration()),
        seed in any::<u64>(),
    ) {
        let policy = RetryPolicy::builder()
            .backoff(backoff)
            .jitter(jitter)
            .max_attempts(max_attempts)
            .cap(cap)
            .retry_after_min(min)
            .retry_after_max(max)
            .seed(seed)
            .build()
            .unwrap();
        let got = policy.next_delay(attempt, prev, retry_after, &mut policy.new_rng());
        if attempt >= max_attempts {
            prop_assert_eq!(got, None);
            return Ok(());
        }
        let got = got.unwrap();
        match retry_after {
            Some(after) => {
                prop_assert!(got >= clamp_retry_after(after, min, max));
                prop_assert!(got <= cap.max(max));
            }
            None => prop_assert!(got <= cap),
        }
    }

    /// Whatever a Retry-After header holds, parsing never panics, and any parsed value ends
    /// within [min, max] once clamped.
    #[test]
    fn any_retry_after_is_clamped_and_garbage_never_panics(
        header in prop_oneof![
            any::<String>(),
            "[ \t]*[0-9]{0,30}[ \t]*",
            "[A-Za-z]{3}, [0-9]{1,2} [A-Za-z]{3} [0-9]{2,5} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT",
            "[ -~]{0,40}",
        ],
        now_secs in 0u64..=253_402_300_799,
        (min, max) in (duration(), duration()).prop_map(|(a, b)| (a.min(b), a.max(b))),
    ) {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(now_secs);
        if let Some(after) = parse_retry_after(&header, now) {
            let clamped = clamp_retry_after(after, min, max);
            prop_assert!(clamped >= min && clamped <= max);
        }
    }

    /// Delta-seconds parse to exactly that many seconds.
    #[test]
    fn delta_seconds_parse_exactly(secs in any::<u64>(), pad in "[ \t]{0,3}") {
        let header = format!("{pad}{secs}{pad}");
        prop_assert_eq!(
            parse_retry_after(&header, SystemTime::UNIX_EPOCH),
            Some(Duration::from_secs(secs))
        );
    }

    /// An HTTP-date parses to the time until it, or zero once it is past.
    #[test]
    fn http_dates_parse_to_the_time_until_them(
        now_secs in 0u64..=253_402_300_799,
        date_secs in 0u64..=253_402_300_799,
    ) {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(now_secs);
        let date = SystemTime::UNIX_EPOCH + Duration::from_secs(date_secs);
        let header = httpdate::fmt_http_date(date);
        let want = Duration::from_secs(date_secs.saturating_sub(now_secs));
        prop_assert_eq!(parse_retry_after(&header, now), Some(want));
    }

    /// Within one window a budget allows at most its floor plus `ratio` of the requests.
    #[test]
    fn a_budget_never_allows_more_than_its_share(
        thousandths in 0u32..=1000,
        floor in 0u32..5,
        ops in proptest::collection::vec(any::<bool>(), 0..300),
    ) {
        let clock = Arc::new(ManualClock::new());
        let budget = RetryBudget::builder()
            .ratio(f64::from(thousandths) / 1000.0)
            .min_retries_per_sec(floor)
            .window(Duration::from_secs(10))
            .build(clock)
            .unwrap();
        let (mut requests, mut retries) = (0u64, 0u64);
        for deposit in ops {
            if deposit {
                budget.deposit();
                requests += 1;
            } else if budget.try_withdraw().is_ok() {
                retries += 1;
            }
        }
        let share = u64::from(floor) * 10 + requests * u64::from(thousandths) / 1000;
        prop_assert!(retries <= share, "{retries} retries for {requests} requests");
        prop_assert_eq!(budget.available(), share - retries);
    }
}
