//! The client-side rate limiter: charged with endpoint weights before sending, and raised to the
//! venue's count from its usage headers, so a key shared with others waits instead of being
//! refused. Waits run on a manual clock.
#![allow(clippy::unwrap_used)] // reason: tests fail loudly

use keyward::exchange as keyward_exchange_client;
use keyward::resilience as keyward_resilience;

use crate::common;

use std::time::Duration;

use common::*;
use keyward_exchange_client::{Params, RequestClass};
use keyward_resilience::limiter::Limit;
use keyward_testnet::{Testnet, TestnetConfig};

fn weight_per_minute(capacity: u32) -> Vec<Limit> {
    vec![
        Limit::new("weight/1m", "weight", capacity, Duration::from_secs(60))
            .with_burst(capacity)
            .with_usage_header("X-MBX-USED-WEIGHT-1M"),
    ]
}

#[tokio::test]
async fn weights_are_charged_and_the_limiter_waits_when_they_run_out() {
    let t = testnet().await;
    let manual = Manual::new();
    let c = builder(&t, "binance", &manual)
        .clock_sync(false)
        .rate_limits(weight_per_minute(50))
        // A burst of the whole capacity refills one unit a minute: the third call waits ten
        // minutes, past the default ceiling of one.
        .max_rate_limit_wait(Duration::from_secs(3_600))
        .build()
        .await
        .unwrap();
    // Weight 20 each: two fit in 50, the third waits.
    for n in ["1", "2", "3"] {
        assert!(manual.sleep.slept().is_empty(), "{n}");
        c.send(
            "GET",
            "/api/v3/account",
            Params::query([("n", n)]),
            RequestClass::Read,
            20,
        )
        .await
        .unwrap();
    }
    let slept = manual.sleep.slept();
    assert_eq!(slept.len(), 1);
    assert!(slept[0] > Duration::ZERO);
    t.shutdown().await;
}

#[tokio::test]
async fn usage_headers_raise_the_local_count_to_the_venues() {
    let t = testnet().await;
    // Another client of the key spends 9 requests of the venue's count.
    let other = client(&t, "binance").await;
    for i in 0..9 {
        let n = format!("other-{i}");
        other
            .send(
                "GET",
                "/api/v3/account",
                Params::query([("n", n.as_str())]),
                RequestClass::Read,
                1,
            )
            .await
            .unwrap();
    }
    let manual = Manual::new();
    let c = builder(&t, "binance", &manual)
        .clock_sync(false)
        .rate_limits(weight_per_minute(12))
        .build()
        .await
        .unwrap();
    // Locally 12 calls would fit; the venue's count (10 or so: the other client's calls and
    // its clock probe) comes back in X-MBX-USED-WEIGHT-1M after the first, so the limiter
    // waits within a few calls.
    let mut calls = 0;
    while manual.sleep.slept().is_empty() && calls < 12 {
        calls += 1;
        let n = calls.to_string();
        c.send(
            "GET",
            "/api/v3/account",
            Params::query([("n", n.as_str())]),
            RequestClass::Read,
            1,
        )
        .await
        .unwrap();
    }
    assert!((2..=4).contains(&calls), "waited after {calls} calls");
    t.shutdown().await;
}

#[tokio::test]
async fn bitmex_remaining_headers_raise_the_local_count_to_the_venues() {
    // BitMEX reports what is left (x-ratelimit-remaining) rather than what is used.
    let t = Testnet::start(TestnetConfig::default().with_venue_rate_limit("bitmex", 12))
        .await
        .unwrap();
    // Another client of the key spends 6 of the venue's 12 requests this minute.
    let other = client(&t, "bitmex").await;
    for i in 0..6 {
        wallet(&other, &format!("other-{i}")).await.unwrap();
    }
    let manual = Manual::new();
    let c = builder(&t, "bitmex", &manual)
        .clock_sync(false)
        .rate_limits(vec![
            Limit::new("requests/1m", "weight", 12, Duration::from_secs(60))
                .with_remaining_header("x-ratelimit-remaining"),
        ])
        .build()
        .await
        .unwrap();
    // Locally a burst of 6 would go at once, and the venue would refuse the sixth (its count
    // is 7 or so: the other client's calls and its clock probe). After the first answer the
    // remainder raises the local count, so the limiter waits first, for less than the venue's
    // 60 s Retry-After. (The testnet's window runs on real time and the waits on a manual
    // clock, so the call that waited may still be refused: only what came before is checked.)
    let mut ok = 0;
    loop {
        let result = wallet(&c, &ok.to_string()).await;
        if !manual.sleep.slept().is_empty() {
            break;
        }
        result.unwrap();
        ok += 1;
        assert!(ok < 12, "never waited");
    }
    assert!(ok < 5, "waited only after {ok} calls");
    let first = manual.sleep.slept()[0];
    assert!(
        first > Duration::ZERO && first < Duration::from_secs(60),
        "the first wait was the venue's Retry-After, not the limiter's: {first:?}"
    );
    t.shutdown().await;
}

/// A BitMEX wallet read, made distinct by `n`.
async fn wallet(
    c: &keyward_exchange_client::RestClient,
    n: &str,
) -> keyward_exchange_client::Result<serde_json::Value> {
    c.send(
        "GET",
        "/api/v1/user/wallet",
        Params::query([("n", n)]),
        RequestClass::Read,
        1,
    )
    .await
}
