//! Faults injected by the testnet: clock skew absorbed by one resync, 5xx retried on reads and
//! turned into UnknownOutcome on order placement, 429 waiting at least Retry-After, and the
//! breaker opening under sustained 5xx and closing after recovery. Time is a manual clock.
#![allow(clippy::unwrap_used)] // reason: tests fail loudly

use keyward::exchange as keyward_exchange_client;
use keyward::resilience as keyward_resilience;

use crate::common;

use std::time::Duration;

use common::*;
use keyward_exchange_client::{Error, ErrorKind, OrderRequest, Side};
use keyward_resilience::breaker::SlidingWindow;
use keyward_resilience::{BreakerConfig, BreakerState};
use keyward_testnet::Testnet;

fn fault(t: &Testnet, spec: &str) {
    t.faults().apply(&spec.parse().unwrap());
}

#[tokio::test]
async fn a_server_clock_3s_ahead_is_absorbed_by_exactly_one_resync() {
    let t = testnet().await;
    // Binance accepts timestamps up to recvWindow behind its clock: with 2 s, 3 s matters.
    let c = builder(&t, "binance", &Manual::new())
        .recv_window_ms(2_000)
        .build()
        .await
        .unwrap();
    c.balance().await.unwrap();
    assert_eq!(c.clock_syncs(), 1, "synced before the first signed call");
    fault(&t, "clock_offset_ms=3000,venue=binance");
    c.balance().await.unwrap();
    assert_eq!(c.clock_syncs(), 2, "one resync");
    assert_eq!(t.hits("binance", "GET", "/api/v3/time"), 2);
    assert_eq!(
        t.hits("binance", "GET", "/api/v3/account"),
        3,
        "refused once, re-sent once"
    );
    assert!(
        (c.clock_offset_ms() - 3_000).abs() < 500,
        "{}",
        c.clock_offset_ms()
    );
    // Later calls sign with the new offset: no more refusals.
    c.place_order(&OrderRequest::market("BTCUSDT", Side::Buy, "1"))
        .await
        .unwrap();
    assert_eq!(t.hits("binance", "POST", "/api/v3/order"), 1);
    assert_eq!(c.clock_syncs(), 2);
    t.shutdown().await;
}

#[tokio::test]
async fn a_server_clock_3s_behind_is_absorbed_on_an_order_too() {
    let t = testnet().await;
    // Bybit refuses timestamps more than 1 s ahead of its clock.
    let c = client(&t, "bybit").await;
    c.sync_clock().await.unwrap();
    fault(&t, "clock_offset_ms=-3000,venue=bybit");
    let ack = c
        .place_order(&OrderRequest::market("BTCUSDT", Side::Buy, "1"))
        .await
        .unwrap();
    assert!(ack.order_id.is_some());
    assert_eq!(c.clock_syncs(), 2);
    assert_eq!(t.hits("bybit", "POST", "/v5/order/create"), 2);
    t.shutdown().await;
}

#[tokio::test]
async fn a_5xx_on_a_read_is_retried() {
    let t = testnet().await;
    let manual = Manual::new();
    let c = builder(&t, "binance", &manual).build().await.unwrap();
    c.sync_clock().await.unwrap();
    fault(&t, "fail_5xx=2,venue=binance");
    c.balance().await.unwrap();
    assert_eq!(t.hits("binance", "GET", "/api/v3/account"), 3);
    assert_eq!(manual.sleep.slept().len(), 2, "two backoffs");
    t.shutdown().await;
}

