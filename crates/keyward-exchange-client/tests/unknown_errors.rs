//! Must-show item 4 of issue 14, on a scripted server on 127.0.0.1, for every venue: an order
//! placement answered with an error the venue does not document (a code it never lists, or a
//! message it never gives), however full of the words an old keyword fallback read
//! ("timestamp", "expired", "recvWindow", "nonce", "signature", "api key"), is a plain
//! refusal, and the order is sent exactly once: no clock resync and re-send, no nonce retry.
//! A control per venue that documents a timestamp refusal shows the same script does catch a
//! second send. Time is a manual clock: nothing here sleeps.
#![allow(clippy::unwrap_used)] // reason: tests fail loudly

mod support;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use keyward_exchange_client::{
    Credentials, ErrorKind, OrderRequest, Params, RequestClass, RestClient, Scheme, Side,
};
use keyward_resilience::{ManualClock, ManualSleep};
use serde_json::{Value, json};
use support::{Scripted, answer};

/// The words, in one message.
const WORDS: &str =
    "timestamp expired outside recvWindow, nonce, insignificant signature, invalid api key";

/// The venue's time endpoint answering now, if it has one.
fn time_answer(scheme: Scheme) -> Option<Value> {
    let ms = u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    let s = ms / 1000;
    Some(match scheme {
        Scheme::Binance => json!({"serverTime": ms}),
        Scheme::Bybit => json!({"retCode": 0, "retMsg": "OK", "result": {
            "timeSecond": s.to_string(), "timeNano": (u128::from(ms) * 1_000_000).to_string()}, "time": ms}),
        Scheme::Okx => json!({"code": "0", "msg": "", "data": [{"ts": ms.to_string()}]}),
        Scheme::CoinbaseExchange => json!({"iso": "", "epoch": s}),
        Scheme::CoinbaseAdvanced => {
            json!({"iso": "", "epochSeconds": s.to_string(), "epochMillis": ms.to_string()})
        }
        Scheme::Bitmex => json!({"name": "BitMEX API", "timestamp": ms}),
        Scheme::Deribit => json!({"jsonrpc": "2.0", "result": ms}),
        _ => return None,
    })
}

/// An error answer in the venue's own shape with a code it does not document.
fn unknown_error(scheme: Scheme) -> (&'static str, Value) {
    match scheme {
        Scheme::Binance => ("400 Bad Request", json!({"code": -1999, "msg": WORDS})),
        Scheme::Bybit => (
            "200 OK",
            json!({"retCode": 99999, "retMsg": WORDS, "result": {}}),
        ),
        Scheme::Okx => ("200 OK", json!({"code": "59999", "msg": WORDS, "data": []})),
        Scheme::CoinbaseExchange | Scheme::CoinbaseAdvanced => {
            ("400 Bad Request", json!({"message": WORDS}))
        }
        Scheme::Kraken => ("200 OK", json!({"error": [format!("EGeneral:{WORDS}")]})),
        Scheme::Bitmex => (
            "400 Bad Request",
            json!({"error": {"message": WORDS, "name": "ValidationError"}}),
        ),
        Scheme::Deribit => (
            "400 Bad Request",
            json!({"jsonrpc": "2.0", "error": {"code": 19999, "message": WORDS}}),
        ),
        _ => ("400 Bad Request", json!({"error": WORDS})),
    }
}

/// The timestamp refusal the venue documents (a request it did not process), if any.
fn documented_timestamp_refusal(scheme: Scheme) -> Option<(&'static str, Value)> {
    Some(match scheme {
        Scheme::Binance => (
            "400 Bad Request",
            json!({"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."}),
        ),
        Scheme::Bybit => (
            "200 OK",
            json!({"retCode": 10002, "retMsg": "invalid request, please check your server timestamp or recv_window param", "result": {}}),
        ),
        Scheme::Okx => (
            "401 Unauthorized",
            json!({"code": "50102", "msg": "Timestamp request expired"}),
        ),
        Scheme::CoinbaseExchange => (
            "401 Unauthorized",
            json!({"message": "request timestamp expired"}),
        ),
        Scheme::Bitmex => (
            "401 Unauthorized",
            json!({"error": {"message": "This request has expired - `expires` is in the past. Current time: 1700000000", "name": "HTTPError"}}),
        ),
        _ => return None,
    })
}

