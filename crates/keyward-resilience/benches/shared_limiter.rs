//! Decision latency of the shared rate budget (one Lua script over loopback to a real
//! redis-server) against the in-process `RateLimiter::check`, on a quota far from its limit so
//! every decision is the allow path. Each decision is timed alone (`iter_custom`), and the
//! p50/p99 of all samples are printed as a note. Skipped, with a line, without redis-server.
#![allow(missing_docs)] // reason: criterion's macros generate undocumented items
#![allow(clippy::unwrap_used)] // reason: a benchmark has nowhere to report an error

#[path = "../../../tests/support/redis_server.rs"]
mod redis_server;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use keyward_resilience::MonotonicClock;
use keyward_resilience::limiter::{Limit, RateLimiter};
use keyward_resilience::redis::SharedLimiter;

#[path = "../../../tests/support/bench_note.rs"]
mod bench_note;
use bench_note::note;

const CAPACITY: u32 = 1_000_000_000;
/// The most samples kept per benchmark (the percentiles need no more, and the in-process one
/// runs tens of millions of iterations).
const MAX_SAMPLES: usize = 2_000_000;

fn limits() -> Vec<Limit> {
    vec![
        Limit::new("weight/1m", "weight", CAPACITY, Duration::from_secs(60)),
        Limit::new("orders/10s", "orders", CAPACITY, Duration::from_secs(10)),
    ]
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// p50 and p99 of `samples`, sorted here; None without samples.
fn p50_p99(samples: &Mutex<Vec<Duration>>) -> Option<(Duration, Duration, usize)> {
    let mut s = samples.lock().unwrap().clone();
    if s.is_empty() {
        return None;
    }
    s.sort();
    Some((percentile(&s, 0.50), percentile(&s, 0.99), s.len()))
}

/// The note for `cargo xtask bench`: both rows' percentiles and what Redis adds.
fn report(local: &Mutex<Vec<Duration>>, redis: Option<&Mutex<Vec<Duration>>>) {
    let Some((l50, l99, ln)) = p50_p99(local) else {
        return;
    };
    let text = match redis.and_then(p50_p99) {
        Some((r50, r99, rn)) => format!(
            "shared rate budget, one decision (`rate_decision`): in-process `RateLimiter::check` \
             p50 {l50:?}, p99 {l99:?} ({ln} decisions); `SharedLimiter` in Redis over loopback \
             p50 {r50:?}, p99 {r99:?} ({rn} decisions): added per decision p50 {:?}, p99 {:?}",
            r50.saturating_sub(l50),
            r99.saturating_sub(l99)
        ),
        None => format!(
            "shared rate budget (`rate_decision`): in-process p50 {l50:?}, p99 {l99:?} ({ln} \
             decisions); the Redis row was skipped: no redis-server"
        ),
    };
    println!("note: {text}");
    note("rate_decision", &text);
}

fn shared_limiter(c: &mut Criterion) {
    let order = [("weight", 1), ("orders", 1)];
    let local_samples = Arc::new(Mutex::new(Vec::new()));
    let local = RateLimiter::new(limits(), Arc::new(MonotonicClock::new())).unwrap();
    let key = "api-key".to_owned();
    let mut group = c.benchmark_group("rate_decision");
    {
        let samples = local_samples.clone();
        group.bench_function("in_process", |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut s = samples.lock().unwrap();
                for _ in 0..iters {
                    let start = Instant::now();
                    local.check(&key, &order).unwrap();
                    let d = start.elapsed();
                    total += d;
                    if s.len() < MAX_SAMPLES {
                        s.push(d);
                    }
                }
                total
            });
        });
    }
    let Some(server) = redis_server::RedisServer::start() else {
        group.finish();
        report(&local_samples, None);
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let conn = rt.block_on(async {
        redis::Client::open(server.url())
            .unwrap()
            .get_connection_manager()
            .await
            .unwrap()
    });
    // Redis's own TIME, as in production.
    let shared = SharedLimiter::builder(conn, "bench", limits())
        .build()
        .unwrap();
    let redis_samples = Arc::new(Mutex::new(Vec::new()));
    {
        let samples = redis_samples.clone();
        group.bench_function("redis_loopback", |b| {
            b.iter_custom(|iters| {
                let taken = rt.block_on(async {
                    let mut taken = Vec::with_capacity(usize::try_from(iters).unwrap_or(0));
                    for _ in 0..iters {
                        let start = Instant::now();
                        shared.check("binance:ip:bench", &order).await.unwrap();
                        taken.push(start.elapsed());
                    }
                    taken
                });
                let mut s = samples.lock().unwrap();
                let room = MAX_SAMPLES.saturating_sub(s.len());
                s.extend(taken.iter().take(room));
                taken.iter().sum()
            });
        });
    }
    group.finish();
    assert!(
        !shared.is_degraded(),
        "Redis went away during the benchmark"
    );
    report(&local_samples, Some(&redis_samples));
    drop(server);
}

criterion_group!(benches, shared_limiter);
criterion_main!(benches);
