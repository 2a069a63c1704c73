//! The circuit breaker's transition table and its edges, on an injected clock: every state,
//! both window types, exactly at the minimum number of calls and exactly at the threshold, the
//! cancellation rule, the async API and the events.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use keyward_resilience::breaker::{
    BreakerConfig, BreakerConfigBuilder, BreakerEvent, BreakerEventKind, BreakerState, CallError,
    CircuitBreaker, Outcome, SlidingWindow,
};
use keyward_resilience::{Error, ManualClock, ManualSleep};

const MS: Duration = Duration::from_millis(1);
const SEC: Duration = Duration::from_secs(1);

/// A breaker on a manual clock, with every event it emits.
struct Rig {
    breaker: CircuitBreaker,
    clock: Arc<ManualClock>,
    events: Arc<Mutex<Vec<BreakerEventKind>>>,
}

impl Rig {
    fn new(builder: BreakerConfigBuilder) -> Self {
        let clock = Arc::new(ManualClock::new());
        let config = builder.clock(clock.clone()).build().unwrap();
        let breaker = CircuitBreaker::new("venue", config);
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        breaker.add_listener(Arc::new(move |e: &BreakerEvent| {
            sink.lock().unwrap().push(e.kind);
        }));
        Self {
            breaker,
            clock,
            events,
        }
    }

    fn state(&self) -> BreakerState {
        self.breaker.state()
    }

    /// One call that takes `took` and ends with `outcome`.
    fn call(&self, outcome: Outcome, took: Duration) {
        let permit = self.breaker.try_acquire().unwrap();
        self.clock.advance(took);
        permit.record(outcome);
    }

    fn ok(&self) {
        self.call(Outcome::Success, MS);
    }

    fn fail(&self) {
        self.call(Outcome::Failure, MS);
    }

    fn transitions(&self) -> Vec<(BreakerState, BreakerState)> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                BreakerEventKind::Transition { from, to } => Some((*from, *to)),
                _ => None,
            })
            .collect()
    }

    fn count(&self, wanted: fn(&BreakerEventKind) -> bool) -> usize {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| wanted(e))
            .count()
    }

    /// Trips a closed breaker (minimum calls and window as configured) with failures.
    fn trip(&self) {
        while self.state() == BreakerState::Closed {
            self.fail();
        }
        assert_eq!(self.state(), BreakerState::Open);
    }
}

fn count_window(size: u32, minimum: u32, threshold: f64) -> BreakerConfigBuilder {
    BreakerConfig::builder()
        .sliding_window(SlidingWindow::CountBased { size })
        .minimum_calls(minimum)
        .failure_rate_threshold(threshold)
        .wait_in_open(10 * SEC)
}

/// Polls a future that must be ready at once (the manual clock and sleep never make anything
/// wait).
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the future was not ready"),
    }
}

fn is_open_error(e: &Error) -> bool {
    matches!(e, Error::CircuitOpen { .. })
}

// ---- closed state, count-based window -----------------------------------------------------

#[test]
fn count_window_judges_exactly_at_the_minimum_number_of_calls() {
    let rig = Rig::new(count_window(10, 5, 50.0));
    for _ in 0..3 {
        rig.fail();
    }
    rig.ok();
    // Four calls, 75 % failed: below the minimum, so no judgement and no rate.
    assert_eq!(rig.state(), BreakerState::Closed);
    let m = rig.breaker.metrics();
    assert_eq!(
        (m.buffered_calls, m.failed_calls, m.failure_rate),
        (4, 3, None)
    );
    // The fifth call reaches the minimum: 3/5 = 60 % >= 50 %.
    rig.ok();
    assert_eq!(rig.state(), BreakerState::Open);
    assert_eq!(rig.breaker.metrics().failure_rate, Some(60.0));
    assert_eq!(
        rig.transitions(),
        [(BreakerState::Closed, BreakerState::Open)]
    );
    assert_eq!(
        rig.count(|e| matches!(e, BreakerEventKind::FailureRateExceeded { rate } if *rate == 60.0)),
        1
    );
}

