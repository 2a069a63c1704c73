//! Asymmetric API keys (issue 15): the testnet verifies Ed25519, ECDSA P-256 and RSA signatures
//! with the public halves it is given, beside each venue's HMAC credentials, and refuses an
//! unknown key or a wrong private key with the venue's own error; Coinbase Advanced CDP JWTs
//! are bound to the `Host` they were sent to; a public key of a kind the venue does not take is
//! a configuration error.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

mod common;

use std::sync::OnceLock;

use common::*;
use keyward_signing::keys::KeyKind;
use keyward_signing::secrecy::ExposeSecret;
use keyward_signing::{Credentials, Scheme, SignOptions, Signer};
use keyward_testnet::{Error, KeyPair, Testnet, TestnetConfig, VenueKey, generate_key_pairs};
use serde_json::{Map, Value, json};

/// The key pairs every test here serves: generated once per test binary (RSA keys take the
/// longest to make).
fn pairs() -> &'static [KeyPair] {
    static PAIRS: OnceLock<Vec<KeyPair>> = OnceLock::new();
    PAIRS.get_or_init(|| generate_key_pairs().unwrap())
}

/// The served pair of `venue` and `kind`.
fn pair(venue: &str, kind: KeyKind) -> &'static KeyPair {
    pairs()
        .iter()
        .find(|p| p.venue() == venue && p.kind() == kind)
        .unwrap()
}

/// A pair the testnet does not know (same kind).
fn stranger(venue: &str, kind: KeyKind) -> KeyPair {
    KeyPair::generate(venue, kind).unwrap()
}

async fn start_with_keys() -> Testnet {
    let config = TestnetConfig::default().with_public_keys(pairs().iter().map(KeyPair::public));
    Testnet::start(config).await.unwrap()
}

/// A signer with `creds` for `venue`.
fn signer_of(venue: &str, creds: &Credentials) -> Signer {
    let scheme: Scheme = venue.parse().unwrap();
    Signer::new(scheme, creds).unwrap()
}

/// The options a client of `venue` at `t` signs with: its origin for a scheme whose signature
/// covers the host (Coinbase Advanced's JWT `uri`), none otherwise.
fn options(t: &Testnet, venue: &str) -> SignOptions {
    let scheme: Scheme = venue.parse().unwrap();
    SignOptions {
        origin: scheme.signs_host().then(|| origin(t.url(venue).unwrap())),
        ..SignOptions::default()
    }
}

#[test]
fn one_pair_per_venue_and_accepted_kind_is_generated() {
    let names: Vec<String> = pairs().iter().map(KeyPair::name).collect();
    assert_eq!(
        names,
        [
            "binance-ed25519",
            "binance-rsa",
            "bybit-rsa",
            "coinbase-advanced-ed25519",
            "coinbase-advanced-p256",
        ]
    );
    for p in pairs() {
        let public = p.public();
        assert_eq!(public.kind().unwrap(), p.kind());
        assert!(public.public_key.contains("PUBLIC KEY"), "{}", p.name());
        assert!(!public.public_key.contains("PRIVATE"), "{}", p.name());
        assert!(p.private_pem().expose_secret().contains("PRIVATE KEY"));
    }
}

#[tokio::test]
async fn each_key_kind_signs_balance_place_and_cancel_beside_the_hmac_key() {
    let t = start_with_keys().await;
    for p in pairs() {
        let venue = p.venue();
        let s = signer_of(venue, &p.credentials().to_signing());
        for req in requests(venue) {
            let a = sign_send(&t, venue, &s, req.clone(), &options(&t, venue)).await;
            assert!(
                is_success(venue, &a),
                "{}: {} {}: {a:?}",
                p.name(),
                req.method,
                req.path
            );
        }
        // The venue's HMAC credentials still work beside its public keys.
        let hmac = signer(&t, venue);
        let a = sign_send(
            &t,
            venue,
            &hmac,
            requests(venue).remove(0),
            &options(&t, venue),
        )
        .await;
        assert!(is_success(venue, &a), "{venue} hmac: {a:?}");
    }
    assert_eq!(t.public_keys().len(), pairs().len());
    t.shutdown().await;
}