#[tokio::test]
async fn a_5xx_on_an_order_placement_is_an_unknown_outcome_sent_once() {
    let t = testnet().await;
    for venue in ["binance", "okx", "kraken", "deribit"] {
        let c = client(&t, venue).await;
        if venue != "kraken" {
            c.sync_clock().await.unwrap();
        }
        fault(&t, &format!("fail_5xx=1,venue={venue}"));
        let err = c
            .place_order(&OrderRequest::market(symbol(venue), Side::Buy, "1"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownOutcome, "{venue}: {err}");
        assert!(err.to_string().contains("reconcile"), "{err}");
        let (m, p) = place_path(venue);
        assert_eq!(t.hits(venue, m, p), 1, "{venue}: re-sent");
    }
    t.shutdown().await;
}

#[tokio::test]
async fn a_timeout_on_an_order_placement_is_an_unknown_outcome_sent_once() {
    let t = testnet().await;
    let c = builder(&t, "kraken", &Manual::new())
        .timeout(Duration::from_millis(100))
        .build()
        .await
        .unwrap();
    fault(&t, "latency_ms=400,venue=kraken");
    let err = c
        .place_order(&OrderRequest::market("XBTUSD", Side::Buy, "1"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::UnknownOutcome { reason, .. } if reason.contains("in time")),
        "{err}"
    );
    assert_eq!(t.hits("kraken", "POST", "/0/private/AddOrder"), 1);
    t.shutdown().await;
}

#[tokio::test]
async fn a_429_waits_at_least_retry_after_then_succeeds() {
    let t = testnet().await;
    let manual = Manual::new();
    let c = builder(&t, "okx", &manual).build().await.unwrap();
    c.sync_clock().await.unwrap();
    fault(&t, "force_429=1,retry_after_s=2,venue=okx");
    c.balance().await.unwrap();
    let slept = manual.sleep.slept();
    assert_eq!(slept.len(), 1);
    assert!(slept[0] >= Duration::from_secs(2), "{slept:?}");
    assert_eq!(t.hits("okx", "GET", "/api/v5/account/balance"), 2);
    // A 429 proves the order was not executed: an order placement is retried too.
    fault(&t, "force_429=1,retry_after_s=3,venue=okx");
    c.place_order(&OrderRequest::market("BTC-USDT", Side::Sell, "1"))
        .await
        .unwrap();
    assert!(manual.sleep.slept()[1] >= Duration::from_secs(3));
    assert_eq!(t.hits("okx", "POST", "/api/v5/trade/order"), 2);
    t.shutdown().await;
}

#[tokio::test]
async fn the_breaker_opens_under_sustained_5xx_and_closes_after_recovery() {
    let t = testnet().await;
    let manual = Manual::new();
    let config = BreakerConfig::builder()
        .sliding_window(SlidingWindow::CountBased { size: 4 })
        .minimum_calls(4)
        .failure_rate_threshold(50.0)
        .wait_in_open(Duration::from_secs(30))
        .permitted_calls_in_half_open(1)
        .clock(manual.clock.clone())
        .build()
        .unwrap();
    let c = builder(&t, "bitmex", &manual)
        .breaker_config(config)
        .build()
        .await
        .unwrap();
    c.sync_clock().await.unwrap();
    fault(&t, "fail_5xx=100,venue=bitmex");
    let mut kinds = Vec::new();
    for _ in 0..3 {
        kinds.push(c.balance().await.unwrap_err().kind());
    }
    assert_eq!(c.breaker().state(), BreakerState::Open);
    assert_eq!(kinds[0], ErrorKind::Server);
    assert_eq!(*kinds.last().unwrap(), ErrorKind::CircuitOpen);
    let hits = t.hits("bitmex", "GET", "/api/v1/user/wallet");
    // The window of 4 holds the clock probe's success and three 503s: 75% failed, so it opened
    // and refused the fourth attempt locally.
    assert_eq!(hits, 3);
    // While open, nothing reaches the venue.
    assert_eq!(
        c.balance().await.unwrap_err().kind(),
        ErrorKind::CircuitOpen
    );
    assert_eq!(t.hits("bitmex", "GET", "/api/v1/user/wallet"), hits);
    // Recovery: the venue is healthy again and the wait is over.
    t.faults().clear();
    manual.clock.advance(Duration::from_secs(31));
    c.balance().await.unwrap();
    assert_eq!(c.breaker().state(), BreakerState::Closed);
    t.shutdown().await;
}