#[test]
fn count_window_opens_exactly_at_the_failure_rate_threshold() {
    // 2 of 4 = 50 %, threshold 50 %: opens (at or above, as resilience4j).
    let rig = Rig::new(count_window(4, 4, 50.0));
    for outcome in [Outcome::Failure, Outcome::Success, Outcome::Failure] {
        rig.call(outcome, MS);
    }
    assert_eq!(rig.state(), BreakerState::Closed);
    rig.ok();
    assert_eq!(rig.state(), BreakerState::Open);

    // 1 of 4 = 25 % against 25 % opens; against 25.5 % it does not.
    let at = Rig::new(count_window(4, 4, 25.0));
    let above = Rig::new(count_window(4, 4, 25.5));
    for rig in [&at, &above] {
        rig.fail();
        for _ in 0..3 {
            rig.ok();
        }
    }
    assert_eq!(at.state(), BreakerState::Open);
    assert_eq!(above.state(), BreakerState::Closed);
    assert_eq!(above.breaker.metrics().failure_rate, Some(25.0));
}

#[test]
fn count_window_forgets_the_calls_that_slide_out() {
    let rig = Rig::new(count_window(4, 4, 60.0));
    for outcome in [
        Outcome::Failure,
        Outcome::Failure,
        Outcome::Success,
        Outcome::Success,
    ] {
        rig.call(outcome, MS);
    }
    let m = rig.breaker.metrics();
    assert_eq!((m.buffered_calls, m.failed_calls), (4, 2));
    // Two more failures push the two first failures out: still 2 of 4.
    rig.fail();
    rig.fail();
    let m = rig.breaker.metrics();
    assert_eq!((m.buffered_calls, m.failed_calls), (4, 2));
    assert_eq!(rig.state(), BreakerState::Closed);
    // A third: 3 of 4 = 75 %.
    rig.fail();
    assert_eq!(rig.state(), BreakerState::Open);
}

#[test]
fn clean_successes_into_a_full_clean_window_change_nothing_and_later_failures_still_count() {
    // A full window of clean successes lets a clean success skip the lock; the window must
    // judge exactly as if every call had been recorded.
    let rig = Rig::new(count_window(4, 4, 50.0));
    for _ in 0..10 {
        rig.ok();
    }
    let m = rig.breaker.metrics();
    assert_eq!((m.buffered_calls, m.failed_calls), (4, 0));
    rig.fail();
    assert_eq!(rig.state(), BreakerState::Closed);
    rig.ok();
    rig.fail();
    // 2 of the last 4 (ok, fail, ok, fail) = 50 %: open.
    assert_eq!(rig.state(), BreakerState::Open);

    // After a trip and recovery the fresh window fills again before anything is skipped.
    let rig = Rig::new(count_window(4, 4, 50.0).permitted_calls_in_half_open(1));
    for _ in 0..4 {
        rig.ok();
    }
    rig.breaker.transition_to(BreakerState::HalfOpen);
    rig.ok();
    assert_eq!(rig.state(), BreakerState::Closed);
    assert_eq!(rig.breaker.metrics().buffered_calls, 0);
    rig.ok();
    rig.fail();
    // 1 of 2: the minimum (4) is not reached yet.
    assert_eq!(rig.state(), BreakerState::Closed);
    rig.fail();
    rig.ok();
    // 2 of 4 = 50 %.
    assert_eq!(rig.state(), BreakerState::Open);
}

#[test]
fn a_count_window_smaller_than_the_minimum_judges_when_full() {
    // resilience4j: the minimum is capped at the window's size for a count-based window.
    let rig = Rig::new(count_window(3, 100, 50.0));
    rig.fail();
    rig.fail();
    assert_eq!(rig.state(), BreakerState::Closed);
    rig.fail();
    assert_eq!(rig.state(), BreakerState::Open);
}

