//! What `keyward proxy` costs a bot: the same signed Binance account read (`GET
//! /api/v3/account`) against the local testnet, sent directly by a `RestClient` (`direct`), and
//! sent unsigned by a plain reqwest client to a `SigningProxy` that signs it with the same
//! client and relays the answer (`through_proxy`). Both run on keep-alive loopback connections
//! in one process, the testnet verifying every signature; rate limits are set out of the way
//! (a limiter wait is not the proxy's cost). The ratio through_proxy / direct is in the
//! "Targets and comparisons" table of docs/BENCHMARKS.md (`cargo xtask bench`).
#![allow(missing_docs)] // reason: criterion's macros generate undocumented items
#![allow(clippy::unwrap_used)] // reason: a benchmark has nowhere to report an error

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use keyward::exchange::proxy::{ProxyConfig, SigningProxy};
use keyward::exchange::{Credentials, Params, RequestClass, RestClient, Scheme};
use keyward::resilience::limiter::Limit;
use keyward_testnet::{Testnet, TestnetConfig, VenueCredentials};

const KEY: &str = "bench-binance-key";
const SECRET: &str = "bench-binance-secret";

async fn client(base: &str) -> RestClient {
    RestClient::builder(Scheme::Binance, base)
        .credentials(Credentials::new(KEY, SECRET.into()))
        .rate_limits(vec![Limit::new(
            "weight/1s",
            "weight",
            100_000_000,
            Duration::from_secs(1),
        )])
        .build()
        .await
        .unwrap()
}

fn proxy_overhead(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (testnet, direct, http, url) = rt.block_on(async {
        let config = TestnetConfig::default()
            .with_credentials(vec![VenueCredentials::new("binance", KEY, SECRET)])
            .with_rate_limit(u32::MAX);
        let testnet = Testnet::start(config).await.unwrap();
        let base = testnet.url("binance").unwrap().to_owned();
        let direct = client(&base).await;
        let proxy = SigningProxy::new(client(&base).await, ProxyConfig::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/api/v3/account", listener.local_addr().unwrap());
        tokio::spawn(async move { proxy.serve_tcp(listener, std::future::pending()).await });
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        (testnet, direct, http, url)
    });
    let mut group = c.benchmark_group("proxy_roundtrip");
    group.bench_function("direct", |b| {
        b.to_async(&rt).iter(|| async {
            direct
                .send(
                    "GET",
                    "/api/v3/account",
                    Params::None,
                    RequestClass::Read,
                    20,
                )
                .await
                .unwrap()
        });
    });
    group.bench_function("through_proxy", |b| {
        b.to_async(&rt).iter(|| async {
            let r = http.get(&url).send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.bytes().await.unwrap()
        });
    });
    group.finish();
    rt.block_on(testnet.shutdown());
}

criterion_group!(benches, proxy_overhead);
criterion_main!(benches);
