//! Retry scenarios with an injected clock and sleep: every delay is asserted exactly, and no
//! test waits in real time.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use keyward_resilience::retry::{Backoff, FailureKind, Jitter, RequestClass, RetryBudget};
use keyward_resilience::retry::{RetryError, RetryPolicy, StopReason, should_retry};
use keyward_resilience::{ManualClock, ManualSleep, Monotonic, parse_retry_after};

const MS: Duration = Duration::from_millis(1);
const SEC: Duration = Duration::from_secs(1);

/// A caller's own error, as an exchange client might have it.
#[derive(Debug, Clone, PartialEq)]
enum ApiError {
    Refused,
    Timeout,
    Status(u16, Option<Duration>),
    Kind(FailureKind),
}

fn classify(e: &ApiError) -> FailureKind {
    match *e {
        ApiError::Refused => FailureKind::ConnectRefused,
        ApiError::Timeout => FailureKind::Timeout,
        ApiError::Status(429, retry_after) => FailureKind::RateLimited { retry_after },
        ApiError::Status(s, retry_after) if s >= 500 => FailureKind::ServerError { retry_after },
        ApiError::Status(_, _) => FailureKind::ClientError,
        ApiError::Kind(k) => k,
    }
}

/// A manual clock and a sleep that advances it.
fn time() -> (Arc<ManualClock>, ManualSleep) {
    let clock = Arc::new(ManualClock::new());
    let sleep = ManualSleep::new(clock.clone());
    (clock, sleep)
}

/// Runs a call whose attempts return `script` in order (the last entry repeats), each taking
/// `took` of the manual clock. Returns the result and the number of attempts made.
async fn run(
    policy: &RetryPolicy,
    class: RequestClass,
    clock: &Arc<ManualClock>,
    sleep: &ManualSleep,
    took: Duration,
    script: &[Result<u32, ApiError>],
) -> (Result<u32, RetryError<ApiError>>, usize) {
    let mut calls = 0;
    let op = || {
        let step = script[calls.min(script.len() - 1)].clone();
        calls += 1;
        clock.advance(took);
        async move { step }
    };
    let result = policy
        .retry(class, clock.as_ref(), sleep, op, classify)
        .await;
    (result, calls)
}

fn constant(delay: Duration) -> keyward_resilience::retry::RetryPolicyBuilder {
    RetryPolicy::builder()
        .backoff(Backoff::Constant(delay))
        .jitter(Jitter::None)
        .seed(0)
}

const FAIL_5XX: Result<u32, ApiError> = Err(ApiError::Status(503, None));

#[tokio::test]
async fn attempt_limit_stops_after_max_attempts() {
    let (clock, sleep) = time();
    let policy = constant(MS * 100).max_attempts(4).build().unwrap();
    let (result, calls) = run(&policy, RequestClass::Read, &clock, &sleep, MS, &[FAIL_5XX]).await;
    let err = result.unwrap_err();
    assert_eq!(err.reason(), StopReason::AttemptsExhausted);
    assert!(err.reason() == StopReason::AttemptsExhausted && err.attempts() == 4);
    assert_eq!(err.last(), &ApiError::Status(503, None));
    assert_eq!(calls, 4);
    assert_eq!(sleep.slept(), [MS * 100; 3]);
}

#[tokio::test]
async fn a_later_success_is_returned() {
    let (clock, sleep) = time();
    let policy = constant(MS * 100).build().unwrap();
    let script = [Err(ApiError::Refused), Err(ApiError::Timeout), Ok(7)];
    let (result, calls) = run(&policy, RequestClass::Read, &clock, &sleep, MS, &script).await;
    assert_eq!(result, Ok(7));
    assert_eq!(calls, 3);
    assert_eq!(sleep.slept(), [MS * 100; 2]);
}

