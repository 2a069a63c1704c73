//! The circuit breaker's overhead per call in the closed state: `try_acquire()` + `success()`,
//! and `call` on a ready future, against doing nothing. The target: at most 50 ns per call.
//!
//! Every call reads the clock twice (at admission and at the result: slow-call detection), so
//! the same rows run on the breaker's default `CoarseClock` (one atomic load, refreshed every
//! millisecond), on the system's monotonic clock (`clock_gettime`, 25 to 60 ns a reading on a
//! VM) and on a manual clock, and a row times the two clock reads alone.
#![allow(missing_docs)] // reason: criterion's macros generate undocumented items

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use keyward_resilience::breaker::{BreakerConfig, CircuitBreaker};
use keyward_resilience::{Clock, CoarseClock, ManualClock, MonotonicClock};

/// A closed breaker with resilience4j's defaults (a 100-call window, judged on every call once
/// 100 calls are in) on `clock`.
fn breaker(clock: Arc<dyn Clock>) -> CircuitBreaker {
    #[allow(clippy::unwrap_used)] // reason: a benchmark has nowhere to report an error
    let config = BreakerConfig::builder().clock(clock).build().unwrap();
    CircuitBreaker::new("bench", config)
}

/// Polls a future that is ready at once.
fn poll_ready<F: Future>(future: F) -> Option<F::Output> {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}

fn closed_overhead(c: &mut Criterion) {
    let mut group = c.benchmark_group("breaker_closed");
    // Nanosecond timings on a shared 2-core VM drift between runs; longer samples keep the rows
    // comparable.
    group.measurement_time(Duration::from_secs(8));
    group.sample_size(200);

    group.bench_function("nothing", |b| b.iter(|| black_box(1u64)));
    // What `call_ready` costs without a breaker: making and polling the ready future.
    group.bench_function("ready_future_alone", |b| {
        b.iter(|| {
            let call = async { Ok::<u64, ()>(black_box(1)) };
            matches!(poll_ready(call), Some(Ok(_)))
        })
    });

    for (clock_name, clock) in [
        ("coarse", Arc::new(CoarseClock::new()) as Arc<dyn Clock>),
        (
            "monotonic",
            Arc::new(MonotonicClock::new()) as Arc<dyn Clock>,
        ),
        ("manual", Arc::new(ManualClock::new()) as Arc<dyn Clock>),
    ] {
        let breaker = breaker(clock.clone());
        group.bench_function(format!("permit_success/{clock_name}"), |b| {
            b.iter(|| {
                if let Ok(permit) = black_box(&breaker).try_acquire() {
                    permit.success();
                }
            })
        });
        group.bench_function(format!("call_ready/{clock_name}"), |b| {
            b.iter(|| {
                let call = black_box(&breaker).call(async { Ok::<u64, ()>(black_box(1)) });
                matches!(poll_ready(call), Some(Ok(_)))
            })
        });
        group.bench_function(format!("two_clock_reads/{clock_name}"), |b| {
            b.iter(|| (black_box(&clock).now(), black_box(&clock).now()))
        });
    }
    group.finish();
}

criterion_group!(benches, closed_overhead);
criterion_main!(benches);
