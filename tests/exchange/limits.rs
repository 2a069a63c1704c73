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
        .build()
        .await
        .unwrap();
    // Weight 20 each: two fit in 50, the third waits. (Each request differs, `n`: the testnet
    // refuses a twin signed in the same millisecond as a replay.)
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
    // waits within a few calls. (Each request differs, `n`: the testnet refuses a twin
    // signed in the same millisecond as a replay.)
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
