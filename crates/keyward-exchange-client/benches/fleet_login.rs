//! Fleet login (issue 17): what reading the fleet's shared token costs against an in-process
//! `TokenCache` hit. `fleet_login/token_cache_hit` is `TokenCache::get` with a fresh token in
//! memory; `fleet_login/fleet_entry_read` is `FleetLogin::login` with a fresh shared entry in a
//! redis-server on 127.0.0.1 (one EVALSHA round trip, then opening the Fernet-sealed entry).
//! p50 and p99 of single calls are measured outside criterion too and written as a note for
//! docs/BENCHMARKS.md. Without a redis-server the benchmark says so and measures nothing.
#![allow(missing_docs)] // reason: criterion's macros generate undocumented items
#![allow(clippy::unwrap_used)] // reason: a benchmark has nowhere to report an error

#[path = "../../../tests/support/redis_server.rs"]
mod redis_server;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use criterion::{Criterion, criterion_group, criterion_main};
use keyward_core_crypto::{FernetKey, KeyRing};
use keyward_exchange_client::fleet::FleetLogin;
use keyward_exchange_client::session::{AccessToken, LoginError, TokenCache, TokenProvider};
use keyward_signing::SystemClock;
use secrecy::SecretString;

#[path = "../../../tests/support/bench_note.rs"]
mod bench_note;
use bench_note::note;

/// A login that issues a token living an hour.
struct OneHour;

#[async_trait]
impl TokenProvider for OneHour {
    fn identity(&self) -> &str {
        "bench"
    }

    async fn login(&self) -> Result<AccessToken, LoginError> {
        Ok(
            AccessToken::new(SecretString::from("bench-token".to_owned()))
                .with_expiry(SystemTime::now() + Duration::from_secs(3600)),
        )
    }
}

/// p50 and p99 of `rounds` single calls of `f`, in microseconds.
fn percentiles(
    rt: &tokio::runtime::Runtime,
    rounds: usize,
    mut f: impl AsyncFnMut(),
) -> (f64, f64) {
    let mut times: Vec<Duration> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            rt.block_on(f());
            start.elapsed()
        })
        .collect();
    times.sort_unstable();
    let at = |q: f64| {
        let i = ((times.len() as f64 - 1.0) * q).round() as usize;
        times[i].as_secs_f64() * 1e6
    };
    (at(0.50), at(0.99))
}

fn fleet_login(c: &mut Criterion) {
    let Some(server) = redis_server::RedisServer::start() else {
        eprintln!("fleet_login: no redis-server, nothing measured");
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cache = TokenCache::in_file(
        dir.path().join("tokens.json"),
        KeyRing::new(FernetKey::generate().unwrap()),
        Arc::new(SystemClock),
    );
    let conn = rt.block_on(async {
        redis::Client::open(server.url())
            .unwrap()
            .get_connection_manager()
            .await
            .unwrap()
    });
    let fleet = FleetLogin::new(
        OneHour,
        conn,
        "bench",
        KeyRing::new(FernetKey::generate().unwrap()),
    );
    // Warm both: the cache holds a token, the fleet's entry exists.
    rt.block_on(cache.get(&OneHour)).unwrap();
    rt.block_on(fleet.login()).unwrap();

    let (cache_p50, cache_p99) = percentiles(&rt, 20_000, async || {
        cache.get(&OneHour).await.unwrap();
    });
    let (fleet_p50, fleet_p99) = percentiles(&rt, 20_000, async || {
        fleet.login().await.unwrap();
    });
    note(
        "fleet_login",
        &format!(
            "fleet login (20000 single calls each, loopback redis-server): TokenCache hit in memory p50 {cache_p50:.2} µs, p99 {cache_p99:.2} µs; FleetLogin reading the shared entry (one EVALSHA + Fernet open) p50 {fleet_p50:.1} µs, p99 {fleet_p99:.1} µs; added per token read: p50 +{:.1} µs, p99 +{:.1} µs",
            fleet_p50 - cache_p50,
            fleet_p99 - cache_p99
        ),
    );

    let mut group = c.benchmark_group("fleet_login");
    group.bench_function("token_cache_hit", |b| {
        b.iter(|| rt.block_on(cache.get(&OneHour)).unwrap());
    });
    group.bench_function("fleet_entry_read", |b| {
        b.iter(|| rt.block_on(fleet.login()).unwrap());
    });
    group.finish();
}

criterion_group!(benches, fleet_login);
criterion_main!(benches);