/// The venue's answer to a key it does not know.
fn unknown_key_refusal(venue: &str, a: &Answer) -> bool {
    match venue {
        "binance" => a.status == 401 && a.body["code"] == -2015,
        "bybit" => a.status == 200 && a.body["retCode"] == 10003,
        "coinbase-advanced" => a.status == 401 && a.text == "Unauthorized",
        other => panic!("{other}"),
    }
}

/// The venue's answer to a known key whose signature does not verify.
fn bad_signature_refusal(venue: &str, a: &Answer) -> bool {
    match venue {
        "binance" => a.status == 400 && a.body["code"] == -1022,
        "bybit" => a.status == 200 && a.body["retCode"] == 10004,
        "coinbase-advanced" => a.status == 401 && a.text == "Unauthorized",
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn an_unknown_key_pair_gets_the_venue_unknown_key_error() {
    let t = start_with_keys().await;
    for p in pairs() {
        let venue = p.venue();
        let other = stranger(venue, p.kind());
        let s = signer_of(venue, &other.credentials().to_signing());
        let a = sign_send(
            &t,
            venue,
            &s,
            requests(venue).remove(1),
            &options(&t, venue),
        )
        .await;
        assert!(unknown_key_refusal(venue, &a), "{}: {a:?}", p.name());
    }
    t.shutdown().await;
}

#[tokio::test]
async fn a_known_key_id_signed_with_another_private_key_gets_the_signature_error() {
    let t = start_with_keys().await;
    for p in pairs() {
        let venue = p.venue();
        let other = stranger(venue, p.kind());
        let forged = Credentials::new(p.api_key(), other.private_pem().clone());
        let s = signer_of(venue, &forged);
        let a = sign_send(
            &t,
            venue,
            &s,
            requests(venue).remove(1),
            &options(&t, venue),
        )
        .await;
        assert!(bad_signature_refusal(venue, &a), "{}: {a:?}", p.name());
    }
    // A key id of one kind signed with a key of another kind the venue accepts.
    let rsa = pair("binance", KeyKind::Rsa);
    let ed = stranger("binance", KeyKind::Ed25519);
    let s = signer_of(
        "binance",
        &Credentials::new(rsa.api_key(), ed.private_pem().clone()),
    );
    let a = sign_send(
        &t,
        "binance",
        &s,
        requests("binance").remove(1),
        &SignOptions::default(),
    )
    .await;
    assert!(bad_signature_refusal("binance", &a), "{a:?}");
    t.shutdown().await;
}

#[tokio::test]
async fn binance_answers_a_malformed_unknown_key_with_2014() {
    let t = start_with_keys().await;
    let ed = stranger("binance", KeyKind::Ed25519);
    let s = signer_of(
        "binance",
        &Credentials::new("not a key!", ed.private_pem().clone()),
    );
    let a = sign_send(
        &t,
        "binance",
        &s,
        requests("binance").remove(0),
        &SignOptions::default(),
    )
    .await;
    assert_eq!(
        (a.status, a.body["code"].as_i64()),
        (401, Some(-2014)),
        "{a:?}"
    );
    assert_eq!(a.body["msg"], "API-key format invalid.");
    t.shutdown().await;
}

#[tokio::test]
async fn a_coinbase_jwt_verifies_only_for_the_host_it_was_sent_to() {
    let t = start_with_keys().await;
    let venue = "coinbase-advanced";
    let base = origin(t.url(venue).unwrap());
    for kind in [KeyKind::P256, KeyKind::Ed25519] {
        let s = signer_of(venue, &pair(venue, kind).credentials().to_signing());
        let req = requests(venue).remove(0);
        // The request arrives with `Host: 127.0.0.1:PORT`: a JWT for that host verifies.
        let signed = s
            .sign(
                req.clone(),
                &SignOptions {
                    origin: Some(base.clone()),
                    ..SignOptions::default()
                },
            )
            .unwrap();
        let bearer = signed.header("Authorization").unwrap().to_owned();
        assert!(bearer.starts_with("Bearer "), "{kind}");
        let a = send(&t, venue, &signed).await;
        assert!(is_success(venue, &a), "{kind}: {a:?}");
        // The same request signed for the production host is refused: its `uri` names
        // another host than the request's.
        let elsewhere = s.sign(req, &SignOptions::default()).unwrap();
        let a = send(&t, venue, &elsewhere).await;
        assert!(unknown_key_refusal(venue, &a), "{kind}: {a:?}");
        assert_eq!(
            a.header("content-type").as_deref(),
            Some("text/plain; charset=utf-8")
        );
    }
    // A legacy HMAC key keeps the `{"message": ...}` refusal.
    let a = sign_send(
        &t,
        venue,
        &wrong_signer(&t, venue),
        requests(venue).remove(0),
        &SignOptions::default(),
    )
    .await;
    assert_eq!(
        (a.status, a.body["message"].as_str()),
        (401, Some("invalid signature"))
    );
    t.shutdown().await;
}

#[tokio::test]
async fn binance_session_logon_takes_the_ed25519_key_and_refuses_the_others() {
    let t = start_with_keys().await;
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url(t.url("binance").unwrap(), "/ws"))
        .await
        .unwrap();
    let logon = SignOptions {
        method: Some("session.logon".to_owned()),
        ..SignOptions::default()
    };
    let ed = signer_of(
        "binance",
        &pair("binance", KeyKind::Ed25519).credentials().to_signing(),
    );
    let params = ed.ws_auth(&Map::new(), &logon).unwrap();
    let r = ask(
        &mut ws,
        &json!({"id": "l1", "method": "session.logon", "params": params}),
    )
    .await;
    assert_eq!(r["status"], 200, "{r}");
    assert_eq!(
        r["result"]["apiKey"],
        pair("binance", KeyKind::Ed25519).api_key()
    );
    // The RSA key signs other WebSocket API requests, but a logon only as Ed25519 would:
    // re-signed with RSA it is the venue's -1022.
    let rsa = signer_of(
        "binance",
        &pair("binance", KeyKind::Rsa).credentials().to_signing(),
    );
    let params = rsa.ws_auth(&Map::new(), &SignOptions::default()).unwrap();
    let r = ask(
        &mut ws,
        &json!({"id": "a1", "method": "account.status", "params": params}),
    )
    .await;
    assert_eq!(r["status"], 200, "{r}");
    let r = ask(
        &mut ws,
        &json!({"id": "l2", "method": "session.logon", "params": params}),
    )
    .await;
    assert_eq!(
        (r["status"].as_i64(), r["error"]["code"].as_i64()),
        (Some(400), Some(-1022)),
        "{r}"
    );
    t.shutdown().await;
}

#[tokio::test]
async fn a_coinbase_advanced_subscribe_authenticates_with_a_cdp_jwt() {
    let t = start_with_keys().await;
    let venue = "coinbase-advanced";
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url(t.url(venue).unwrap(), "/ws"))
        .await
        .unwrap();
    let mut params = Map::new();
    params.insert("channel".into(), json!("user"));
    params.insert("product_ids".into(), json!(["BTC-USD"]));
    for kind in [KeyKind::P256, KeyKind::Ed25519] {
        let s = signer_of(venue, &pair(venue, kind).credentials().to_signing());
        let msg = s.ws_auth(&params, &SignOptions::default()).unwrap();
        assert_eq!(msg["type"], "subscribe", "{msg}");
        let r = ask(&mut ws, &msg).await;
        assert_eq!(r["channel"], "subscriptions", "{kind}: {r}");
        assert_eq!(
            r["events"][0]["subscriptions"]["user"],
            json!(["BTC-USD"]),
            "{r}"
        );
        // Another private key under the same key name.
        let forged = signer_of(
            venue,
            &Credentials::new(
                pair(venue, kind).api_key(),
                stranger(venue, kind).private_pem().clone(),
            ),
        );
        let r = ask(
            &mut ws,
            &forged.ws_auth(&params, &SignOptions::default()).unwrap(),
        )
        .await;
        assert_eq!(
            r,
            json!({"type": "error", "message": "authentication failure"}),
            "{kind}"
        );
    }
    // No JWT (a legacy HMAC key has no WebSocket auth message), or a REST token with a uri.
    let mut bare = params.clone();
    bare.insert("type".into(), json!("subscribe"));
    let r = ask(&mut ws, &Value::Object(bare.clone())).await;
    assert_eq!(r["message"], "authentication failure", "{r}");
    let s = signer_of(
        venue,
        &pair(venue, KeyKind::P256).credentials().to_signing(),
    );
    let rest = s
        .sign(requests(venue).remove(0), &options(&t, venue))
        .unwrap();
    let token = rest
        .header("Authorization")
        .unwrap()
        .trim_start_matches("Bearer ");
    bare.insert("jwt".into(), json!(token));
    let r = ask(&mut ws, &Value::Object(bare)).await;
    assert_eq!(r["message"], "authentication failure", "{r}");
    t.shutdown().await;
}

