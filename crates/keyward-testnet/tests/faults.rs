//! Fault injection (each kind, at start, at run time and through the admin endpoint), usage
//! headers, 429 with Retry-After, and request counters.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

mod common;

use std::time::Instant;

use common::*;
use futures_util::StreamExt;
use keyward_signing::{FixedClock, Request, SignOptions};
use keyward_testnet::{Faults, Testnet, TestnetConfig};
use serde_json::json;
use std::sync::Arc;

async fn with_faults(spec: &str) -> Testnet {
    Testnet::start(TestnetConfig::default().with_faults(spec.parse().unwrap()))
        .await
        .unwrap()
}

async fn time(t: &Testnet, venue: &str) -> Answer {
    let path = match venue {
        "binance" => "/api/v3/time",
        "okx" => "/api/v5/public/time",
        "kraken" => "/0/public/Time",
        _ => "/api/v5/public/time",
    };
    send(t, venue, &Request::get(path)).await
}

#[tokio::test]
async fn fail_5xx_fails_exactly_the_next_n_requests() {
    let t = with_faults("fail_5xx=2").await;
    assert_eq!(time(&t, "binance").await.status, 503);
    assert_eq!(time(&t, "okx").await.status, 503);
    assert_eq!(time(&t, "binance").await.status, 200);
    assert_eq!(t.hits("binance", "GET", "/api/v3/time"), 2);
    t.shutdown().await;
}

#[tokio::test]
async fn faults_scoped_to_a_venue_leave_the_others_alone() {
    let t = with_faults("fail_5xx=1,venue=okx").await;
    assert_eq!(time(&t, "binance").await.status, 200);
    assert_eq!(time(&t, "okx").await.status, 503);
    assert_eq!(time(&t, "okx").await.status, 200);
    t.shutdown().await;
}

#[tokio::test]
async fn force_429_answers_in_the_venue_shape_with_retry_after() {
    let t = start().await;
    t.faults()
        .apply(&"force_429=2,retry_after_s=7".parse().unwrap());
    let a = time(&t, "binance").await;
    assert_eq!(
        (a.status, a.header("retry-after").as_deref()),
        (429, Some("7"))
    );
    assert_eq!(a.body["code"], -1003);
    let k = time(&t, "kraken").await;
    assert_eq!(k.status, 429);
    assert_eq!(k.body["error"][0], "EAPI:Rate limit exceeded");
    assert_eq!(time(&t, "kraken").await.status, 200);
    t.shutdown().await;
}

#[tokio::test]
async fn error_rate_is_seeded_and_deterministic() {
    async fn run() -> Vec<u16> {
        let t = with_faults("error_rate=0.5,seed=7").await;
        let mut out = Vec::new();
        for _ in 0..16 {
            out.push(time(&t, "binance").await.status);
        }
        t.shutdown().await;
        out
    }
    let first = run().await;
    assert_eq!(first, run().await);
    assert!(first.contains(&500) && first.contains(&200), "{first:?}");
    let all = with_faults("error_rate=1").await;
    assert_eq!(time(&all, "okx").await.status, 500);
    all.shutdown().await;
}

#[tokio::test]
async fn latency_delays_answers() {
    let t = with_faults("latency_ms=60,venue=okx").await;
    let started = Instant::now();
    assert_eq!(time(&t, "okx").await.status, 200);
    assert!(started.elapsed().as_millis() >= 60);
    t.shutdown().await;
}

