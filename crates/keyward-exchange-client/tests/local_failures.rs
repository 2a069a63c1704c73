//! Failures that happen on this machine (signing, the nonce source, a cost the rate limiter can
//! never admit) say nothing about the venue: they never reach the circuit breaker, so they can
//! neither open it nor hold one of its half-open trial slots (finding 18 of issue 13). Nothing
//! is sent: the base URLs are loopback ports the requests never reach.
#![allow(clippy::unwrap_used)] // reason: tests fail loudly

use std::sync::Arc;
use std::time::Duration;

use keyward_exchange_client::{
    Credentials, ErrorKind, OrderRequest, Params, RequestClass, RestClient, Scheme, Side,
};
use keyward_resilience::breaker::SlidingWindow;
use keyward_resilience::limiter::Limit;
use keyward_resilience::{BreakerConfig, BreakerState, ManualClock, ManualSleep};
use keyward_signing::NonceSource;

/// A breaker that opens after two failures in a window of four.
fn touchy() -> BreakerConfig {
    BreakerConfig::builder()
        .sliding_window(SlidingWindow::CountBased { size: 4 })
        .minimum_calls(2)
        .failure_rate_threshold(50.0)
        .build()
        .unwrap()
}

/// A nonce source whose state cannot be read (a nonce file on a full disk, say).
#[derive(Debug)]
struct BrokenNonces;

impl NonceSource for BrokenNonces {
    fn next_nonce(&self) -> keyward_signing::Result<u64> {
        Err(keyward_signing::Error::NonceExhausted)
    }
}

fn assert_untouched(client: &RestClient) {
    let m = client.breaker().metrics();
    assert_eq!(m.state, BreakerState::Closed);
    assert_eq!(
        (m.failed_calls, m.successful_calls, m.buffered_calls),
        (0, 0, 0),
        "{m:?}"
    );
    assert_eq!(m.cancelled_calls, 0, "{m:?}");
}

#[tokio::test]
async fn nonce_failures_repeated_never_open_the_breaker() {
    let clock = Arc::new(ManualClock::new());
    let client = RestClient::builder(Scheme::Kraken, "http://127.0.0.1:9")
        .credentials(Credentials::new(
            "kraken-key",
            "a3Jha2VuLXNlY3JldC1rcmFrZW4tc2VjcmV0".into(),
        ))
        .nonce_source(Arc::new(BrokenNonces))
        .breaker_config(touchy())
        .clock(clock.clone())
        .sleep(Arc::new(ManualSleep::new(clock)))
        .build()
        .await
        .unwrap();
    for _ in 0..10 {
        let err = client
            .place_order(&OrderRequest::market("XBTUSD", Side::Buy, "1"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Signing, "{err}");
    }
    assert_untouched(&client);
}

#[tokio::test]
async fn costs_above_capacity_repeated_never_open_the_breaker() {
    let clock = Arc::new(ManualClock::new());
    let client = RestClient::builder(Scheme::Binance, "http://127.0.0.1:9")
        .credentials(Credentials::new("binance-key", "secret".into()))
        .clock_sync(false)
        .rate_limits(vec![Limit::new(
            "weight/1m",
            "weight",
            10,
            Duration::from_secs(60),
        )])
        .breaker_config(touchy())
        .clock(clock.clone())
        .sleep(Arc::new(ManualSleep::new(clock)))
        .build()
        .await
        .unwrap();
    for _ in 0..10 {
        let err = client
            .send(
                "GET",
                "/api/v3/account",
                Params::None,
                RequestClass::Read,
                50,
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    }
    assert_untouched(&client);
}
