//! Error mapping per venue from sample answers (tests/data/venue_errors.json, written from the
//! venues' error pages and docs/TESTNET.md), time parsing and the call shapes.

use std::time::Duration;

use keyward_signing::Scheme;
use serde_json::{Value, json};

use super::*;
use crate::error::ErrorKind;
use crate::order::Side;

fn venue(name: &str) -> Venue {
    Venue {
        scheme: name.parse().unwrap(),
    }
}

fn kind_name(k: ErrorKind) -> String {
    format!("{k:?}")
}

#[test]
fn sample_error_bodies_map_to_their_kinds_and_keep_the_code() {
    let cases: Vec<Value> =
        serde_json::from_str(include_str!("../../tests/data/venue_errors.json")).unwrap();
    assert!(cases.len() > 40);
    for case in cases {
        let v = venue(case["venue"].as_str().unwrap());
        let status = u16::try_from(case["status"].as_u64().unwrap()).unwrap();
        let body = case["body"].to_string();
        let err = v
            .interpret("/x", status, Some(Duration::from_secs(1)), body.as_bytes())
            .unwrap_err();
        assert_eq!(
            kind_name(err.kind()),
            case["kind"].as_str().unwrap(),
            "{case}"
        );
        let detail = err.venue_detail().unwrap();
        assert_eq!(detail.code.as_deref(), case["code"].as_str(), "{case}");
        assert_eq!(detail.status, status);
    }
}

#[test]
fn successes_and_odd_answers() {
    let b = venue("binance");
    assert_eq!(
        b.interpret("/x", 200, None, b"{\"a\":1}").unwrap(),
        json!({"a": 1})
    );
    assert_eq!(b.interpret("/x", 200, None, b"").unwrap(), Value::Null);
    let e = b.interpret("/x", 200, None, b"<html>").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode);
    let e = b
        .interpret("/x", 502, None, b"<html>bad gateway")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Server);
    let e = b.interpret("/x", 401, None, b"").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Authentication);
    let e = b.interpret("/x", 418, None, b"{}").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Rejected);
    // Bybit's and OKX's success answers carry a zero code.
    assert!(
        venue("bybit")
            .interpret("/x", 200, None, br#"{"retCode":0,"result":{}}"#)
            .is_ok()
    );
    assert!(
        venue("okx")
            .interpret("/x", 200, None, br#"{"code":"0","data":[]}"#)
            .is_ok()
    );
    assert!(
        venue("kraken")
            .interpret("/x", 200, None, br#"{"error":[],"result":{}}"#)
            .is_ok()
    );
    // A 429 keeps its Retry-After.
    let e = venue("okx")
        .interpret("/x", 429, Some(Duration::from_secs(3)), b"")
        .unwrap_err();
    assert!(
        matches!(e, Error::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(3))
    );
}

#[test]
fn server_time_in_each_venues_answer() {
    let t = 1_700_000_000_123u64;
    let cases = [
        ("binance", json!({"serverTime": t})),
        (
            "bybit",
            json!({"retCode": 0, "result": {"timeSecond": "1700000000", "timeNano": "1700000000123000000"}, "time": t}),
        ),
        ("okx", json!({"code": "0", "data": [{"ts": t.to_string()}]})),
        (
            "coinbase-exchange",
            json!({"iso": "2023-11-14T22:13:20.123Z", "epoch": 1_700_000_000.123}),
        ),
        (
            "coinbase-advanced",
            json!({"iso": "x", "epochSeconds": "1700000000", "epochMillis": t.to_string()}),
        ),
        ("bitmex", json!({"name": "BitMEX API", "timestamp": t})),
        ("deribit", json!({"jsonrpc": "2.0", "result": t})),
    ];
    for (name, body) in cases {
        let got = venue(name).parse_time(&body).unwrap();
        assert!(got.abs_diff(t) <= 1, "{name}: {got}");
    }
    assert_eq!(
        venue("kraken").parse_time(&json!({"error": [], "result": {"unixtime": 1_700_000_000}})),
        Some(1_700_000_000_000)
    );
    assert_eq!(
        venue("binance").parse_time(&json!({"serverTime": "soon"})),
        None
    );
    assert_eq!(
        venue("binance").parse_time(&json!({"serverTime": -5})),
        None
    );
}

#[test]
fn every_rest_venue_has_its_four_calls_and_services_have_none() {
    let order =
        OrderRequest::limit("BTCUSDT", Side::Sell, "0.01", "30000").with_client_order_id("c-1");
    let cancel = CancelRequest::new("BTCUSDT", "42");
    for scheme in Scheme::ALL {
        let v = Venue { scheme };
        let rest_venue = scheme.has_rest() && v.time_path().is_some();
        assert_eq!(v.balance().is_some(), rest_venue, "{scheme}");
        assert_eq!(v.place(&order).is_some(), rest_venue, "{scheme}");
        if let Some(p) = v.place(&order) {
            assert_eq!(p.class, RequestClass::NonIdempotentWrite);
            assert!(p.signed);
        }
        if let Some(c) = v.cancel(&cancel) {
            assert_eq!(c.class, RequestClass::IdempotentWrite);
        }
    }
    assert_eq!(
        venue("deribit").place(&order).unwrap().path,
        "/api/v2/private/sell"
    );
    assert_eq!(
        venue("coinbase-exchange")
            .cancel(&CancelRequest::new("x", "a/../b?c"))
            .unwrap()
            .path,
        "/orders/abc"
    );
    assert!(venue("kraken").uses_nonces() && !venue("kraken").uses_timestamps());
    assert!(venue("binance").uses_timestamps());
    assert!(!venue("keyward-v1").uses_timestamps());
}

#[test]
fn messages_without_codes_are_classified_by_their_words() {
    assert_eq!(by_text("Invalid nonce"), Some(Kind::Nonce));
    assert_eq!(by_text("request timestamp expired"), Some(Kind::Timestamp));
    assert_eq!(by_text("invalid signature"), Some(Kind::Auth));
    assert_eq!(by_text("Order would immediately match"), None);
}