#[tokio::test]
async fn exponential_and_linear_delays_without_jitter_are_exact() {
    let (clock, sleep) = time();
    let policy = RetryPolicy::builder()
        .max_attempts(6)
        .backoff(Backoff::exponential(MS * 100))
        .cap(SEC)
        .jitter(Jitter::None)
        .build()
        .unwrap();
    run(&policy, RequestClass::Read, &clock, &sleep, MS, &[FAIL_5XX])
        .await
        .0
        .unwrap_err();
    assert_eq!(sleep.slept(), [MS * 100, MS * 200, MS * 400, MS * 800, SEC]);

    let (clock, sleep) = time();
    let policy = RetryPolicy::builder()
        .max_attempts(4)
        .backoff(Backoff::Linear {
            base: MS * 100,
            step: MS * 50,
        })
        .jitter(Jitter::None)
        .build()
        .unwrap();
    run(&policy, RequestClass::Read, &clock, &sleep, MS, &[FAIL_5XX])
        .await
        .0
        .unwrap_err();
    assert_eq!(sleep.slept(), [MS * 100, MS * 150, MS * 200]);
}

/// The delays a seeded policy sleeps for one failing call of five attempts.
async fn seeded_delays(jitter: Jitter, seed: u64) -> Vec<Duration> {
    let (clock, sleep) = time();
    let policy = RetryPolicy::builder()
        .max_attempts(5)
        .backoff(Backoff::exponential(MS * 100))
        .cap(SEC)
        .jitter(jitter)
        .seed(seed)
        .build()
        .unwrap();
    run(&policy, RequestClass::Read, &clock, &sleep, MS, &[FAIL_5XX])
        .await
        .0
        .unwrap_err();
    sleep.slept()
}

#[tokio::test]
async fn seeded_jitter_repeats_exactly() {
    for jitter in [Jitter::Full, Jitter::Equal, Jitter::Decorrelated] {
        let a = seeded_delays(jitter, 42).await;
        assert_eq!(a, seeded_delays(jitter, 42).await, "{jitter:?}");
        assert_ne!(a, seeded_delays(jitter, 43).await, "{jitter:?}");
    }
}

/// The exact delays for seed 42, pinned for rand 0.9's `SmallRng` (Xoshiro256++ on 64-bit
/// targets). A rand upgrade that changes them fails here, on purpose: seeded delays are part of
/// what a reproduced incident relies on.
#[cfg(target_pointer_width = "64")]
#[tokio::test]
async fn seeded_jitter_delays_are_pinned() {
    let ns = Duration::from_nanos;
    assert_eq!(seeded_delays(Jitter::Full, 42).await, PINNED_FULL.map(ns));
    assert_eq!(seeded_delays(Jitter::Equal, 42).await, PINNED_EQUAL.map(ns));
    assert_eq!(
        seeded_delays(Jitter::Decorrelated, 42).await,
        PINNED_DECORRELATED.map(ns)
    );
}

/// Full: within 0-100, 0-200, 0-400 and 0-800 ms.
#[cfg(target_pointer_width = "64")]
const PINNED_FULL: [u64; 4] = [31_145_910, 159_342_958, 361_829_390, 408_079_307];
/// Equal: within 50-100, 100-200, 200-400 and 400-800 ms.
#[cfg(target_pointer_width = "64")]
const PINNED_EQUAL: [u64; 4] = [65_572_955, 179_671_479, 380_914_695, 604_039_653];
/// Decorrelated: 100-300 ms, 100-487 ms, then capped at 1 s.
#[cfg(target_pointer_width = "64")]
const PINNED_DECORRELATED: [u64; 4] = [162_291_820, 408_229_400, 1_000_000_000, 1_000_000_000];

#[tokio::test]
async fn total_time_limit_stops_before_a_sleep_would_overshoot() {
    let (clock, sleep) = time();
    let policy = constant(MS * 400)
        .max_attempts(10)
        .max_elapsed(SEC)
        .build()
        .unwrap();
    let (result, calls) = run(
        &policy,
        RequestClass::Read,
        &clock,
        &sleep,
        Duration::ZERO,
        &[FAIL_5XX],
    )
    .await;
    // Fails at 0 ms and 400 ms; at 800 ms the next sleep would end at 1200 ms > 1000 ms.
    assert!(matches!(
        result,
        Err(ref e) if e.reason() == StopReason::DeadlineExceeded && e.attempts() == 3
    ));
    assert_eq!(calls, 3);
    assert_eq!(sleep.slept(), [MS * 400; 2]);
    assert_eq!(clock.now(), MS * 800);
}