proptest::proptest! {
    /// A closed count-based breaker opens at exactly the call where a naive model of the last
    /// `size` calls first reaches the threshold (with at least min(minimum, size) calls).
    #[test]
    fn count_window_trips_exactly_when_a_naive_model_does(
        size in 1u32..10,
        minimum in 1u32..12,
        threshold in proptest::sample::select(vec![10.0, 25.0, 100.0 / 3.0, 50.0, 75.0, 100.0]),
        calls in proptest::collection::vec(proptest::bool::ANY, 1..40),
    ) {
        let rig = Rig::new(count_window(size, minimum, threshold));
        let mut log: Vec<bool> = Vec::new();
        for (i, failed) in calls.into_iter().enumerate() {
            let outcome = if failed { Outcome::Failure } else { Outcome::Success };
            rig.call(outcome, MS);
            log.push(failed);
            let last = &log[log.len().saturating_sub(size as usize)..];
            let n = last.len() as f64;
            let failures = last.iter().filter(|c| **c).count() as f64;
            let judged = last.len() >= minimum.min(size) as usize;
            let trips = judged && failures * 100.0 >= threshold * n;
            let expected = if trips { BreakerState::Open } else { BreakerState::Closed };
            proptest::prop_assert_eq!(rig.state(), expected, "after call {}", i);
            if trips {
                break;
            }
        }
    }
}

// ---- closed state, time-based window ------------------------------------------------------

fn time_window(seconds: u32, minimum: u32) -> BreakerConfigBuilder {
    BreakerConfig::builder()
        .sliding_window(SlidingWindow::TimeBased { seconds })
        .minimum_calls(minimum)
        .failure_rate_threshold(50.0)
        .wait_in_open(10 * SEC)
}

#[test]
fn time_window_judges_the_calls_of_the_last_n_seconds() {
    // Two failures at 0.5 s, then two successes just before and just after second 10, when
    // second 0 leaves a 10-second window.
    for (at_ms, expected) in [(9_999, BreakerState::Open), (10_000, BreakerState::Closed)] {
        let rig = Rig::new(time_window(10, 4));
        rig.clock.advance(500 * MS);
        rig.call(Outcome::Failure, Duration::ZERO);
        rig.call(Outcome::Failure, Duration::ZERO);
        rig.clock.advance(Duration::from_millis(at_ms - 500));
        rig.call(Outcome::Success, Duration::ZERO);
        rig.call(Outcome::Success, Duration::ZERO);
        assert_eq!(rig.state(), expected, "successes at {at_ms} ms");
    }
}

#[test]
fn time_window_judges_exactly_at_the_minimum_and_is_not_capped_by_its_size() {
    // A 1-second window still needs all 5 calls of the minimum.
    let rig = Rig::new(time_window(1, 5));
    for _ in 0..4 {
        rig.call(Outcome::Failure, Duration::ZERO);
    }
    assert_eq!(rig.state(), BreakerState::Closed);
    assert_eq!(rig.breaker.metrics().failure_rate, None);
    rig.call(Outcome::Failure, Duration::ZERO);
    assert_eq!(rig.state(), BreakerState::Open);
}

#[test]
fn time_window_metrics_age_without_calls() {
    let rig = Rig::new(time_window(10, 100));
    rig.fail();
    rig.ok();
    assert_eq!(rig.breaker.metrics().buffered_calls, 2);
    rig.clock.advance(10 * SEC);
    assert_eq!(rig.breaker.metrics().buffered_calls, 0);
}

// ---- open state ----------------------------------------------------------------------------

