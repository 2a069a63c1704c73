//! Error mapping per venue from sample answers (tests/data/venue_errors.json, written from the
//! venues' error pages and docs/TESTNET.md), time parsing and the call shapes.

use std::time::Duration;

use keyward_signing::Scheme;
use serde_json::{Value, json};

use super::*;
use crate::order::{OrderAck, Side};

fn venue(name: &str) -> Venue {
    Venue::new(name.parse().unwrap())
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
        let v = Venue::new(scheme);
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

/// Finding 15 of issue 13: every venue that takes a client order id declares its field and
/// form; a placement without one gets a fresh id the venue's form allows, and the call carries
/// it in that field.
#[test]
fn every_order_placement_carries_a_fresh_client_order_id_in_the_venues_form() {
    let bare = OrderRequest::market("BTCUSDT", Side::Buy, "1");
    for scheme in Scheme::ALL {
        let v = Venue::new(scheme);
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

/// Each venue's acknowledgement names the order in the field the venue documents for it
/// (moved from `order.rs`, where a recursive search for any `id` found it).
#[test]
fn order_ids_are_read_from_each_venues_documented_field() {
    let order = OrderRequest::market("BTCUSDT", Side::Buy, "1");
    let cases = [
        ("binance", json!({"orderId": 28, "symbol": "BTCUSDT"}), "28"),
        (
            "bybit",
            json!({"retCode": 0, "result": {"orderId": "b-1"}}),
            "b-1",
        ),
        (
            "okx",
            json!({"code": "0", "data": [{"ordId": "o-1", "sCode": "0"}]}),
            "o-1",
        ),
        (
            "kraken",
            json!({"error": [], "result": {"txid": ["K-1"]}}),
            "K-1",
        ),
        ("bitmex", json!({"orderID": "x-1"}), "x-1"),
        (
            "deribit",
            json!({"result": {"order": {"order_id": "d-1"}}}),
            "d-1",
        ),
        (
            "coinbase-advanced",
            json!({"success": true, "success_response": {"order_id": "a-1"}}),
            "a-1",
        ),
        (
            "coinbase-exchange",
            json!({"id": "c-1", "status": "pending"}),
            "c-1",
        ),
    ];
    for (name, raw, id) in cases {
        let call = venue(name).place(&order).unwrap();
        let ack = OrderAck::from_raw(raw, call.answer_order_id);
        assert_eq!(ack.order_id.as_deref(), Some(id), "{name}");
    }
    let binance = venue("binance").place(&order).unwrap();
    assert_eq!(
        OrderAck::from_raw(json!({"ok": true}), binance.answer_order_id).order_id,
        None
    );
    // Another venue's field, or an `id` anywhere else, is not this venue's order id.
    for raw in [
        json!({"result": {"orderId": "b-1"}}),
        json!({"data": [{"id": 7}], "orderID": "x"}),
    ] {
        assert_eq!(
            OrderAck::from_raw(raw.clone(), binance.answer_order_id).order_id,
            None,
            "{raw}"
        );
    }
}

/// An error message full of the words the old keyword fallback read, as the venue would
/// answer it with a code it does not document (or, for the venues without codes, as a plain
/// message). HTTP 400 (200 where the venue answers errors with 200): no HTTP meaning applies.
fn trigger_word_answer(name: &str) -> (u16, Value) {
    const WORDS: &str = "timestamp expired outside recvWindow, nonce, insignificant signature, invalid api key, insufficient funds, rate limit, permission denied";
    match name {
        "binance" => (400, json!({"code": -1999, "msg": WORDS})),
        "bybit" => (
            200,
            json!({"retCode": 99999, "retMsg": WORDS, "result": {}}),
        ),
        "okx" => (200, json!({"code": "59999", "msg": WORDS, "data": []})),
        "coinbase-exchange" | "coinbase-advanced" => (400, json!({"message": WORDS})),
        "kraken" => (200, json!({"error": [format!("EGeneral:{WORDS}")]})),
        "bitmex" => (
            400,
            json!({"error": {"message": WORDS, "name": "ValidationError"}}),
        ),
        "deribit" => (
            400,
            json!({"jsonrpc": "2.0", "error": {"code": 19999, "message": WORDS}}),
        ),
        _ => (400, json!({"error": WORDS})),
    }
}

/// Must-show item 4 of issue 14: for every venue, an unknown code or message is a plain
/// refusal, whatever its words: never a timestamp refusal (which would resync and re-send),
/// a nonce refusal (which is retried), nor refused credentials.
#[test]
fn an_unknown_error_full_of_trigger_words_is_a_plain_refusal_on_every_venue() {
    for scheme in Scheme::ALL {
        let v = Venue::new(scheme);
        if !scheme.has_rest() {
            continue;
        }
        let (status, body) = trigger_word_answer(v.name());
        let err = v
            .interpret("/x", status, None, body.to_string().as_bytes())
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Rejected, "{scheme}: {err}");
        // At 401 only HTTP's own meaning applies, never a word.
        let err = v
            .interpret("/x", 401, None, body.to_string().as_bytes())
            .unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::Authentication | ErrorKind::Rejected),
            "{scheme}: {err}"
        );
        assert_ne!(err.kind(), ErrorKind::Timestamp, "{scheme}");
    }
}

