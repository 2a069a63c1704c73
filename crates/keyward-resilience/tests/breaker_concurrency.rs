//! 1,000 concurrent calls against a half-open breaker, a random half of them cancelled: never
//! more than N trials are admitted at once, and the breaker always leaves half-open.
//!
//! Progress is driven by channels, never by sleeping: each admitted trial reports in and then
//! waits on its own gate; the test cancels a seeded random half of the tasks (aborting them
//! drops their call futures, and so their permits) and opens the gates of the others.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use keyward_resilience::breaker::{BreakerConfig, BreakerState, CallError, CircuitBreaker};
use keyward_resilience::{Error, ManualClock};
use tokio::sync::{mpsc, oneshot, watch};

const TASKS: usize = 1_000;
const PERMITTED: u32 = 10;
const THRESHOLD: f64 = 50.0;
const ROUNDS: u64 = 200;

/// xorshift64: a tiny deterministic generator, so each round's choices follow from its seed.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }

    /// A random half of `0..n` (Fisher-Yates, first half).
    fn half_of(&mut self, n: usize) -> HashSet<usize> {
        let mut all: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            all.swap(i, j);
        }
        all.truncate(n / 2);
        all.into_iter().collect()
    }
}

/// A half-open breaker on a clock that never moves: once open it stays open.
fn half_open_breaker() -> CircuitBreaker {
    let config = BreakerConfig::builder()
        .permitted_calls_in_half_open(PERMITTED)
        .failure_rate_threshold(THRESHOLD)
        .clock(Arc::new(ManualClock::new()))
        .build()
        .unwrap();
    let breaker = CircuitBreaker::new("venue", config);
    breaker.transition_to(BreakerState::HalfOpen);
    breaker
}

/// Counts the trials running inside the breaker, and the most at once.
#[derive(Default)]
struct Gauge {
    now: AtomicUsize,
    max: AtomicUsize,
}

impl Gauge {
    fn enter(self: &Arc<Self>) -> Entered {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
        Entered(self.clone())
    }
}

/// Leaves the gauge when dropped: on completion and on cancellation alike. It is dropped before
/// the permit is decided, so the gauge never counts more than the breaker admits.
struct Entered(Arc<Gauge>);