#[test]
fn open_refuses_until_the_wait_is_over_then_moves_to_half_open_on_the_next_call() {
    let rig = Rig::new(count_window(2, 2, 50.0));
    rig.trip();
    let err = rig.breaker.try_acquire().unwrap_err();
    assert_eq!(
        err,
        Error::CircuitOpen {
            name: "venue".into(),
            retry_after: Some(10 * SEC)
        }
    );
    assert_eq!(
        err.to_string(),
        "circuit venue is open; calls are refused for another 10s"
    );
    rig.clock.advance(10 * SEC - MS);
    let err = rig.breaker.try_acquire().unwrap_err();
    assert!(matches!(err, Error::CircuitOpen { retry_after: Some(left), .. } if left == MS));
    // The wait is over, but the move is lazy: still open until a call comes.
    rig.clock.advance(MS);
    assert_eq!(rig.state(), BreakerState::Open);
    let trial = rig.breaker.try_acquire().unwrap();
    assert!(trial.is_trial());
    assert_eq!(rig.state(), BreakerState::HalfOpen);
    trial.ignore();
    assert_eq!(rig.breaker.metrics().not_permitted_calls, 2);
    assert_eq!(
        rig.count(|e| matches!(e, BreakerEventKind::Rejected { .. })),
        2
    );
    assert_eq!(
        rig.transitions(),
        [
            (BreakerState::Closed, BreakerState::Open),
            (BreakerState::Open, BreakerState::HalfOpen)
        ]
    );
}

#[test]
fn open_keeps_the_figures_that_opened_it() {
    let rig = Rig::new(count_window(4, 4, 50.0));
    rig.ok();
    rig.ok();
    rig.fail();
    rig.fail();
    let m = rig.breaker.metrics();
    assert_eq!(m.state, BreakerState::Open);
    assert_eq!(
        (m.buffered_calls, m.failed_calls, m.failure_rate),
        (4, 2, Some(50.0))
    );
}

// ---- half-open state -----------------------------------------------------------------------

fn half_open_rig(permitted: u32, threshold: f64) -> Rig {
    let rig = Rig::new(count_window(10, 10, threshold).permitted_calls_in_half_open(permitted));
    rig.breaker.transition_to(BreakerState::HalfOpen);
    rig
}

#[test]
fn half_open_admits_exactly_n_trials_and_decides_on_the_nth_result() {
    let rig = half_open_rig(3, 50.0);
    let a = rig.breaker.try_acquire().unwrap();
    let b = rig.breaker.try_acquire().unwrap();
    let c = rig.breaker.try_acquire_owned().unwrap();
    assert!(a.is_trial() && b.is_trial() && c.is_trial());
    let busy = rig.breaker.try_acquire().unwrap_err();
    assert_eq!(
        busy,
        Error::HalfOpenBusy {
            name: "venue".into()
        }
    );
    assert_eq!(
        busy.to_string(),
        "circuit venue is half-open and all its trial calls are taken; retry once they have results"
    );
    assert_eq!(rig.breaker.metrics().trial_calls_in_flight, 3);
    // A decided trial does not free its slot: N trials per half-open period.
    a.success();
    assert!(rig.breaker.try_acquire().is_err());
    b.failure();
    assert_eq!(rig.state(), BreakerState::HalfOpen);
    let m = rig.breaker.metrics();
    assert_eq!(
        (m.buffered_calls, m.failed_calls, m.trial_calls_in_flight),
        (2, 1, 1)
    );
    assert_eq!(m.failure_rate, None);
    // 1 of 3 = 33 % < 50 %: closed.
    c.success();
    assert_eq!(rig.state(), BreakerState::Closed);
    assert_eq!(rig.breaker.metrics().buffered_calls, 0);
}

#[test]
fn half_open_reopens_exactly_at_the_threshold() {
    for (failures, expected) in [(1, BreakerState::Closed), (2, BreakerState::Open)] {
        let rig = half_open_rig(4, 50.0);
        let permits: Vec<_> = (0..4).map(|_| rig.breaker.try_acquire().unwrap()).collect();
        for (i, permit) in permits.into_iter().enumerate() {
            if i < failures {
                permit.failure();
            } else {
                permit.success();
            }
        }
        assert_eq!(rig.state(), expected, "{failures} of 4 trials failed");
    }
}