/// Each venue's time endpoint answer, read in the unit the venue declares.
#[test]
fn every_time_endpoint_declares_its_field_and_unit() {
    for scheme in Scheme::ALL {
        let v = Venue::new(scheme);
        assert_eq!(
            v.time_path().is_some(),
            v.rules.server_time().is_some(),
            "{scheme}"
        );
    }
    assert_eq!(
        venue("bitmart")
            .parse_time(&json!({"code": 1000, "data": {"server_time": 1_700_000_000_123u64}})),
        Some(1_700_000_000_123)
    );
    // Seconds where a venue declares milliseconds are not scaled up by a guess.
    assert_eq!(
        venue("binance").parse_time(&json!({"serverTime": 1_700_000_000})),
        Some(1_700_000_000)
    );
}

/// The default rate limits are the venue's own: Binance's three windows, BitMEX's one with its
/// header (moved from keyward-resilience's presets and the root `tests/e2e/exchange/limits.rs`),
/// 10 requests per second elsewhere.
#[test]
fn default_limits_are_each_venues_documented_ones() {
    let binance = venue("binance").default_limits();
    assert_eq!(
        binance.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(),
        ["weight/1m", "orders/10s", "orders/1d"]
    );
    let limits = venue("bitmex").default_limits();
    assert_eq!(limits.len(), 1);
    assert_eq!(limits[0].capacity, 120);
    assert_eq!(
        limits[0].remaining_header.as_deref(),
        Some("x-ratelimit-remaining")
    );
    let okx = venue("okx").default_limits();
    assert_eq!((okx.len(), okx[0].capacity), (1, 10));
}

/// The WebSocket facts each descriptor declares agree with keyward-signing: a venue that
/// authenticates with a signed message is one the signer builds a message for.
#[test]
fn websocket_facts_agree_with_the_signer() {
    for scheme in Scheme::ALL {
        let v = Venue::new(scheme);
        assert_eq!(
            v.ws_auth() == Some(WsAuthBy::Message),
            scheme.has_ws(),
            "{scheme}"
        );
    }
    assert_eq!(venue("kraken").ws_auth(), Some(WsAuthBy::Token));
    assert_eq!(venue("keyward-v1").ws_auth(), Some(WsAuthBy::Handshake));
    // With a CDP key (keyward-signing signs its WebSocket subscribe since issue 15).
    assert_eq!(
        venue("coinbase-advanced").ws_auth(),
        Some(WsAuthBy::Message)
    );
    assert!(venue("binance").ws_max_age().is_some());
    assert!(venue("okx").ws_max_age().is_none());
    assert!(venue("hmac-newline-v0").ws_auth_repeat_refused_within_a_second());
    assert!(!venue("okx").ws_auth_repeat_refused_within_a_second());
}

/// The production origins (moved from the CLI's `doctor --clock-skew`): every venue with a
/// REST client has one, https, and nothing else has one.
#[test]
fn every_rest_venue_names_its_production_origin() {
    for scheme in Scheme::ALL {
        let rest_venue = scheme.has_rest() && Venue::new(scheme).time_path().is_some();
        let origin = production_origin(scheme);
        assert_eq!(origin.is_some(), rest_venue, "{scheme}");
        if let Some(origin) = origin {
            assert!(
                origin.starts_with("https://") && !origin.ends_with('/'),
                "{origin}"
            );
        }
    }
    assert_eq!(
        production_origin(Scheme::Binance),
        Some("https://api.binance.com")
    );
}

/// Kraken's error strings are codes with optional additional text after a colon; a longer
/// word is not the code.
#[test]
fn kraken_codes_take_additional_text_but_not_longer_words() {
    let kraken = venue("kraken");
    let kind = |e: &str| {
        kraken
            .interpret(
                "/x",
                200,
                None,
                json!({"error": [e]}).to_string().as_bytes(),
            )
            .unwrap_err()
            .kind()
    };
    assert_eq!(
        kind("EOrder:Insufficient funds:margin"),
        ErrorKind::InsufficientFunds
    );
    assert_eq!(kind("EAPI:Invalid keyboard"), ErrorKind::Rejected);
    assert_eq!(kind("EAPI:Invalid nonce"), ErrorKind::Nonce);
}

/// The proxy's WebSocket pass-through: each served venue recognises the auth message its own
/// signer builds (a client's auth, refused or answered by the proxy) and nothing else; its
/// answer is what the venue's own acknowledgement check accepts.
#[test]
fn the_ws_relay_recognises_each_venues_own_auth_message() {
    use keyward_signing::{Credentials, SignOptions, Signer};

    for name in ["bybit", "okx"] {
        let v = venue(name);
        let Some(relay::WsRelay::Served { client_auth }) = v.relay().map(|r| r.ws) else {
            panic!("{name}: its streams are not passed through");
        };
        let mut creds = Credentials::new("placeholder-key", "placeholder-secret".into());
        if name == "okx" {
            creds = creds.with_passphrase("placeholder-passphrase".into());
        }
        let signer = Signer::new(v.scheme, &creds).unwrap();
        let auth = signer
            .ws_auth(&serde_json::Map::new(), &SignOptions::at(1_700_000_000_000))
            .unwrap();
        let ack = client_auth(&auth).unwrap_or_else(|| panic!("{name}: {auth} not recognised"));
        assert_eq!(
            v.ws_ack(&Value::Null, &ack),
            ws_auth::Ack::Accepted,
            "{name}: {ack}"
        );
        for other in [
            json!({"op": "subscribe", "args": ["order"]}),
            json!({"op": "ping"}),
            json!("ping"),
        ] {
            assert!(client_auth(&other).is_none(), "{name}: {other}");
        }
    }
    for name in ["binance", "kraken"] {
        assert!(
            matches!(
                venue(name).relay().map(|r| r.ws),
                Some(relay::WsRelay::NotNeeded(_))
            ),
            "{name}"
        );
    }
}