impl Drop for Entered {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Every task tries once; the admitted ones wait at their gates until all 1,000 have tried.
/// Then a random half of the tasks is aborted and the others' gates open with a random outcome.
/// The decision is known in advance: a cancelled trial counts as a failure.
async fn gated_round(seed: u64) {
    let mut rng = XorShift::new(seed);
    let breaker = half_open_breaker();
    let gauge = Arc::new(Gauge::default());
    let (report, mut reports) = mpsc::unbounded_channel::<(usize, bool)>();
    let mut gates = Vec::with_capacity(TASKS);
    let mut tasks = Vec::with_capacity(TASKS);
    for i in 0..TASKS {
        let (open, gate) = oneshot::channel::<bool>();
        gates.push(Some(open));
        let (breaker, gauge, report) = (breaker.clone(), gauge.clone(), report.clone());
        tasks.push(tokio::spawn(async move {
            let inner_report = report.clone();
            let result = breaker
                .call(async move {
                    let _entered = gauge.enter();
                    inner_report.send((i, true)).unwrap();
                    // A closed gate (its sender dropped) would read as a failure; the test
                    // keeps every sender alive until the round ends.
                    if gate.await.unwrap_or(false) {
                        Ok(())
                    } else {
                        Err("trial failed")
                    }
                })
                .await;
            match result {
                Err(CallError::Rejected(Error::HalfOpenBusy { .. })) => {
                    report.send((i, false)).unwrap();
                }
                Err(CallError::Rejected(other)) => panic!("unexpected refusal: {other}"),
                _ => {}
            }
        }));
    }
    drop(report);

    let mut admitted = HashSet::new();
    for _ in 0..TASKS {
        let (i, was_admitted) = reports.recv().await.unwrap();
        if was_admitted {
            admitted.insert(i);
        }
    }
    // All 1,000 have tried and none has finished a trial: exactly N are in.
    assert_eq!(admitted.len(), PERMITTED as usize, "seed {seed}");
    assert_eq!(
        breaker.metrics().trial_calls_in_flight,
        PERMITTED,
        "seed {seed}"
    );
    assert_eq!(breaker.state(), BreakerState::HalfOpen);

    let cancelled = rng.half_of(TASKS);
    let mut failures = 0;
    for (i, task) in tasks.iter().enumerate() {
        if cancelled.contains(&i) {
            task.abort();
            failures += usize::from(admitted.contains(&i));
        }
    }
    let mut kept_open = Vec::new();
    for (i, gate) in gates.iter_mut().enumerate() {
        let gate = gate.take().unwrap();
        if cancelled.contains(&i) {
            kept_open.push(gate); // its task is being aborted; don't wake it
        } else {
            let success = rng.coin();
            failures += usize::from(admitted.contains(&i) && !success);
            let _ = gate.send(success);
        }
    }
    for task in tasks {
        let _ = task.await;
    }
    drop(kept_open);

    assert!(
        gauge.max.load(Ordering::SeqCst) <= PERMITTED as usize,
        "seed {seed}"
    );
    let expected = if failures as f64 * 100.0 >= THRESHOLD * f64::from(PERMITTED) {
        BreakerState::Open
    } else {
        BreakerState::Closed
    };
    assert_eq!(
        breaker.state(),
        expected,
        "seed {seed}: {failures} failures"
    );
    let m = breaker.metrics();
    assert_eq!(m.trial_calls_in_flight, 0, "seed {seed}");
    let cancelled_trials = admitted.intersection(&cancelled).count() as u64;
    assert_eq!(m.cancelled_calls, cancelled_trials, "seed {seed}");
}

/// The cancellations race the admissions: every task waits at a start line with its outcome
/// already decided; the start line opens and a random half of the tasks is aborted at once,
/// wherever each one is (not yet started, holding a permit, or done). Uses the permit API so
/// that only half-open trials are gauged. Returns how many trials were cancelled holding their
/// permit.
async fn racing_round(seed: u64) -> u64 {
    let mut rng = XorShift::new(seed);
    let breaker = half_open_breaker();
    let gauge = Arc::new(Gauge::default());
    let (start, start_line) = watch::channel(false);
    let mut tasks = Vec::with_capacity(TASKS);
    for _ in 0..TASKS {
        let success = rng.coin();
        let (breaker, gauge, mut start_line) = (breaker.clone(), gauge.clone(), start_line.clone());
        tasks.push(tokio::spawn(async move {
            start_line.wait_for(|started| *started).await.unwrap();
            let Ok(permit) = breaker.try_acquire_owned() else {
                return;
            };
            let entered = permit.is_trial().then(|| gauge.enter());
            // Points where an abort can land while the permit is held.
            for _ in 0..3 {
                tokio::task::yield_now().await;
            }
            drop(entered);
            if success {
                permit.success();
            } else {
                permit.failure();
            }
        }));
    }
    let cancelled = rng.half_of(TASKS);
    start.send(true).unwrap();
    for (i, task) in tasks.iter().enumerate() {
        if cancelled.contains(&i) {
            task.abort();
        }
    }
    for task in tasks {
        let _ = task.await;
    }
    assert!(
        gauge.max.load(Ordering::SeqCst) <= PERMITTED as usize,
        "seed {seed}"
    );
    let state = breaker.state();
    assert!(
        matches!(state, BreakerState::Open | BreakerState::Closed),
        "seed {seed}: still {state}"
    );
    let m = breaker.metrics();
    assert_eq!(m.trial_calls_in_flight, 0, "seed {seed}");
    m.cancelled_calls
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_trials_with_half_cancelled_after_admission() {
    for seed in 1..=ROUNDS {
        gated_round(seed).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_trials_with_half_cancelled_while_they_are_admitted() {
    let mut cancelled_holding = 0;
    for seed in 1..=ROUNDS {
        cancelled_holding += racing_round(seed).await;
    }
    eprintln!("{cancelled_holding} calls cancelled while holding a permit over {ROUNDS} rounds");
}

#[test]
fn the_round_helpers_are_deterministic() {
    let a = XorShift::new(7).half_of(TASKS);
    let b = XorShift::new(7).half_of(TASKS);
    assert_eq!(a, b);
    assert_eq!(a.len(), TASKS / 2);
    assert_ne!(a, XorShift::new(8).half_of(TASKS));
}

/// Clean successes skip the lock while the window is full and clean; failures racing with them
/// from other threads must still be counted, and the window must end consistent.
#[test]
fn lock_free_successes_racing_with_failures_keep_the_window_consistent() {
    use keyward_resilience::breaker::{Outcome, SlidingWindow};
    let config = BreakerConfig::builder()
        .sliding_window(SlidingWindow::CountBased { size: 100 })
        .minimum_calls(100)
        .failure_rate_threshold(THRESHOLD)
        .clock(Arc::new(ManualClock::new()))
        .build()
        .unwrap();
    let breaker = CircuitBreaker::new("race", config);
    for _ in 0..100 {
        breaker.try_acquire().unwrap().success();
    }
    std::thread::scope(|s| {
        for t in 0..4 {
            let breaker = &breaker;
            s.spawn(move || {
                for i in 0..20_000 {
                    // One thread in four fails one call in fifty: far below the threshold.
                    let outcome = if t == 0 && i % 50 == 0 {
                        Outcome::Failure
                    } else {
                        Outcome::Success
                    };
                    breaker.try_acquire().unwrap().record(outcome);
                }
            });
        }
    });
    assert_eq!(breaker.state(), BreakerState::Closed);
    let m = breaker.metrics();
    assert_eq!(m.buffered_calls, 100);
    assert!(m.failed_calls <= 100);
    // A burst of failures in a row trips it exactly at the threshold, as without the fast path.
    for _ in 0..100 {
        breaker.try_acquire().unwrap().success();
    }
    assert_eq!(breaker.metrics().failed_calls, 0);
    for _ in 0..49 {
        breaker.try_acquire().unwrap().failure();
    }
    assert_eq!(breaker.state(), BreakerState::Closed);
    breaker.try_acquire().unwrap().failure();
    assert_eq!(breaker.state(), BreakerState::Open);
}