#[test]
fn half_open_max_wait_reopens_and_the_late_trial_is_not_counted() {
    let rig = Rig::new(
        count_window(10, 10, 50.0)
            .permitted_calls_in_half_open(2)
            .max_wait_in_half_open(5 * SEC),
    );
    rig.breaker.transition_to(BreakerState::HalfOpen);
    let late = rig.breaker.try_acquire_owned().unwrap();
    rig.clock.advance(5 * SEC - MS);
    let other = rig.breaker.try_acquire().unwrap();
    other.ignore();
    assert_eq!(rig.state(), BreakerState::HalfOpen);
    rig.clock.advance(MS);
    // The maximum wait is over: the next call finds the breaker open again.
    let err = rig.breaker.try_acquire().unwrap_err();
    assert!(matches!(err, Error::CircuitOpen { retry_after: Some(w), .. } if w == 10 * SEC));
    assert_eq!(rig.state(), BreakerState::Open);
    // A trial from the expired half-open period changes nothing, now or in the next one.
    rig.clock.advance(10 * SEC);
    let trial = rig.breaker.try_acquire().unwrap();
    late.success();
    assert_eq!(rig.state(), BreakerState::HalfOpen);
    assert_eq!(rig.breaker.metrics().buffered_calls, 0);
    trial.success();
    assert_eq!(rig.state(), BreakerState::HalfOpen);
    assert_eq!(rig.breaker.metrics().buffered_calls, 1);
}

#[test]
fn an_ignored_trial_frees_its_slot() {
    let rig = half_open_rig(1, 50.0);
    let trial = rig.breaker.try_acquire().unwrap();
    assert!(rig.breaker.try_acquire().is_err());
    trial.ignore();
    assert_eq!(rig.state(), BreakerState::HalfOpen);
    rig.ok();
    assert_eq!(rig.state(), BreakerState::Closed);
}

#[test]
fn a_call_admitted_while_closed_is_not_taken_for_a_trial() {
    let rig = Rig::new(count_window(2, 2, 50.0));
    let slow_call = rig.breaker.try_acquire_owned().unwrap();
    rig.trip();
    rig.clock.advance(10 * SEC);
    let trial = rig.breaker.try_acquire().unwrap();
    slow_call.failure();
    assert_eq!(rig.breaker.metrics().buffered_calls, 0);
    trial.success();
    // permitted_calls_in_half_open defaults to 10: nine more to go.
    assert_eq!(rig.breaker.metrics().buffered_calls, 1);
    assert_eq!(rig.state(), BreakerState::HalfOpen);
}

// ---- the cancellation rule: a permit dropped undecided counts as a failure ------------------

#[test]
fn a_dropped_trial_counts_as_a_failure_and_frees_its_slot() {
    for (threshold, expected) in [(50.0, BreakerState::Open), (60.0, BreakerState::Closed)] {
        let rig = half_open_rig(2, threshold);
        let cancelled = rig.breaker.try_acquire().unwrap();
        let kept = rig.breaker.try_acquire().unwrap();
        rig.clock.advance(MS);
        drop(cancelled);
        let m = rig.breaker.metrics();
        assert_eq!(
            (m.trial_calls_in_flight, m.failed_calls, m.cancelled_calls),
            (1, 1, 1)
        );
        assert_eq!(rig.count(|e| matches!(e, BreakerEventKind::Cancelled)), 1);
        kept.success();
        assert_eq!(rig.state(), expected, "threshold {threshold}");
    }
}

#[test]
fn a_dropped_permit_counts_as_a_failure_when_closed() {
    let rig = Rig::new(count_window(2, 2, 50.0));
    drop(rig.breaker.try_acquire().unwrap());
    let m = rig.breaker.metrics();
    assert_eq!((m.failed_calls, m.cancelled_calls), (1, 1));
    let owned = rig.breaker.try_acquire_owned().unwrap();
    drop(owned);
    assert_eq!(rig.state(), BreakerState::Open);
}

