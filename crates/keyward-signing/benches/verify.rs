//! Verification with a warm replay cache holding 1,000,000 entries: verifications per second on
//! one core (criterion's throughput, one element per verification) and bytes per cache entry
//! (written as a note for docs/BENCHMARKS.md).
#![allow(missing_docs)] // reason: criterion's macros generate undocumented items
#![allow(clippy::unwrap_used)] // reason: a benchmark has nowhere to report an error

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use keyward_signing::verify::{ReplayCache, ShardedReplayCache, StaticKeys, Verifier};
use keyward_signing::{Credentials, FixedClock, Request, Scheme, SignOptions, Signer};

#[path = "../../../tests/support/bench_note.rs"]
mod bench_note;
use bench_note::{metric, note};

const T0: u64 = 1_700_000_000_000;
const WARM: u64 = 1_000_000;

/// A cache holding `WARM` live entries, with room for what the benchmark adds.
fn warm_cache() -> Arc<ShardedReplayCache> {
    let cache = Arc::new(ShardedReplayCache::new(8_000_000));
    for i in 0..WARM {
        let id = u128::from(i).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835);
        cache.check_and_insert(id, T0 + 300_000, T0).unwrap();
    }
    cache
}

/// The process's resident memory in bytes (`VmRSS` in /proc/self/status; 0 where there is none).
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kib| kib * 1024)
}

fn verify(c: &mut Criterion) {
    let before = rss_bytes();
    let cache = warm_cache();
    let after = rss_bytes();
    let bytes_per_entry = cache.approx_bytes() as f64 / cache.len() as f64;
    let process_per_entry = after.saturating_sub(before) as f64 / cache.len() as f64;
    note(
        "replay-cache",
        &format!(
            "replay cache: {} live entries; {bytes_per_entry:.1} bytes per entry by the cache's own count ({:.1} MiB: tables and bucket lists at their capacities), {process_per_entry:.1} bytes per entry by process memory (resident set before and after filling)",
            cache.len(),
            cache.approx_bytes() as f64 / (1024.0 * 1024.0)
        ),
    );
    // The ratio table of docs/BENCHMARKS.md reads these (xtask/src/bench_ratios.rs).
    metric(
        "replay_cache_process_bytes_per_entry",
        process_per_entry,
        "bytes",
    );
    metric(
        "replay_cache_counted_bytes_per_entry",
        bytes_per_entry,
        "bytes",
    );
    let clock = Arc::new(FixedClock::new(T0));
    let counter_hmac = AtomicU64::new(0);
    let mut group = c.benchmark_group("verify_warm_1m");
    group.throughput(Throughput::Elements(1));
    for scheme in [Scheme::Binance, Scheme::KeywardV1] {
        let creds = Credentials::new("bench-key", "bench-secret".into());
        let signer = Signer::new(scheme, &creds)
            .unwrap()
            .with_clock(clock.clone());
        let verifier = Verifier::new(scheme, Arc::new(StaticKeys::new().with(creds)))
            .with_clock(clock.clone())
            .with_cache(cache.clone());
        let counter = AtomicU64::new(0);
        // Each request is distinct (a counter in the body), so none is a replay; signing happens
        // in the setup, outside the measurement.
        group.bench_function(scheme.name(), |b| {
            b.iter_batched(
                || {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    let body = format!("symbol=BTCUSDT&side=BUY&quantity=1&clientId={n}");
                    signer
                        .sign(
                            Request::post("/api/v3/order").with_body(body),
                            &SignOptions::default(),
                        )
                        .unwrap()
                },
                |req| verifier.verify(black_box(&req)).unwrap(),
                BatchSize::SmallInput,
            )
        });
    }
    // The limit: HMAC-SHA256 with the key prepared once (the keyed state cloned per call) over
    // the bytes a Binance verification MACs (the body without its signature), in hex.
    let key = <Hmac<Sha256> as Mac>::new_from_slice(b"bench-secret").unwrap();
    group.bench_function("keyed_hmac_sha256", |b| {
        b.iter_batched(
            || {
                let n = counter_hmac.fetch_add(1, Ordering::Relaxed);
                format!("symbol=BTCUSDT&side=BUY&quantity=1&clientId={n}&timestamp={T0}")
            },
            |prehash| {
                let mut mac = key.clone();
                mac.update(black_box(prehash.as_bytes()));
                hex::encode(mac.finalize().into_bytes())
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, verify);
criterion_main!(benches);
