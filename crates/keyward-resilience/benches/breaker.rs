//! The circuit breaker's overhead per call in the closed state: `try_acquire()` + `success()`,
//! and `call` on a ready future, against doing nothing. The target: at most 50 ns per call.
//!
//! The closed state with a count-based window reads no clock (the breaker does not time calls),
//! so the rows run on the default configuration; `two_clock_reads` shows what a reading of the
//! system's monotonic clock would add (`clock_gettime`, 25 to 70 ns a reading on a VM).
#![allow(missing_docs)] // reason: criterion's macros generate undocumented items

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use keyward_resilience::breaker::{BreakerConfig, CircuitBreaker};
use keyward_resilience::{Monotonic, MonotonicClock};

/// A closed breaker with resilience4j's defaults (a 100-call window, judged on every call once
/// 100 calls are in).
fn breaker() -> CircuitBreaker {
    CircuitBreaker::new("bench", BreakerConfig::default())
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

    let breaker = breaker();
    group.bench_function("permit_success", |b| {
        b.iter(|| {
            if let Ok(permit) = black_box(&breaker).try_acquire() {
                permit.success();
            }
        })
    });
    group.bench_function("call_ready", |b| {
        b.iter(|| {
            let call = black_box(&breaker).call(async { Ok::<u64, ()>(black_box(1)) });
            matches!(poll_ready(call), Some(Ok(_)))
        })
    });
    let clock: Arc<dyn Monotonic> = Arc::new(MonotonicClock::new());
    group.bench_function("two_clock_reads", |b| {
        b.iter(|| (black_box(&clock).now(), black_box(&clock).now()))
    });
    group.finish();
}

criterion_group!(benches, closed_overhead);
criterion_main!(benches);