fn explode() -> Result<(), ()> {
    panic!("the call panicked")
}

#[test]
fn a_panicking_call_counts_as_a_failure() {
    let rig = half_open_rig(1, 50.0);
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ready(rig.breaker.call(async { explode() }))
    }));
    assert!(caught.is_err());
    assert_eq!(rig.state(), BreakerState::Open);
    assert_eq!(rig.breaker.metrics().cancelled_calls, 1);

    let rig = Rig::new(count_window(10, 10, 50.0));
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _permit = rig.breaker.try_acquire().unwrap();
        panic!("the caller panicked");
    }));
    assert!(caught.is_err());
    assert_eq!(rig.breaker.metrics().failed_calls, 1);
}

#[test]
fn a_cancelled_call_future_counts_as_a_failure() {
    let rig = half_open_rig(1, 50.0);
    {
        let mut call = Box::pin(rig.breaker.call(std::future::pending::<Result<(), ()>>()));
        let polled = call.as_mut().poll(&mut Context::from_waker(Waker::noop()));
        assert!(polled.is_pending());
        assert_eq!(rig.breaker.metrics().trial_calls_in_flight, 1);
    } // dropped: cancelled
    assert_eq!(rig.state(), BreakerState::Open);
    assert_eq!(rig.breaker.metrics().cancelled_calls, 1);

    // A call future dropped before its first poll has taken no permit.
    let rig = half_open_rig(1, 50.0);
    drop(rig.breaker.call(async { Ok::<(), ()>(()) }));
    assert_eq!(rig.state(), BreakerState::HalfOpen);
    assert_eq!(rig.breaker.metrics().trial_calls_in_flight, 0);
}

#[test]
fn ignored_calls_are_not_counted() {
    let rig = Rig::new(count_window(2, 2, 50.0));
    for _ in 0..5 {
        rig.call(Outcome::Ignored, MS);
    }
    assert_eq!(rig.breaker.metrics().buffered_calls, 0);
}

// ---- reset, and the control transitions -----------------------------------------------------

#[test]
fn reset_closes_and_forgets_everything() {
    let rig = Rig::new(
        count_window(2, 2, 50.0)
            .permitted_calls_in_half_open(1)
            .wait_in_open(SEC),
    );
    rig.trip();
    rig.clock.advance(SEC);
    rig.fail(); // the trial fails: reopened
    assert!(rig.breaker.try_acquire().is_err());
    rig.breaker.reset();
    assert_eq!(rig.state(), BreakerState::Closed);
    let m = rig.breaker.metrics();
    assert_eq!((m.buffered_calls, m.not_permitted_calls), (0, 0));
    assert_eq!(rig.count(|e| matches!(e, BreakerEventKind::Reset)), 1);
    // A trip after the reset waits the open wait again.
    rig.trip();
    assert!(matches!(
        rig.breaker.try_acquire(),
        Err(Error::CircuitOpen { retry_after: Some(w), .. }) if w == SEC
    ));
}

#[test]
fn every_control_transition_lands_in_its_state_with_one_event() {
    let states = [
        BreakerState::Closed,
        BreakerState::Open,
        BreakerState::HalfOpen,
    ];
    let go = |breaker: &CircuitBreaker, to: BreakerState| breaker.transition_to(to);
    for from in states {
        for to in states {
            let rig = Rig::new(count_window(2, 2, 50.0));
            go(&rig.breaker, from);
            rig.events.lock().unwrap().clear();
            go(&rig.breaker, to);
            assert_eq!(rig.state(), to);
            let expected = if from == to { vec![] } else { vec![(from, to)] };
            assert_eq!(rig.transitions(), expected, "{from} -> {to}");
            // What each state admits.
            let admitted = rig.breaker.try_acquire().map(|p| p.ignore());
            match to {
                BreakerState::Closed | BreakerState::HalfOpen => {
                    assert!(admitted.is_ok(), "{to} admits");
                }
                BreakerState::Open => {
                    assert!(admitted.is_err_and(|e| is_open_error(&e)), "{to} refuses");
                }
            }
        }
    }
}

