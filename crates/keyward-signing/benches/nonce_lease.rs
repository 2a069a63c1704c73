//! Nonce sources: what a shared Redis sequence adds over the in-process ones, per nonce (leases
//! of 1000, so mostly no I/O) and per lease (leases of 1: every nonce a lease), against a
//! redis-server of the benchmark's own on 127.0.0.1. Criterion measures the means; the
//! percentiles (p50 and p99 of single calls) go into a note for docs/BENCHMARKS.md. Without a
//! redis-server only the in-process rows run, and the note says so.
#![allow(missing_docs)] // reason: criterion's macros generate undocumented items
#![allow(clippy::unwrap_used)] // reason: a benchmark has nowhere to report an error

#[path = "../../../tests/support/redis_server.rs"]
mod redis_server;

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use keyward_signing::redis::RedisNonce;
use keyward_signing::{FileNonce, MonotonicNonce, NonceSource, NonceUnit, SystemClock};
use tokio::runtime::Runtime;

#[path = "../../../tests/support/bench_note.rs"]
mod bench_note;
use bench_note::note;

/// p50 and p99 of `samples` single calls of `call`, after a warm-up.
fn percentiles(samples: usize, mut call: impl FnMut()) -> (Duration, Duration) {
    for _ in 0..samples / 10 {
        call();
    }
    let mut times: Vec<Duration> = (0..samples)
        .map(|_| {
            let start = Instant::now();
            call();
            start.elapsed()
        })
        .collect();
    times.sort_unstable();
    (times[samples / 2], times[samples * 99 / 100])
}

fn fmt(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns < 1_000 {
        format!("{ns} ns")
    } else if ns < 1_000_000 {
        format!("{:.1} µs", ns as f64 / 1e3)
    } else {
        format!("{:.2} ms", ns as f64 / 1e6)
    }
}

fn redis_source(
    runtime: &Runtime,
    url: &str,
    key: &str,
    lease: u64,
    floor: Option<&Path>,
) -> RedisNonce {
    let conn = runtime.block_on(async {
        redis::Client::open(url)
            .unwrap()
            .get_connection_manager()
            .await
            .unwrap()
    });
    let source = RedisNonce::new(conn, "bench", key, NonceUnit::Millis, Arc::new(SystemClock))
        .with_lease(lease);
    match floor {
        Some(path) => source.with_floor_file(path).unwrap(),
        None => source,
    }
}

fn nonces(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let monotonic = MonotonicNonce::new(Arc::new(SystemClock));
    let file_1000 = FileNonce::open(
        dir.path().join("f1000"),
        NonceUnit::Millis,
        Arc::new(SystemClock),
    )
    .unwrap();
    let file_1 = FileNonce::open(
        dir.path().join("f1"),
        NonceUnit::Millis,
        Arc::new(SystemClock),
    )
    .unwrap()
    .with_block(1);

    let mut rows: Vec<(String, (Duration, Duration))> = vec![
        (
            "MonotonicNonce".into(),
            percentiles(100_000, || {
                black_box(monotonic.next_nonce().unwrap());
            }),
        ),
        (
            "FileNonce, block 1000".into(),
            percentiles(100_000, || {
                black_box(file_1000.next_nonce().unwrap());
            }),
        ),
        (
            "FileNonce, block 1 (a lease per nonce: lock + fsync)".into(),
            percentiles(2_000, || {
                black_box(file_1.next_nonce().unwrap());
            }),
        ),
    ];

    let mut per_nonce = c.benchmark_group("nonce_per_nonce");
    per_nonce.bench_function("monotonic", |b| {
        b.iter(|| black_box(monotonic.next_nonce().unwrap()))
    });
    per_nonce.bench_function("file_block_1000", |b| {
        b.iter(|| black_box(file_1000.next_nonce().unwrap()))
    });

    let server = redis_server::RedisServer::start();
    let Some(server) = server else {
        per_nonce.finish();
        note(
            "nonce-leases",
            "nonce leases on Redis: skipped (no redis-server on this machine)",
        );
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = server.url();
    let redis_1000 = redis_source(
        &runtime,
        &url,
        "per-nonce",
        1000,
        Some(&dir.path().join("r1000")),
    );
    let redis_1 = redis_source(&runtime, &url, "per-lease", 1, None);
    let redis_1_floor = redis_source(
        &runtime,
        &url,
        "per-lease-floor",
        1,
        Some(&dir.path().join("r1")),
    );
    per_nonce.bench_function("redis_lease_1000_floor_file", |b| {
        b.iter(|| black_box(runtime.block_on(redis_1000.next_nonce_async()).unwrap()))
    });
    per_nonce.finish();

    let mut per_lease = c.benchmark_group("nonce_per_lease");
    per_lease.sample_size(20);
    per_lease.bench_function("file_block_1", |b| {
        b.iter(|| black_box(file_1.next_nonce().unwrap()))
    });
    per_lease.bench_function("redis_lease_1", |b| {
        b.iter(|| black_box(runtime.block_on(redis_1.next_nonce_async()).unwrap()))
    });
    per_lease.bench_function("redis_lease_1_floor_file", |b| {
        b.iter(|| black_box(runtime.block_on(redis_1_floor.next_nonce_async()).unwrap()))
    });
    per_lease.finish();

    rows.push((
        "RedisNonce, lease 1000, floor file".into(),
        percentiles(100_000, || {
            black_box(runtime.block_on(redis_1000.next_nonce_async()).unwrap());
        }),
    ));
    rows.push((
        "RedisNonce, lease 1 (a round trip per nonce)".into(),
        percentiles(20_000, || {
            black_box(runtime.block_on(redis_1.next_nonce_async()).unwrap());
        }),
    ));
    rows.push((
        "RedisNonce, lease 1, floor file (round trip + lock + fsync)".into(),
        percentiles(2_000, || {
            black_box(runtime.block_on(redis_1_floor.next_nonce_async()).unwrap());
        }),
    ));
    let text = rows
        .iter()
        .map(|(name, (p50, p99))| format!("{name} p50 {} p99 {}", fmt(*p50), fmt(*p99)))
        .collect::<Vec<_>>()
        .join("; ");
    note(
        "nonce-leases",
        &format!("nonce sources, single calls over loopback Redis: {text}"),
    );
    eprintln!("{text}");
}

criterion_group!(benches, nonces);
criterion_main!(benches);
