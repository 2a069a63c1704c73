//! The testnet accepts what the venues accept and refuses with the code each venue documents
//! (issue 13, findings 16 and 25): every venue's unknown-key code, Deribit's bad-signature code,
//! Binance's `recvWindow` with up to three decimals (REST and WebSocket API), Binance's refusal
//! of an HMAC-signed `session.logon`, and BitMEX's `api-expires` as its only replay guard.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

mod common;

use common::*;
use keyward_signing::{Credentials, Request, Scheme, SignOptions, Signer};
use serde_json::{Map, json};

/// A signer for a key the testnet does not know, with a secret of the venue's form.
fn stranger(venue: &str) -> Signer {
    let secret = match venue {
        "kraken" | "coinbase-exchange" => "c2VjcmV0LW9mLW5vYm9keQ==",
        _ => "secret-of-nobody",
    };
    let mut creds = Credentials::new("nobody", secret.into());
    if matches!(venue, "okx" | "coinbase-exchange") {
        creds = creds.with_passphrase("pass".into());
    }
    let scheme: Scheme = venue.parse().unwrap();
    Signer::new(scheme, &creds).unwrap()
}

#[tokio::test]
async fn an_unknown_key_gets_the_venue_key_error() {
    let t = start().await;
    for venue in REST_VENUES {
        let req = requests(venue).remove(0);
        let a = sign_send(&t, venue, &stranger(venue), req, &SignOptions::default()).await;
        let b = &a.body;
        match venue {
            "binance" => assert_eq!((a.status, b["code"].as_i64()), (401, Some(-2015)), "{b}"),
            "bybit" => assert_eq!((a.status, b["retCode"].as_i64()), (200, Some(10003)), "{b}"),
            "okx" => assert_eq!((a.status, b["code"].as_str()), (401, Some("50111")), "{b}"),
            "coinbase-exchange" | "coinbase-advanced" => {
                assert_eq!(
                    (a.status, b["message"].as_str()),
                    (401, Some("Invalid API Key"))
                );
            }
            "kraken" => assert_eq!(
                (a.status, b["error"][0].as_str()),
                (200, Some("EAPI:Invalid key"))
            ),
            "bitmex" => {
                assert_eq!(a.status, 401);
                assert_eq!(b["error"]["message"], "Invalid API Key.");
                assert_eq!(b["error"]["name"], "HTTPError");
            }
            "deribit" => {
                assert_eq!(a.status, 400);
                assert_eq!(b["error"]["code"], 13004, "{b}");
                assert_eq!(b["error"]["message"], "invalid_credentials");
            }
            other => panic!("{other}"),
        }
    }
    t.shutdown().await;
}

#[tokio::test]
async fn deribit_answers_a_bad_signature_with_13009_unauthorized() {
    let t = start().await;
    let a = sign_send(
        &t,
        "deribit",
        &wrong_signer(&t, "deribit"),
        requests("deribit").remove(0),
        &SignOptions::default(),
    )
    .await;
    assert_eq!(a.status, 400);
    assert_eq!(a.body["error"]["code"], 13009, "{}", a.body);
    assert_eq!(a.body["error"]["message"], "unauthorized");
    t.shutdown().await;
}

/// Signs a Binance account read whose `recvWindow` is `recv` (as text, exactly as sent).
fn binance_account(t: &keyward_testnet::Testnet, recv: &str) -> Request {
    let query = format!("recvWindow={recv}&timestamp={}", now_ms());
    signer(t, "binance")
        .sign(
            Request::get("/api/v3/account").with_query(query),
            &SignOptions::default(),
        )
        .unwrap()
}

#[tokio::test]
async fn binance_accepts_a_recv_window_with_up_to_three_decimals() {
    let t = start().await;
    for recv in ["6000.346", "5000.5", "60000", "60000.000"] {
        let a = send(&t, "binance", &binance_account(&t, recv)).await;
        assert!(is_success("binance", &a), "recvWindow={recv}: {:?}", a.body);
    }
    for recv in ["6000.3461", "60000.001", "1e3", ".5", "5000.", "-1"] {
        let a = send(&t, "binance", &binance_account(&t, recv)).await;
        assert_eq!(
            (a.status, a.body["code"].as_i64()),
            (400, Some(-1102)),
            "recvWindow={recv}: {:?}",
            a.body
        );
    }
    t.shutdown().await;
}

async fn binance_ws(t: &keyward_testnet::Testnet) -> Ws {
    let url = ws_url(t.url("binance").unwrap(), "/ws");
    tokio_tungstenite::connect_async(url).await.unwrap().0
}

#[tokio::test]
async fn binance_ws_api_takes_a_decimal_recv_window_and_refuses_an_hmac_session_logon() {
    let t = start().await;
    let s = signer(&t, "binance");
    let mut ws = binance_ws(&t).await;
    // A signed request with a decimal recvWindow (a JSON number, as binance-sdk-spot sends it).
    let mut params = Map::new();
    params.insert("recvWindow".into(), json!(6000.346));
    let signed = s.ws_auth(&params, &SignOptions::default()).unwrap();
    let r = ask(
        &mut ws,
        &json!({"id": "a1", "method": "account.status", "params": signed}),
    )
    .await;
    assert_eq!(r["status"], 200, "{r}");
    assert_eq!(r["id"], "a1");
    // Binance documents session.logon as Ed25519 only; an HMAC-signed one is refused with the
    // code the venue answers (-1022), even with the right secret.
    let logon = s.ws_auth(&Map::new(), &SignOptions::default()).unwrap();
    let r = ask(
        &mut ws,
        &json!({"id": "l1", "method": "session.logon", "params": logon}),
    )
    .await;
    assert_eq!(
        (r["status"].as_i64(), r["id"].as_str()),
        (Some(400), Some("l1")),
        "{r}"
    );
    assert_eq!(r["error"]["code"], -1022, "{r}");
    t.shutdown().await;
}

#[tokio::test]
async fn bitmex_accepts_a_byte_identical_request_before_it_expires() {
    let t = start().await;
    let s = signer(&t, "bitmex");
    let expires = now_ms() / 1000 + 30;
    let at = SignOptions {
        expires: Some(expires),
        ..SignOptions::default()
    };
    let signed = s.sign(requests("bitmex").remove(0), &at).unwrap();
    for attempt in 0..2 {
        let a = send(&t, "bitmex", &signed).await;
        assert!(is_success("bitmex", &a), "attempt {attempt}: {:?}", a.body);
    }
    // The expiry still holds: an expired request is refused.
    let past = SignOptions {
        expires: Some(now_ms() / 1000 - 1),
        ..SignOptions::default()
    };
    let old = s.sign(requests("bitmex").remove(0), &past).unwrap();
    let a = send(&t, "bitmex", &old).await;
    assert_eq!(a.status, 401, "{:?}", a.body);
    t.shutdown().await;
}