#[tokio::test]
async fn a_sleep_ending_exactly_at_the_deadline_is_allowed() {
    let (clock, sleep) = time();
    let policy = constant(MS * 400)
        .max_attempts(10)
        .max_elapsed(MS * 800)
        .build()
        .unwrap();
    let (result, _) = run(
        &policy,
        RequestClass::Read,
        &clock,
        &sleep,
        Duration::ZERO,
        &[FAIL_5XX],
    )
    .await;
    assert_eq!(result.unwrap_err().attempts(), 3);
    assert_eq!(sleep.slept(), [MS * 400; 2]);
}

#[tokio::test]
async fn slow_attempts_count_against_the_time_limit() {
    let (clock, sleep) = time();
    let policy = constant(MS * 100)
        .max_attempts(10)
        .max_elapsed(SEC)
        .build()
        .unwrap();
    let (result, calls) = run(
        &policy,
        RequestClass::Read,
        &clock,
        &sleep,
        MS * 300,
        &[FAIL_5XX],
    )
    .await;
    // Attempts over 0-300, 400-700 and 800-1100 ms; a retry at 1200 ms is past the limit.
    assert_eq!(result.unwrap_err().reason(), StopReason::DeadlineExceeded);
    assert_eq!(calls, 3);
    assert_eq!(sleep.slept(), [MS * 100; 2]);
}

/// The delay slept after one 429 with `retry_after`, under a constant `backoff`.
async fn delay_after_429(backoff: Duration, retry_after: Duration) -> Duration {
    let (clock, sleep) = time();
    let policy = constant(backoff).build().unwrap();
    let script = [Err(ApiError::Status(429, Some(retry_after))), Ok(1)];
    let (result, _) = run(
        &policy,
        RequestClass::NonIdempotentWrite,
        &clock,
        &sleep,
        MS,
        &script,
    )
    .await;
    assert_eq!(result, Ok(1));
    let slept = sleep.slept();
    assert_eq!(slept.len(), 1);
    slept[0]
}

#[tokio::test]
async fn retry_after_is_a_clamped_lower_bound() {
    // delay = max(backoff, clamp(retry_after, 100 ms, 60 s))
    assert_eq!(delay_after_429(MS * 100, SEC * 2).await, SEC * 2);
    assert_eq!(
        delay_after_429(SEC * 3, SEC).await,
        SEC * 3,
        "backoff longer"
    );
    assert_eq!(
        delay_after_429(MS * 10, Duration::ZERO).await,
        MS * 100,
        "0 → min"
    );
    assert_eq!(
        delay_after_429(MS * 10, SEC * 60).await,
        SEC * 60,
        "max is still waited"
    );
}

#[tokio::test]
async fn retry_after_from_a_header_date() {
    let now = SystemTime::UNIX_EPOCH + SEC * 1_445_412_480 - SEC * 7;
    let after = parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now);
    assert_eq!(after, Some(SEC * 7));
    assert_eq!(delay_after_429(MS * 100, after.unwrap()).await, SEC * 7);
    let garbage = parse_retry_after("Wed, 21 Oct 2015 25:61:00 GMT", now);
    assert_eq!(garbage, None, "a malformed header is ignored, not a panic");
}

#[tokio::test]
async fn a_retry_after_past_the_deadline_stops_at_once() {
    let (clock, sleep) = time();
    let policy = constant(MS * 100).max_elapsed(SEC * 10).build().unwrap();
    let script = [Err(ApiError::Status(429, Some(SEC * 30)))];
    let (result, calls) = run(&policy, RequestClass::Read, &clock, &sleep, MS, &script).await;
    assert_eq!(result.unwrap_err().reason(), StopReason::DeadlineExceeded);
    assert_eq!(calls, 1);
    assert!(sleep.slept().is_empty());
}