#[tokio::test]
async fn a_public_key_of_a_kind_the_venue_does_not_take_is_a_config_error() {
    let p256 = pair("coinbase-advanced", KeyKind::P256).public();
    for venue in ["binance", "okx"] {
        let key = VenueKey::new(venue, "k-1", p256.public_key.clone());
        let err = Testnet::start(TestnetConfig::default().with_public_keys([key]))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::KeyNotAccepted {
                    kind: KeyKind::P256,
                    ..
                }
            ),
            "{venue}: {err}"
        );
    }
    let rsa = pair("bybit", KeyKind::Rsa).public();
    let err = Testnet::start(TestnetConfig::default().with_public_keys([VenueKey::new(
        "coinbase-advanced",
        "k",
        rsa.public_key.clone(),
    )]))
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("does not accept RSA keys"),
        "{err}"
    );
    // A private key where the public half belongs, never repeated in the error.
    let private = pair("binance", KeyKind::Ed25519)
        .private_pem()
        .expose_secret()
        .to_owned();
    let err = Testnet::start(TestnetConfig::default().with_public_keys([VenueKey::new(
        "binance",
        "k",
        private.clone(),
    )]))
    .await
    .unwrap_err();
    assert!(matches!(err, Error::InvalidPublicKey { .. }), "{err}");
    let body: String = private.lines().nth(1).unwrap().to_owned();
    assert!(!err.to_string().contains(&body) && !format!("{err:?}").contains(&body));
    // Two keys of one venue under one API key.
    let a = pair("binance", KeyKind::Ed25519).public();
    let mut b = pair("binance", KeyKind::Rsa).public();
    b.api_key = a.api_key.clone();
    let err = Testnet::start(TestnetConfig::default().with_public_keys([a, b]))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::DuplicateApiKey { .. }), "{err}");
    // A venue the testnet does not serve.
    let err = Testnet::start(TestnetConfig::default().with_public_keys([VenueKey::new(
        "nowhere",
        "k",
        rsa.public_key,
    )]))
    .await
    .unwrap_err();
    assert!(matches!(err, Error::UnknownVenue { .. }), "{err}");
}

#[tokio::test]
async fn the_testnet_holds_no_private_half() {
    let t = start_with_keys().await;
    let shown = format!("{t:?}");
    for p in pairs() {
        let secret = p.private_pem().expose_secret();
        let body = secret.lines().nth(1).unwrap();
        assert!(!shown.contains(body), "{}", p.name());
        assert!(
            t.public_keys()
                .iter()
                .all(|k| !k.public_key.contains("PRIVATE")),
            "{}",
            p.name()
        );
    }
    t.shutdown().await;
}
