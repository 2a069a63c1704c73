//! Latency of one replay decision: the in-process `ShardedReplayCache` against the shared
//! `RedisReplayCache` over loopback (one Lua script round trip to a local redis-server), each
//! asked through `check_and_insert_shared` as `Verifier::verify_async` asks it. Criterion
//! reports the mean; every decision is also timed alone, and the p50 and p99 are printed and
//! written as a note for docs/BENCHMARKS.md. Skipped, with a line, when there is no
//! redis-server.
#![allow(missing_docs)] // reason: criterion's macros generate undocumented items
#![allow(clippy::unwrap_used)] // reason: a benchmark has nowhere to report an error

#[path = "../../../tests/support/redis_server.rs"]
mod redis_server;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use keyward_signing::redis::RedisReplayCache;
use keyward_signing::verify::{ReplayCache, ReplayEntry, ShardedReplayCache};

#[path = "../../../tests/support/bench_note.rs"]
mod bench_note;
use bench_note::note;

const T0: u64 = 1_700_000_000_000;

/// The sample at quantile `q` of `samples` (sorted here).
fn quantile(samples: &mut [Duration], q: f64) -> Duration {
    samples.sort_unstable();
    let index = ((samples.len() as f64 - 1.0) * q).round() as usize;
    samples[index]
}

/// Times `iters` decisions of `cache` one by one (each a new request), keeping every sample.
fn decisions(
    runtime: &tokio::runtime::Runtime,
    cache: &Arc<dyn ReplayCache>,
    next_id: &Mutex<u128>,
    samples: &Mutex<Vec<Duration>>,
    iters: u64,
) -> Duration {
    runtime.block_on(async {
        let mut total = Duration::ZERO;
        let mut taken = Vec::with_capacity(iters as usize);
        for _ in 0..iters {
            let (n, id) = {
                let mut next = next_id.lock().unwrap();
                *next += 1;
                (
                    *next,
                    next.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835),
                )
            };
            // Time moves 1 ms every 100 decisions and each entry lives 1 s, so at most
            // 100,000 entries are live however many iterations criterion asks for.
            let now = T0 + u64::try_from(n / 100).unwrap_or(u64::MAX / 2);
            let entry = ReplayEntry {
                id,
                valid_from_ms: now - 5_000,
                expires_at_ms: now + 1_000,
                now_ms: now,
            };
            let start = Instant::now();
            cache.check_and_insert_shared(entry).await.unwrap();
            let took = start.elapsed();
            total += took;
            taken.push(took);
        }
        samples.lock().unwrap().extend(taken);
        total
    })
}

fn bench(c: &mut Criterion) {
    let Some(server) = redis_server::RedisServer::start() else {
        println!("redis_replay: skipped, no redis-server");
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let conn = runtime.block_on(async {
        redis::Client::open(server.url())
            .unwrap()
            .get_connection_manager()
            .await
            .unwrap()
    });
    let caches: [(&str, Arc<dyn ReplayCache>); 2] = [
        ("in_process", Arc::new(ShardedReplayCache::new(8_000_000))),
        (
            "redis_loopback",
            Arc::new(RedisReplayCache::new(conn, "bench")),
        ),
    ];
    let mut group = c.benchmark_group("replay_decision");
    let mut lines = Vec::new();
    for (name, cache) in &caches {
        let next_id = Mutex::new(0u128);
        let samples = Mutex::new(Vec::new());
        group.bench_function(*name, |b| {
            b.iter_custom(|iters| decisions(&runtime, cache, &next_id, &samples, iters));
        });
        let mut samples = samples.into_inner().unwrap();
        if samples.is_empty() {
            continue;
        }
        let p50 = quantile(&mut samples, 0.50);
        let p99 = quantile(&mut samples, 0.99);
        let line = format!(
            "replay_decision/{name}: p50 {p50:?}, p99 {p99:?} over {} decisions",
            samples.len()
        );
        println!("{line}");
        lines.push(line);
    }
    group.finish();
    note(
        "redis_replay",
        &format!(
            "Replay decision latency, one decision at a time (redis-server on 127.0.0.1):\n{}\n",
            lines
                .iter()
                .map(|l| format!("- {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        ),
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
