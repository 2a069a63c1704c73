//! Every venue's REST endpoints: signed requests succeed; a wrong secret, a stale timestamp and
//! a reused Kraken nonce get the venue's own error.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

mod common;

use common::*;
use keyward_signing::SignOptions;
use serde_json::Value;

#[tokio::test]
async fn signed_requests_succeed_at_every_endpoint() {
    let t = start().await;
    for venue in REST_VENUES {
        let s = signer(&t, venue);
        for req in requests(venue) {
            let path = req.path.clone();
            let a = sign_send(&t, venue, &s, req, &SignOptions::default()).await;
            assert!(is_success(venue, &a), "{venue} {path}: {a:?}");
        }
    }
    assert_eq!(t.hits("binance", "POST", "/api/v3/order"), 1);
    assert_eq!(t.hits("kraken", "POST", "/0/private/AddOrder"), 1);
    assert_eq!(t.hits("binance", "GET", "/api/v3/order"), 0);
    t.shutdown().await;
}

#[tokio::test]
async fn time_endpoints_answer_the_server_time() {
    let t = start().await;
    let before = now_ms() / 1000;
    let cases: [(&str, &str, &str); 9] = [
        ("binance", "/api/v3/time", "/serverTime"),
        ("bybit", "/v5/market/time", "/result/timeSecond"),
        ("okx", "/api/v5/public/time", "/data/0/ts"),
        ("coinbase-exchange", "/time", "/epoch"),
        (
            "coinbase-advanced",
            "/api/v3/brokerage/time",
            "/epochSeconds",
        ),
        ("kraken", "/0/public/Time", "/result/unixtime"),
        ("bitmex", "/api/v1", "/timestamp"),
        ("deribit", "/api/v2/public/get_time", "/result"),
        ("bitmart", "/system/time", "/data/server_time"),
    ];
    for (venue, path, pointer) in cases {
        let a = send(&t, venue, &keyward_signing::Request::get(path)).await;
        assert_eq!(a.status, 200, "{venue}");
        let v = &a.body.pointer(pointer).unwrap_or(&Value::Null).clone();
        let n = match v {
            Value::String(s) => s.parse::<f64>().unwrap(),
            other => other.as_f64().unwrap(),
        };
        // Seconds or milliseconds: bring both to seconds.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        // reason: whole positive times
        let secs = if n > 1e11 {
            (n / 1000.0) as u64
        } else {
            n as u64
        };
        assert!(secs + 1 >= before && secs <= before + 60, "{venue}: {n}");
    }
    t.shutdown().await;
}