#[tokio::test]
async fn clock_offset_moves_the_time_endpoint_and_verification() {
    let t = with_faults("clock_offset_ms=20000,venue=binance").await;
    let local = now_ms();
    let served = time(&t, "binance").await.body["serverTime"]
        .as_u64()
        .unwrap();
    assert!(
        served >= local + 19_000 && served <= local + 80_000,
        "{served} vs {local}"
    );
    // Signed on the local clock, the request is 20 s older than the server's now.
    let s = signer(&t, "binance");
    let a = sign_send(
        &t,
        "binance",
        &s,
        Request::get("/api/v3/account"),
        &SignOptions::default(),
    )
    .await;
    assert_eq!(a.body["code"], -1021);
    // Signed on the server's clock, it passes.
    let synced = signer(&t, "binance").with_clock(Arc::new(FixedClock::new(served)));
    let a = sign_send(
        &t,
        "binance",
        &synced,
        Request::get("/api/v3/account"),
        &SignOptions::default(),
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    // Behind: a request signed now is in the server's future.
    t.faults()
        .apply(&"clock_offset_ms=-20000,venue=binance".parse().unwrap());
    let a = sign_send(
        &t,
        "binance",
        &s,
        Request::get("/api/v3/account"),
        &SignOptions::default(),
    )
    .await;
    assert_eq!(a.body["code"], -1021);
    t.shutdown().await;
}

#[tokio::test]
async fn drop_ws_closes_open_websockets_through_the_admin_endpoint() {
    let t = start().await;
    let (mut bybit, _) = tokio_tungstenite::connect_async(ws_url(t.url("bybit").unwrap(), "/ws"))
        .await
        .unwrap();
    let admin = t.url("admin").unwrap().to_owned();
    let client = reqwest::Client::new();
    let r = client
        .post(format!("{admin}/faults"))
        .header("content-type", "application/json")
        .body(json!({"drop_ws": true}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    loop {
        match bybit.next().await {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_))) | None | Some(Err(_)) => {
                break;
            }
            Some(Ok(_)) => {}
        }
    }
    let bad = client
        .post(format!("{admin}/faults"))
        .header("content-type", "application/json")
        .body(r#"{"no_such_fault": 1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    let r = client
        .post(format!("{admin}/faults"))
        .header("content-type", "application/json")
        .body(json!({"fail_5xx": 1, "venue": "okx"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(time(&t, "okx").await.status, 503);
    t.faults().apply(&Faults {
        fail_5xx: Some(5),
        ..Faults::default()
    });
    let cleared = client
        .delete(format!("{admin}/faults"))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status().as_u16(), 200);
    assert_eq!(time(&t, "okx").await.status, 200);
    t.shutdown().await;
}

/// Finding 20: the admin port takes JSON only. A web page can POST `text/plain` or a form to a
/// loopback port without a CORS preflight; `application/json` needs one, which the testnet
/// never grants, so a browser cannot inject faults.
#[tokio::test]
async fn the_admin_endpoint_refuses_anything_but_json_with_415() {
    let t = start().await;
    let admin = t.url("admin").unwrap().to_owned();
    let client = reqwest::Client::new();
    let body = json!({"fail_5xx": 1, "venue": "okx"}).to_string();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/jsonp"),
    ] {
        let mut req = client.post(format!("{admin}/faults")).body(body.clone());
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status().as_u16(), 415, "{content_type:?}");
        assert_eq!(time(&t, "okx").await.status, 200, "{content_type:?}");
    }
    let r = client
        .post(format!("{admin}/faults"))
        .header("content-type", "application/json; charset=utf-8")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(time(&t, "okx").await.status, 503);
    t.shutdown().await;
}

#[tokio::test]
async fn usage_headers_and_429_when_the_quota_is_exceeded() {
    let t = Testnet::start(
        TestnetConfig::default()
            .with_venue_rate_limit("binance", 3)
            .with_venue_rate_limit("bybit", 2)
            .with_venue_rate_limit("bitmex", 2),
    )
    .await
    .unwrap();
    let s = signer(&t, "binance");
    assert_eq!(
        time(&t, "binance")
            .await
            .header("x-mbx-used-weight-1m")
            .as_deref(),
        Some("1")
    );
    let order = requests("binance").remove(1);
    let a = sign_send(&t, "binance", &s, order, &SignOptions::default()).await;
    assert_eq!(a.header("x-mbx-used-weight-1m").as_deref(), Some("2"));
    assert_eq!(a.header("x-mbx-order-count-10s").as_deref(), Some("1"));
    assert_eq!(time(&t, "binance").await.status, 200);
    let over = time(&t, "binance").await;
    assert_eq!(over.status, 429);
    assert_eq!(over.body["code"], -1003);
    let retry: u64 = over.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));

    let b = send(&t, "bybit", &Request::get("/v5/market/time")).await;
    assert_eq!(b.header("x-bapi-limit").as_deref(), Some("2"));
    assert_eq!(b.header("x-bapi-limit-status").as_deref(), Some("1"));
    send(&t, "bybit", &Request::get("/v5/market/time")).await;
    let b = send(&t, "bybit", &Request::get("/v5/market/time")).await;
    assert_eq!((b.status, b.body["retCode"].as_i64()), (429, Some(10006)));
    assert!(b.header("retry-after").is_some());

    let m = send(&t, "bitmex", &Request::get("/api/v1")).await;
    assert_eq!(m.header("x-ratelimit-limit").as_deref(), Some("2"));
    assert_eq!(m.header("x-ratelimit-remaining").as_deref(), Some("1"));
    t.shutdown().await;
}

#[tokio::test]
async fn hits_count_requests_per_endpoint() {
    let t = start().await;
    let s = signer(&t, "okx");
    let order = requests("okx").remove(1);
    sign_send(&t, "okx", &s, order, &SignOptions::default()).await;
    assert_eq!(t.hits("okx", "POST", "/api/v5/trade/order"), 1);
    assert_eq!(t.hits("okx", "post", "/api/v5/trade/order"), 1);
    assert_eq!(t.hits("okx", "GET", "/api/v5/trade/order"), 0);
    let svc = signer(&t, "hmac-concat")
        .sign(Request::get("/svc/hmac-concat/x"), &SignOptions::default())
        .unwrap();
    send(&t, "hmac-concat", &svc).await;
    assert_eq!(t.hits("hmac-concat", "GET", "/svc/hmac-concat/x"), 1);
    t.shutdown().await;
}