#[tokio::test]
async fn budget_exhaustion_and_refill() {
    let (clock, sleep) = time();
    // No share of requests, a floor of 1 retry/s: 10 retries per 10 s window.
    let budget = RetryBudget::builder()
        .ratio(0.0)
        .min_retries_per_sec(1)
        .window(SEC * 10)
        .build(clock.clone())
        .unwrap();
    let budget = Arc::new(budget);
    let policy = constant(MS * 10)
        .max_attempts(100)
        .budget(budget.clone())
        .build()
        .unwrap();
    let (result, calls) = run(&policy, RequestClass::Read, &clock, &sleep, MS, &[FAIL_5XX]).await;
    assert!(matches!(
        result,
        Err(ref e) if e.reason() == StopReason::BudgetExhausted && e.attempts() == 11
    ));
    assert_eq!(calls, 11);
    assert_eq!(budget.available(), 0);

    clock.advance(SEC * 5);
    let (result, calls) = run(&policy, RequestClass::Read, &clock, &sleep, MS, &[FAIL_5XX]).await;
    assert_eq!(result.unwrap_err().reason(), StopReason::BudgetExhausted);
    assert_eq!(calls, 1, "still within the window: no retry");

    clock.advance(SEC * 5);
    assert_eq!(budget.available(), 10, "the window has passed: refilled");
    let script = [FAIL_5XX, FAIL_5XX, Ok(3)];
    let (result, _) = run(&policy, RequestClass::Read, &clock, &sleep, MS, &script).await;
    assert_eq!(result, Ok(3));
    assert_eq!(budget.available(), 8);
}

#[tokio::test]
async fn requests_buy_retries_at_the_budget_ratio() {
    let (clock, sleep) = time();
    let budget = RetryBudget::builder()
        .ratio(0.5)
        .min_retries_per_sec(0)
        .build(clock.clone())
        .unwrap();
    let policy = constant(MS * 10)
        .max_attempts(5)
        .budget(Arc::new(budget))
        .build()
        .unwrap();
    // Half a token: no retry. Then one whole token: one retry, and no second.
    let (r, calls) = run(&policy, RequestClass::Read, &clock, &sleep, MS, &[FAIL_5XX]).await;
    assert_eq!((r.unwrap_err().attempts(), calls), (1, 1));
    let (r, calls) = run(&policy, RequestClass::Read, &clock, &sleep, MS, &[FAIL_5XX]).await;
    assert_eq!((r.unwrap_err().attempts(), calls), (2, 2));
    assert_eq!(sleep.slept(), [MS * 10]);
}

const CLASSES: [RequestClass; 3] = [
    RequestClass::Read,
    RequestClass::IdempotentWrite,
    RequestClass::NonIdempotentWrite,
];

/// The decision table of the module docs: per failure kind, retried for Read,
/// IdempotentWrite, NonIdempotentWrite.
const TABLE: [(FailureKind, [bool; 3]); 10] = [
    (FailureKind::ConnectRefused, [true, true, true]),
    (
        FailureKind::RateLimited { retry_after: None },
        [true, true, true],
    ),
    (
        FailureKind::RateLimited {
            retry_after: Some(SEC),
        },
        [true, true, true],
    ),
    (FailureKind::RejectedBeforeExecution, [true, true, true]),
    (FailureKind::Timeout, [true, true, false]),
    (
        FailureKind::ServerError { retry_after: None },
        [true, true, false],
    ),
    (
        FailureKind::ServerError {
            retry_after: Some(SEC),
        },
        [true, true, false],
    ),
    (FailureKind::ClientError, [false, false, false]),
    (FailureKind::Other { retryable: true }, [true, true, false]),
    (
        FailureKind::Other { retryable: false },
        [false, false, false],
    ),
];

#[test]
fn decision_table_for_every_class_and_outcome() {
    for (kind, expected) in TABLE {
        for (class, want) in CLASSES.into_iter().zip(expected) {
            assert_eq!(should_retry(class, &kind), want, "{class:?} × {kind:?}");
        }
    }
}

