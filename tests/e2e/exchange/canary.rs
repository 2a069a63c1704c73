//! A canary secret run through every scenario of the other suites (each venue and scheme,
//! wrong secrets, clock skew, 5xx, 429, timeouts, the breaker, concurrent Kraken orders) with a
//! TRACE subscriber capturing every log line: the canary, full API keys and signatures appear in
//! none of them, nor in any error's Display or Debug.
#![allow(clippy::unwrap_used)] // reason: tests fail loudly

use keyward::exchange as keyward_exchange_client;
use keyward::resilience as keyward_resilience;

use crate::common;

use std::time::Duration;

use common::*;
use keyward_exchange_client::{
    CancelRequest, Credentials, Error, OrderRequest, Params, RequestClass, Side,
};
use keyward_resilience::BreakerConfig;
use keyward_resilience::breaker::SlidingWindow;
use keyward_testnet::Testnet;
use serde_json::json;

fn fault(t: &Testnet, spec: &str) {
    t.faults().apply(&spec.parse().unwrap());
}

/// Every scenario; returns the errors met on the way.
async fn everything(t: &Testnet) -> Vec<Error> {
    let mut errors = Vec::new();
    for venue in VENUES {
        let c = client(t, venue).await;
        c.server_time().await.unwrap();
        c.balance().await.unwrap();
        let ack = c
            .place_order(&OrderRequest::limit(symbol(venue), Side::Buy, "1", "100"))
            .await
            .unwrap();
        c.cancel_order(&CancelRequest::new(symbol(venue), ack.order_id.unwrap()))
            .await
            .unwrap();
        // Wrong secret (the canary's neighbour: same key).
        let wrong = builder(t, venue, &Manual::new())
            .credentials(wrong_secret(t, venue))
            .build()
            .await
            .unwrap();
        errors.push(wrong.balance().await.unwrap_err());
        // 5xx on a read, then on an order; a 429 with Retry-After on a read. The retry waits
        // on the manual clock, so the re-sent read is signed within the same millisecond (the
        // same second on Coinbase and BitMEX): byte-identical, and accepted as at the venues.
        fault(t, &format!("fail_5xx=1,venue={venue}"));
        c.balance().await.unwrap();
        fault(t, &format!("fail_5xx=1,venue={venue}"));
        errors.push(
            c.place_order(&OrderRequest::market(symbol(venue), Side::Sell, "2"))
                .await
                .unwrap_err(),
        );
        fault(t, &format!("force_429=1,retry_after_s=1,venue={venue}"));
        c.balance().await.unwrap();
    }
    for scheme in SERVICES {
        let c = client(t, scheme).await;
        c.send(
            "POST",
            "/orders",
            Params::json(json!({"q": 1})),
            RequestClass::NonIdempotentWrite,
            1,
        )
        .await
        .unwrap();
        let wrong = builder(t, scheme, &Manual::new())
            .credentials(wrong_secret(t, scheme))
            .build()
            .await
            .unwrap();
        errors.push(
            wrong
                .send("GET", "/x", Params::None, RequestClass::Read, 1)
                .await
                .unwrap_err(),
        );
    }
    // Clock skew on Binance with a tight recvWindow.
    let skewed = builder(t, "binance", &Manual::new())
        .recv_window_ms(2_000)
        .build()
        .await
        .unwrap();
    skewed.balance().await.unwrap();
    fault(t, "clock_offset_ms=3000,venue=binance");
    skewed
        .place_order(&OrderRequest::market("BTCUSDT", Side::Buy, "3"))
        .await
        .unwrap();
    // A timeout on an order.
    let slow = builder(t, "kraken", &Manual::new())
        .timeout(Duration::from_millis(50))
        .build()
        .await
        .unwrap();
    fault(t, "latency_ms=200,venue=kraken");
    errors.push(
        slow.place_order(&OrderRequest::market("XBTUSD", Side::Buy, "1"))
            .await
            .unwrap_err(),
    );
    fault(t, "latency_ms=0,venue=kraken");
    // The breaker opening.
    let manual = Manual::new();
    let config = BreakerConfig::builder()
        .sliding_window(SlidingWindow::CountBased { size: 2 })
        .minimum_calls(2)
        .clock(manual.clock.clone())
        .build()
        .unwrap();
    let fragile = builder(t, "okx", &manual)
        .breaker_config(config)
        .build()
        .await
        .unwrap();
    fragile.sync_clock().await.unwrap();
    fault(t, "fail_5xx=10,venue=okx");
    for _ in 0..3 {
        errors.push(fragile.balance().await.unwrap_err());
    }
    t.faults().clear();
    // Concurrent Kraken orders.
    let k = client(t, "kraken").await;
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let k = k.clone();
            tokio::spawn(async move {
                k.place_order(&OrderRequest::market("XBTUSD", Side::Buy, format!("{i}")))
                    .await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    errors.push(
        k.send(
            "GET",
            "/0/private/Nope",
            Params::None,
            RequestClass::Read,
            1,
        )
        .await
        .unwrap_err(),
    );
    errors
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_log_line_or_error_holds_the_canary_a_full_key_or_a_signature() {
    let capture = crate::trace::Capture::default();
    tracing::subscriber::set_global_default(capture.subscriber()).unwrap();

    let t = canary_testnet().await;
    let errors = everything(&t).await;
    let mut shown: Vec<String> = errors
        .iter()
        .flat_map(|e| [e.to_string(), format!("{e:?}")])
        .collect();
    let logs = capture.text();
    assert!(logs.contains("endpoint=/api/v3/account"), "{logs}");
    assert!(logs.contains("status=200") && logs.contains("latency_ms="));
    assert!(
        logs.contains("key=bina…"),
        "the first four characters are shown"
    );
    assert!(logs.lines().count() > 100);
    shown.extend(logs.lines().map(str::to_owned));
    let client = client(&t, "binance").await;
    shown.push(format!("{client:?}"));
    shown.push(format!(
        "{:?}",
        Credentials::new("binance-apikey-0123456789", CANARY.into())
    ));
    for line in &shown {
        assert!(!line.contains("CANARY"), "a secret leaked: {line}");
        assert!(
            !line.contains("-apikey-"),
            "an API key beyond 4 chars: {line}"
        );
        for marker in [
            "signature=",
            "sig=",
            "api-signature",
            "X-BAPI-SIGN",
            "API-Sign",
            "&timestamp=",
        ] {
            assert!(!line.contains(marker), "{marker} leaked: {line}");
        }
    }
    // Every signature the testnet saw was a hex or base64 string of 40+ characters: none
    // appears in a line.
    for line in &shown {
        let long_token = line
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '/' || c == '='))
            .any(|w| w.len() >= 40);
        assert!(!long_token, "a signature-like token: {line}");
    }
    t.shutdown().await;
}
