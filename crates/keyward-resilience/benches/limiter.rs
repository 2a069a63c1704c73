//! A limiter check against a bare governor check of the same quota, both keyed and both on a
//! quota far from its limit, so each call is the allow path. Target: at most 1.5 times.
#![allow(missing_docs)] // reason: criterion's macros generate undocumented items
#![allow(clippy::unwrap_used)] // reason: a benchmark has nowhere to report an error

use std::hint::black_box;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use governor::{Quota, RateLimiter as Governor};
use keyward_resilience::MonotonicClock;
use keyward_resilience::limiter::{Limit, RateLimiter};

const CAPACITY: u32 = 1_000_000_000;

fn limiter(c: &mut Criterion) {
    let key = "api-key".to_owned();
    let ours = RateLimiter::new(
        [Limit::new(
            "weight/1s",
            "weight",
            CAPACITY,
            Duration::from_secs(1),
        )],
        Arc::new(MonotonicClock::new()),
    )
    .unwrap();
    let quota = Quota::with_period(Duration::from_secs(1) / CAPACITY)
        .unwrap()
        .allow_burst(NonZeroU32::new(CAPACITY).unwrap());
    let bare = Governor::hashmap(quota);
    let one = NonZeroU32::new(1).unwrap();

    let mut group = c.benchmark_group("limiter_check");
    group.bench_function("keyward", |b| {
        b.iter(|| ours.check(black_box(&key), &[("weight", 1)]))
    });
    group.bench_function("bare_governor", |b| {
        b.iter(|| bare.check_key_n(black_box(&key), one))
    });
    group.finish();
}

criterion_group!(benches, limiter);
criterion_main!(benches);