#[tokio::test]
async fn the_loop_follows_the_decision_table() {
    for (kind, expected) in TABLE {
        for (class, want) in CLASSES.into_iter().zip(expected) {
            let (clock, sleep) = time();
            let policy = constant(MS * 10).build().unwrap();
            let script = [Err(ApiError::Kind(kind)), Ok(5)];
            let (result, calls) = run(&policy, class, &clock, &sleep, MS, &script).await;
            if want {
                assert_eq!(result, Ok(5), "{class:?} × {kind:?}");
                assert_eq!(calls, 2);
            } else {
                let err = result.unwrap_err();
                assert_eq!(
                    err.reason(),
                    StopReason::NotRetryable,
                    "{class:?} × {kind:?}"
                );
                assert_eq!((err.attempts(), calls), (1, 1));
                assert!(sleep.slept().is_empty());
            }
        }
    }
}

#[test]
fn the_retry_future_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let (clock, sleep) = time();
    let policy = RetryPolicy::builder().build().unwrap();
    let fut = policy.retry(
        RequestClass::Read,
        clock.as_ref(),
        &sleep,
        || async { Ok::<u32, ApiError>(1) },
        classify,
    );
    assert_send(&fut);
}

mod events {
    use std::fmt::{self, Write};

    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    use super::*;

    /// Records each event as "target: field=value ...".
    struct Capture(Arc<Mutex<Vec<String>>>);

    struct Line(String);

    impl Visit for Line {
        fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
            let _ = write!(self.0, " {}={:?}", field.name(), value);
        }
    }

    impl Subscriber for Capture {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            let mut line = Line(format!("{}:", event.metadata().target()));
            event.record(&mut line);
            self.0.lock().unwrap().push(line.0);
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    #[tokio::test]
    async fn each_retry_is_an_event_with_attempt_and_delay() {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let _guard = tracing::subscriber::set_default(Capture(lines.clone()));
        let (clock, sleep) = time();
        let policy = constant(MS * 250).max_attempts(2).build().unwrap();
        run(&policy, RequestClass::Read, &clock, &sleep, MS, &[FAIL_5XX])
            .await
            .0
            .unwrap_err();
        let lines = lines.lock().unwrap().clone();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines[0].starts_with("keyward_resilience::retry:"),
            "{lines:?}"
        );
        assert!(lines[0].contains("attempt=1") && lines[0].contains("delay_ms=250"));
        assert!(lines[1].contains("attempt=2") && lines[1].contains("giving up"));
        assert!(
            !lines.iter().any(|l| l.contains("503")),
            "errors are never logged"
        );
    }
}

/// Finding 8 of issue 13: a `Retry-After` above `retry_after_max` (60 s by default) must not
/// park a client, nor be cut to the cap and retried early: the call fails at once with the
/// venue's rate-limit error, without sleeping.
#[tokio::test]
async fn a_retry_after_past_the_cap_fails_at_once_without_sleeping() {
    for class in [RequestClass::Read, RequestClass::NonIdempotentWrite] {
        let (clock, sleep) = time();
        let policy = constant(MS * 100).build().unwrap();
        let huge = Err(ApiError::Status(429, Some(SEC * 999_999)));
        let (result, calls) = run(&policy, class, &clock, &sleep, MS, &[huge, Ok(1)]).await;
        let err = result.unwrap_err();
        assert_eq!(err.reason(), StopReason::RetryAfterTooLong);
        assert!(err.reason() == StopReason::RetryAfterTooLong && err.attempts() == 1);
        assert_eq!(err.last(), &ApiError::Status(429, Some(SEC * 999_999)));
        assert_eq!(calls, 1, "{class:?}");
        assert!(sleep.slept().is_empty(), "{class:?}: {:?}", sleep.slept());
    }
    // At the cap exactly, it waits and retries.
    let (clock, sleep) = time();
    let policy = constant(MS * 100).build().unwrap();
    let at_cap = Err(ApiError::Status(503, Some(SEC * 60)));
    let (result, _) = run(
        &policy,
        RequestClass::Read,
        &clock,
        &sleep,
        MS,
        &[at_cap, Ok(1)],
    )
    .await;
    assert_eq!(result, Ok(1));
    assert_eq!(sleep.slept(), [SEC * 60]);
}