/// A client of `server` for `scheme` on a manual clock, clock sync on, no rate limits.
async fn client(scheme: Scheme, server: &Scripted) -> RestClient {
    let clock = Arc::new(ManualClock::new());
    let sleep = Arc::new(ManualSleep::new(clock.clone()));
    RestClient::builder(scheme, server.url.clone())
        .credentials(Credentials::new("test-key", "c2VjcmV0".into()).with_passphrase("pass".into()))
        .rate_limits(Vec::new())
        .clock(clock)
        .sleep(sleep)
        .build()
        .await
        .unwrap()
}

/// The script: (the time, if the venue has a time endpoint, then `refusal`) repeated, so that
/// a resync would succeed and a re-send would be answered and counted.
fn script(scheme: Scheme, refusal: &(&str, Value)) -> Vec<String> {
    let refusal = answer(refusal.0, &[], &refusal.1.to_string());
    let round = match time_answer(scheme) {
        Some(time) => vec![answer("200 OK", &[], &time.to_string()), refusal],
        None => vec![refusal],
    };
    round
        .iter()
        .cycle()
        .take(round.len() * 3)
        .cloned()
        .collect()
}

/// Places an order (or, for the service schemes, which have no order endpoint, sends a
/// non-idempotent write) and returns the error's kind and the number of writes received.
async fn write_once(scheme: Scheme, refusal: (&str, Value)) -> (ErrorKind, usize) {
    let server = Scripted::start(script(scheme, &refusal)).await;
    let c = client(scheme, &server).await;
    let service = matches!(
        scheme,
        Scheme::HmacNewlineV0 | Scheme::HmacConcat | Scheme::KeywardV1
    );
    let err = if !service {
        c.place_order(&OrderRequest::market("BTCUSDT", Side::Buy, "1"))
            .await
            .unwrap_err()
    } else {
        c.send(
            "POST",
            "/orders",
            Params::Json(json!({"qty": 1})),
            RequestClass::NonIdempotentWrite,
            1,
        )
        .await
        .unwrap_err()
    };
    let time_path = time_answer(scheme).is_some();
    let writes = server
        .received()
        .iter()
        .filter(|r| !time_path || !is_time_request(&r.head))
        .count();
    (err.kind(), writes)
}

/// Whether a request is a read of the server time (a GET of a public time endpoint).
fn is_time_request(head: &str) -> bool {
    let line = head.lines().next().unwrap_or_default();
    line.starts_with("GET ")
        && ["/time", "/Time", "/get_time", "/api/v1 "]
            .iter()
            .any(|p| line.contains(p))
}

#[tokio::test]
async fn an_unknown_error_full_of_trigger_words_is_sent_once_on_every_venue() {
    let mut checked = Vec::new();
    for scheme in Scheme::ALL {
        if !scheme.has_rest() {
            continue;
        }
        let (kind, writes) = write_once(scheme, unknown_error(scheme)).await;
        assert_eq!(kind, ErrorKind::Rejected, "{scheme}");
        assert_eq!(writes, 1, "{scheme}: the write was sent {writes} times");
        checked.push(scheme);
    }
    assert_eq!(checked.len(), 11, "every venue with REST: {checked:?}");
}

/// The control: the same script catches a second send. A timestamp refusal the venue
/// documents resyncs the clock and re-sends the order once.
#[tokio::test]
async fn a_documented_timestamp_refusal_is_resent_exactly_once() {
    let mut checked = 0;
    for scheme in Scheme::ALL {
        let Some(refusal) = documented_timestamp_refusal(scheme) else {
            continue;
        };
        let (kind, writes) = write_once(scheme, refusal).await;
        assert_eq!(kind, ErrorKind::Timestamp, "{scheme}");
        assert_eq!(writes, 2, "{scheme}: refused, resynced, re-sent once");
        checked += 1;
    }
    assert_eq!(checked, 5);
}
