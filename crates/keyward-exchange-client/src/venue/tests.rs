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
    // Only a 2xx is a success (finding 10 of issue 13).
    for status in [100, 101, 199, 300, 301, 302, 304, 307, 399] {
        let e = b
            .interpret("/x", status, None, b"{\"orderId\":1}")
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnexpectedStatus, "{status}");
    }
    assert!(b.interpret("/x", 201, None, b"{}").is_ok());
    assert!(b.interpret("/x", 204, None, b"").is_ok());
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
        matches!(e, Error::Venue { kind: crate::ErrorKind::RateLimited, retry_after: Some(d), .. } if d == Duration::from_secs(3))
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

/// Finding 15 of issue 13: every venue that takes a client order id declares its field and
/// form; a placement without one gets a fresh id the venue's form allows, and the call carries
/// it in that field.
#[test]
fn every_order_placement_carries_a_fresh_client_order_id_in_the_venues_form() {
    let bare = OrderRequest::market("BTCUSDT", Side::Buy, "1");
    for scheme in Scheme::ALL {
        let v = Venue { scheme };
        let Some(rule) = v.order_id() else {
            assert!(
                v.place(&bare).is_none(),
                "{scheme} places orders without an id"
            );
            continue;
        };
        let a = v.prepare_order(&bare).unwrap();
        let b = v.prepare_order(&bare).unwrap();
        let id = a.client_order_id.clone().unwrap();
        assert!(rule.accepts(&id), "{scheme}: {id}");
        assert_ne!(a.client_order_id, b.client_order_id, "{scheme}: ids repeat");
        let call = v.place(&a).unwrap();
        assert_eq!(
            call.client_order_id.as_deref(),
            Some(id.as_str()),
            "{scheme}"
        );
        let (query, body, _) = call.params.encode(v.query_encoding());
        let sent = format!("{query} {}", String::from_utf8(body).unwrap());
        assert!(sent.contains(rule.field), "{scheme}: {sent}");
        assert!(sent.contains(&id), "{scheme}: {sent}");
        assert!(
            !sent.contains(r#""""#),
            "{scheme}: an empty string in {sent}"
        );
        // A caller's id that fits is kept as given.
        let given = bare
            .clone()
            .with_client_order_id("0f8fad5b-d9cb-469f-a165-70867728950e");
        let given = if rule.accepts("0f8fad5b-d9cb-469f-a165-70867728950e") {
            given
        } else {
            bare.clone().with_client_order_id("abc123")
        };
        assert_eq!(
            v.prepare_order(&given).unwrap().client_order_id,
            given.client_order_id,
            "{scheme}"
        );
    }
}

#[test]
fn generated_ids_keep_each_venues_documented_limits() {
    let bare = OrderRequest::market("BTCUSDT", Side::Buy, "1");
    let id = |name: &str| {
        venue(name)
            .prepare_order(&bare)
            .unwrap()
            .client_order_id
            .unwrap()
    };
    let hex32 = |s: &str| s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit());
    // Binance ^[.A-Z:/a-z0-9_-]{1,36}$, Bybit 36 [A-Za-z0-9_-], OKX 32 alphanumerics, Kraken's
    // 32-digit UUID, BitMEX 36, Deribit 64, Advanced Trade: 32 hex digits.
    for name in [
        "binance",
        "bybit",
        "okx",
        "kraken",
        "bitmex",
        "deribit",
        "coinbase-advanced",
    ] {
        assert!(hex32(&id(name)), "{name}: {}", id(name));
    }
    // Coinbase Exchange requires a UUID.
    let cx = id("coinbase-exchange");
    assert_eq!(cx.len(), 36, "{cx}");
    assert_eq!(cx.as_bytes()[14], b'4', "a version-4 UUID: {cx}");
}

#[test]
fn a_callers_id_outside_the_venues_form_is_refused_before_sending() {
    let with = |id: &str| OrderRequest::market("X", Side::Buy, "1").with_client_order_id(id);
    let cases = [
        ("okx", "has-a-dash"),
        ("okx", &"a".repeat(33)),
        ("binance", "space inside"),
        ("binance", ""),
        ("coinbase-exchange", "not-a-uuid"),
        ("bybit", "a.b"),
        ("deribit", &"x".repeat(65)),
    ];
    for (name, id) in cases {
        let err = venue(name).prepare_order(&with(id)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{name} {id:?}");
    }
    assert!(venue("binance").prepare_order(&with("a.b:c/d_e-f")).is_ok());
    // Services take no order id: nothing is added.
    let svc = venue("keyward-v1")
        .prepare_order(&OrderRequest::market("X", Side::Buy, "1"))
        .unwrap();
    assert_eq!(svc.client_order_id, None);
}