/// Checks the venue's signature error.
fn assert_sign_error(venue: &str, a: &Answer) {
    let b = &a.body;
    match venue {
        "binance" => assert_eq!((a.status, b["code"].as_i64()), (400, Some(-1022)), "{b}"),
        "bybit" => assert_eq!((a.status, b["retCode"].as_i64()), (200, Some(10004)), "{b}"),
        "okx" => assert_eq!((a.status, b["code"].as_str()), (401, Some("50113")), "{b}"),
        "coinbase-exchange" | "coinbase-advanced" => {
            assert_eq!(
                (a.status, b["message"].as_str()),
                (401, Some("invalid signature"))
            );
        }
        "kraken" => assert_eq!(
            (a.status, b["error"][0].as_str()),
            (200, Some("EAPI:Invalid signature"))
        ),
        "bitmex" => {
            assert_eq!(a.status, 401);
            assert_eq!(b["error"]["message"], "Signature not valid.");
            assert_eq!(b["error"]["name"], "HTTPError");
        }
        "deribit" => {
            assert_eq!(a.status, 400);
            assert_eq!(b["jsonrpc"], "2.0");
            assert_eq!(b["error"]["code"], 13009);
            assert_eq!(b["error"]["message"], "unauthorized");
        }
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn a_wrong_secret_gets_the_venue_signature_error() {
    let t = start().await;
    for venue in REST_VENUES {
        let s = wrong_signer(&t, venue);
        for req in requests(venue) {
            let a = sign_send(&t, venue, &s, req, &SignOptions::default()).await;
            assert_sign_error(venue, &a);
        }
    }
    t.shutdown().await;
}

#[tokio::test]
async fn a_stale_timestamp_gets_the_venue_timestamp_error() {
    let t = start().await;
    let old = SignOptions::at(now_ms() - 3_600_000);
    for venue in REST_VENUES.into_iter().filter(|v| *v != "kraken") {
        let s = signer(&t, venue);
        let req = requests(venue).remove(0);
        let a = sign_send(&t, venue, &s, req, &old).await;
        let b = &a.body;
        match venue {
            "binance" => assert_eq!((a.status, b["code"].as_i64()), (400, Some(-1021)), "{b}"),
            "bybit" => assert_eq!((a.status, b["retCode"].as_i64()), (200, Some(10002)), "{b}"),
            "okx" => assert_eq!((a.status, b["code"].as_str()), (401, Some("50102")), "{b}"),
            "coinbase-exchange" | "coinbase-advanced" => assert_eq!(
                (a.status, b["message"].as_str()),
                (401, Some("request timestamp expired"))
            ),
            "bitmex" => {
                assert_eq!(a.status, 401);
                assert!(b["error"]["message"].as_str().unwrap().contains("expired"));
            }
            "deribit" => {
                assert_eq!((a.status, b["error"]["code"].as_i64()), (400, Some(13004)));
                assert!(
                    b["error"]["message"]
                        .as_str()
                        .unwrap()
                        .contains("timestamp")
                );
            }
            other => panic!("{other}"),
        }
    }
    t.shutdown().await;
}

#[tokio::test]
async fn kraken_refuses_a_reused_nonce_and_an_unknown_key() {
    let t = start().await;
    let s = signer(&t, "kraken");
    let at = SignOptions {
        nonce: Some("1700000000000".to_owned()),
        ..SignOptions::default()
    };
    let first = sign_send(&t, "kraken", &s, requests("kraken").remove(0), &at).await;
    assert!(is_success("kraken", &first), "{first:?}");
    let again = sign_send(&t, "kraken", &s, requests("kraken").remove(0), &at).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["error"][0], "EAPI:Invalid nonce");
    let lower = SignOptions {
        nonce: Some("1699999999999".to_owned()),
        ..SignOptions::default()
    };
    let a = sign_send(&t, "kraken", &s, requests("kraken").remove(1), &lower).await;
    assert_eq!(a.body["error"][0], "EAPI:Invalid nonce");

    let stranger = keyward_signing::Signer::new(
        keyward_signing::Scheme::Kraken,
        &keyward_signing::Credentials::new("nobody", "c2VjcmV0".into()),
    )
    .unwrap();
    let a = sign_send(
        &t,
        "kraken",
        &stranger,
        requests("kraken").remove(0),
        &SignOptions::default(),
    )
    .await;
    assert_eq!(a.body["error"][0], "EAPI:Invalid key");
    t.shutdown().await;
}

#[tokio::test]
async fn unknown_keys_and_unsigned_requests_get_typed_errors() {
    let t = start().await;
    let stranger = keyward_signing::Signer::new(
        keyward_signing::Scheme::Binance,
        &keyward_signing::Credentials::new("nobody", "secret".into()),
    )
    .unwrap();
    let a = sign_send(
        &t,
        "binance",
        &stranger,
        requests("binance").remove(0),
        &SignOptions::default(),
    )
    .await;
    assert_eq!((a.status, a.body["code"].as_i64()), (401, Some(-2015)));
    for venue in REST_VENUES {
        for req in requests(venue) {
            let a = send(&t, venue, &req).await;
            assert!(!is_success(venue, &a), "{venue}: unsigned request accepted");
        }
        let a = send(&t, venue, &keyward_signing::Request::get("/no/such/path")).await;
        assert_eq!(a.status, 404, "{venue}");
    }
    t.shutdown().await;
}

#[test]
fn rest_venues_are_served_venues() {
    for venue in REST_VENUES {
        assert!(keyward_testnet::VENUES.contains(&venue), "{venue}");
    }
}

/// The venues' only replay guard is their freshness rule (Kraken: its nonce): a byte-identical
/// request sent twice inside the window is accepted twice, as at the venue. A client that
/// re-signs within the same millisecond (after a retry wait on an injected clock, say) sends
/// exactly that. Before the fix the testnet refused the twin as a replay (Binance: -1021), which
/// made `tests/e2e/exchange/canary.rs` fail about 3 runs in 5.
#[tokio::test]
async fn a_byte_identical_request_inside_the_window_is_accepted_twice() {
    let t = start().await;
    for venue in REST_VENUES {
        let s = signer(&t, venue);
        let balance = requests(venue).remove(0);
        let signed = s.sign(balance, &SignOptions::at(now_ms())).unwrap();
        let first = send(&t, venue, &signed).await;
        assert!(is_success(venue, &first), "{venue}: {first:?}");
        let second = send(&t, venue, &signed).await;
        if venue == "kraken" {
            // Kraken's nonce must increase: the same nonce twice is refused.
            assert_eq!(
                second.body["error"][0].as_str(),
                Some("EAPI:Invalid nonce"),
                "{second:?}"
            );
        } else {
            assert!(is_success(venue, &second), "{venue}: {second:?}");
        }
    }
    t.shutdown().await;
}