#[test]
fn the_full_cycle_emits_its_events_in_order() {
    let rig = Rig::new(count_window(2, 2, 50.0).permitted_calls_in_half_open(1));
    rig.trip();
    assert!(rig.breaker.try_acquire().is_err());
    rig.clock.advance(10 * SEC);
    rig.ok();
    let events = rig.events.lock().unwrap().clone();
    assert_eq!(
        events,
        [
            BreakerEventKind::FailureRateExceeded { rate: 100.0 },
            BreakerEventKind::Transition {
                from: BreakerState::Closed,
                to: BreakerState::Open
            },
            BreakerEventKind::Rejected {
                state: BreakerState::Open
            },
            BreakerEventKind::Transition {
                from: BreakerState::Open,
                to: BreakerState::HalfOpen
            },
            BreakerEventKind::Transition {
                from: BreakerState::HalfOpen,
                to: BreakerState::Closed
            },
        ]
    );
}

#[test]
fn a_listener_may_call_back_into_the_breaker() {
    let rig = Rig::new(count_window(1, 1, 50.0));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (breaker, sink) = (rig.breaker.clone(), seen.clone());
    rig.breaker.add_listener(Arc::new(move |e: &BreakerEvent| {
        // Would deadlock if events were delivered under the breaker's lock.
        sink.lock()
            .unwrap()
            .push((e.name.to_string(), breaker.metrics().state));
    }));
    rig.fail();
    let seen = seen.lock().unwrap();
    assert!(seen.contains(&("venue".to_owned(), BreakerState::Open)));
}

// ---- the async API ---------------------------------------------------------------------------

#[test]
fn call_counts_every_err_as_a_failure() {
    let rig = Rig::new(count_window(10, 10, 50.0));
    assert_eq!(
        ready(rig.breaker.call(async { Ok::<_, &str>(200) })),
        Ok(200)
    );
    let err = ready(rig.breaker.call(async { Err::<(), _>("boom") })).unwrap_err();
    assert_eq!(err, CallError::Inner("boom"));
    let m = rig.breaker.metrics();
    assert_eq!((m.buffered_calls, m.failed_calls), (2, 1));
}

#[test]
fn a_refused_call_is_never_polled() {
    let rig = Rig::new(count_window(2, 2, 50.0));
    rig.breaker.transition_to(BreakerState::Open);
    let polled = Arc::new(Mutex::new(false));
    let flag = polled.clone();
    let result = ready(rig.breaker.call(async move {
        *flag.lock().unwrap() = true;
        Ok::<(), ()>(())
    }));
    assert!(result.unwrap_err().is_rejected());
    assert!(!*polled.lock().unwrap());
}

#[test]
fn a_call_timeout_counts_as_a_failure() {
    let clock = Arc::new(ManualClock::new());
    let sleep = Arc::new(ManualSleep::new(clock.clone()));
    let config = count_window(2, 2, 50.0)
        .call_timeout(2 * SEC)
        .clock(clock.clone())
        .sleep(sleep.clone())
        .build()
        .unwrap();
    let breaker = CircuitBreaker::new("venue", config);
    // A ready call is never timed: no timer is even made.
    assert_eq!(ready(breaker.call(async { Ok::<_, ()>(7) })), Ok(7));
    assert!(sleep.slept().is_empty());
    // A call that never ends times out after 2 s, a failure.
    let result = ready(breaker.call(std::future::pending::<Result<(), String>>()));
    assert_eq!(result, Err(CallError::Timeout(2 * SEC)));
    assert_eq!(
        result.unwrap_err().to_string(),
        "the call timed out after 2s"
    );
    assert_eq!(sleep.slept(), [2 * SEC]);
    let m = breaker.metrics();
    assert_eq!((m.buffered_calls, m.failed_calls), (2, 1));
    assert_eq!(breaker.state(), BreakerState::Open);
}
