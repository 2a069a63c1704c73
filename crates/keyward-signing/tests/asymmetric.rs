//! Asymmetric keys end to end through the public API: each venue signs with the kinds of key it
//! documents, the verifier checks each with the public key alone, any other kind is refused
//! before signing, and no private key reaches a `Debug`, an error or a signed request's text.
//! (Byte-for-byte agreement with the venues' own SDKs is `sdk_differential.rs`.)
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use keyward_signing::keys::{self, GeneratedKey, KeyKind};
use keyward_signing::secrecy::ExposeSecret;
use keyward_signing::verify::{StaticKeys, Verifier, VerifyError};
use keyward_signing::{Credentials, Error, FixedClock, Request, Scheme, SignOptions, Signer};
use serde_json::{Value, json};

const NOW: u64 = 1_700_000_000_000;

fn kinds() -> Vec<KeyKind> {
    let mut kinds = vec![KeyKind::Ed25519, KeyKind::P256];
    if cfg!(feature = "rsa") {
        kinds.push(KeyKind::Rsa);
    }
    kinds
}

fn signer(scheme: Scheme, key: &GeneratedKey) -> Result<Signer, Error> {
    let creds = Credentials::new("key-1", key.private_pem().clone());
    Ok(Signer::new(scheme, &creds)?.with_clock(Arc::new(FixedClock::new(NOW))))
}

/// A verifier that knows only the public half.
fn verifier(scheme: Scheme, key: &GeneratedKey) -> Verifier {
    let keys = StaticKeys::new().with(Credentials::new("key-1", key.public_pem().into()));
    Verifier::new(scheme, Arc::new(keys)).with_clock(Arc::new(FixedClock::new(NOW)))
}

fn requests() -> Vec<Request> {
    vec![
        Request::get("/api/v3/account").with_query("symbol=BTCUSDT&note=a%2Bb%3D%25"),
        Request::post("/api/v3/order").with_body("symbol=BTCUSDT&side=BUY&quantity=1"),
        Request::get("/api/v3/openOrders"),
    ]
}

/// Each venue signs REST requests with the kinds it accepts, and the verifier checks them with
/// the public key; a second key's public half does not verify them.
#[test]
fn venues_sign_with_the_keys_they_accept_and_verify_with_public_keys() {
    let venues = [Scheme::Binance, Scheme::Bybit, Scheme::CoinbaseAdvanced];
    for scheme in venues {
        for kind in kinds() {
            let key = keys::generate(kind).unwrap();
            let other = keys::generate(kind).unwrap();
            let accepted = scheme.accepts_key(kind);
            let signer = match signer(scheme, &key) {
                Ok(s) => s,
                Err(Error::KeyNotAccepted { .. }) if !accepted => continue,
                Err(e) => panic!("{scheme} {kind}: {e}"),
            };
            assert!(
                accepted,
                "{scheme} signed with a {kind} key it does not accept"
            );
            assert_eq!(signer.key_kind(), kind);
            for request in requests() {
                let options = SignOptions {
                    origin: Some("https://api.example.com".into()),
                    ..SignOptions::default()
                };
                let sent = signer.sign(request.clone(), &options).unwrap();
                let received = if scheme == Scheme::CoinbaseAdvanced {
                    sent.clone().with_header("Host", "api.example.com")
                } else {
                    sent.clone()
                };
                assert_eq!(
                    verifier(scheme, &other).verify(&received),
                    Err(VerifyError::BadSignature),
                    "{scheme} {kind}: another key's public half"
                );
                let v = verifier(scheme, &key);
                assert_eq!(
                    v.verify(&received).unwrap().key_id,
                    "key-1",
                    "{scheme} {kind}"
                );
                assert_eq!(v.verify(&received), Err(VerifyError::Replayed));
            }
        }
    }
}

/// Binance writes asymmetric signatures in base64, percent-escaped in a query or body, and
/// signs the same payload as with HMAC.
#[test]
fn binance_base64_signatures_are_escaped_in_the_query() {
    for kind in kinds().into_iter().filter(|k| *k != KeyKind::P256) {
        let key = keys::generate(kind).unwrap();
        let sent = signer(Scheme::Binance, &key)
            .unwrap()
            .sign(
                Request::get("/api/v3/account").with_query("a=1"),
                &SignOptions::at(NOW),
            )
            .unwrap();
        let (signed, sig) = sent.query.split_once("&signature=").unwrap();
        assert_eq!(signed, format!("a=1&timestamp={NOW}"));
        assert!(!sig.contains(['+', '/', '=']), "{sig}");
        let decoded = percent_encoding::percent_decode_str(sig)
            .decode_utf8()
            .unwrap();
        let raw = STANDARD.decode(decoded.as_bytes()).unwrap();
        assert_eq!(raw.len(), if kind == KeyKind::Ed25519 { 64 } else { 256 });
    }
}

/// `session.logon` takes Ed25519 only: any other key is refused before anything is signed,
/// on the signing side and when verifying.
#[test]
fn binance_session_logon_takes_ed25519_only() {
    let logon = SignOptions {
        method: Some("session.logon".into()),
        ..SignOptions::at(NOW)
    };
    let ed = keys::generate(KeyKind::Ed25519).unwrap();
    let params = signer(Scheme::Binance, &ed)
        .unwrap()
        .ws_auth(&Default::default(), &logon)
        .unwrap();
    let message = json!({"id": "1", "method": "session.logon", "params": params});
    assert_eq!(
        verifier(Scheme::Binance, &ed)
            .verify_ws(&message)
            .unwrap()
            .key_id,
        "key-1"
    );

    let hmac = Credentials::new("key-1", "hmac-secret".into());
    let hmac_signer = Signer::new(Scheme::Binance, &hmac).unwrap();
    let err = hmac_signer
        .ws_auth(&Default::default(), &logon)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::KeyNotAccepted {
                kind: KeyKind::Hmac,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("session.logon"), "{err}");
    // Other WebSocket API requests take HMAC keys.
    let plain = hmac_signer
        .ws_auth(&Default::default(), &SignOptions::at(NOW))
        .unwrap();
    // An HMAC-signed logon does not verify, even with the right secret.
    let forged = json!({"id": "1", "method": "session.logon", "params": plain});
    let v = Verifier::new(Scheme::Binance, Arc::new(StaticKeys::new().with(hmac)))
        .with_clock(Arc::new(FixedClock::new(NOW)));
    assert_eq!(v.verify_ws(&forged), Err(VerifyError::BadSignature));
}

/// Keys a venue does not document are refused when the signer is made.
#[test]
fn venues_refuse_keys_they_do_not_accept() {
    let ed = keys::generate(KeyKind::Ed25519).unwrap();
    let p256 = keys::generate(KeyKind::P256).unwrap();
    for (scheme, key) in [
        (Scheme::Okx, &ed),
        (Scheme::Kraken, &ed),
        (Scheme::Bybit, &ed),
        (Scheme::Binance, &p256),
        (Scheme::KeywardV1, &ed),
    ] {
        let err = signer(scheme, key).unwrap_err();
        assert!(
            matches!(err, Error::KeyNotAccepted { .. }),
            "{scheme}: {err}"
        );
    }
    // A public key cannot sign.
    let public = Credentials::new("k", ed.public_pem().into());
    assert!(Signer::new(Scheme::Binance, &public).is_err());
}

/// Bybit signs REST and the WebSocket `auth` with RSA, in base64.
#[cfg(feature = "rsa")]
#[test]
fn bybit_signs_the_websocket_auth_with_rsa() {
    let key = keys::generate(KeyKind::Rsa).unwrap();
    let message = signer(Scheme::Bybit, &key)
        .unwrap()
        .ws_auth(&Default::default(), &SignOptions::at(NOW))
        .unwrap();
    let sig = message["args"][2].as_str().unwrap();
    assert_eq!(STANDARD.decode(sig).unwrap().len(), 256);
    assert_eq!(
        verifier(Scheme::Bybit, &key)
            .verify_ws(&message)
            .unwrap()
            .key_id,
        "key-1"
    );
}

fn jwt_parts(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let mut json = || {
        let bytes = URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap();
        serde_json::from_slice::<Value>(&bytes).unwrap()
    };
    (json(), json())
}

/// A CDP key signs a fresh JWT per request: `alg` from the key, `kid` and `sub` the key name,
/// a random nonce, `nbf` now, `exp` 120 s later, and `uri` `METHOD host/path`.
#[test]
fn coinbase_cdp_keys_sign_a_fresh_jwt_per_request() {
    for (kind, alg) in [(KeyKind::P256, "ES256"), (KeyKind::Ed25519, "EdDSA")] {
        let key = keys::generate(kind).unwrap();
        let name = "organizations/org-1/apiKeys/key-1";
        let s = Signer::new(
            Scheme::CoinbaseAdvanced,
            &Credentials::new(name, key.private_pem().clone()),
        )
        .unwrap()
        .with_clock(Arc::new(FixedClock::new(NOW)));
        let request = Request::get("/api/v3/brokerage/accounts").with_query("limit=5");
        let first = s.sign(request.clone(), &SignOptions::default()).unwrap();
        let second = s.sign(request, &SignOptions::default()).unwrap();
        let token = first
            .header("Authorization")
            .unwrap()
            .strip_prefix("Bearer ")
            .unwrap();
        let (header, claims) = jwt_parts(token);
        assert_eq!(header["alg"], alg);
        assert_eq!(header["kid"], name);
        assert_eq!(header["typ"], "JWT");
        assert_eq!(header["nonce"].as_str().unwrap().len(), 64);
        let nbf = NOW / 1000;
        assert_eq!(
            claims,
            json!({"iss": "cdp", "sub": name, "nbf": nbf, "exp": nbf + 120,
                   "uri": "GET api.coinbase.com/api/v3/brokerage/accounts"})
        );
        assert_ne!(
            first.header("Authorization"),
            second.header("Authorization"),
            "a token is never reused"
        );
        // The WebSocket token has no uri, and verifies with the public key.
        let subscribe = s
            .ws_auth(
                json!({"channel": "user", "product_ids": ["BTC-USD"]})
                    .as_object()
                    .unwrap(),
                &SignOptions::default(),
            )
            .unwrap();
        assert_eq!(subscribe["type"], "subscribe");
        let (_, ws_claims) = jwt_parts(subscribe["jwt"].as_str().unwrap());
        assert!(ws_claims.get("uri").is_none());
        let keys = StaticKeys::new().with(Credentials::new(name, key.public_pem().into()));
        let v = Verifier::new(Scheme::CoinbaseAdvanced, Arc::new(keys))
            .with_clock(Arc::new(FixedClock::new(NOW + 119_000)));
        assert_eq!(v.verify_ws(&subscribe).unwrap().key_id, name);
        assert_eq!(v.verify_ws(&subscribe), Err(VerifyError::Replayed));
    }
}

/// The verifier holds a CDP token to its `uri`, its lifetime and its signature.
#[test]
fn coinbase_tokens_are_bound_to_their_request_and_lifetime() {
    let key = keys::generate(KeyKind::P256).unwrap();
    let s = signer(Scheme::CoinbaseAdvanced, &key).unwrap();
    let sent = s
        .sign(
            Request::post("/api/v3/brokerage/orders").with_body("{}"),
            &SignOptions::default(),
        )
        .unwrap()
        .with_header("Host", "api.coinbase.com");
    let at = |ms: u64| {
        let keys = StaticKeys::new().with(Credentials::new("key-1", key.public_pem().into()));
        Verifier::new(Scheme::CoinbaseAdvanced, Arc::new(keys))
            .with_clock(Arc::new(FixedClock::new(ms)))
    };
    assert!(at(NOW).verify(&sent).is_ok());
    assert!(matches!(
        at(NOW + 120_000).verify(&sent),
        Err(VerifyError::Expired { .. })
    ));
    assert!(matches!(
        at(NOW - 31_000).verify(&sent),
        Err(VerifyError::TooFarInFuture { .. })
    ));
    let mut elsewhere = sent.clone();
    elsewhere.path = "/api/v3/brokerage/orders/batch_cancel".into();
    assert!(matches!(
        at(NOW).verify(&elsewhere),
        Err(VerifyError::Malformed(_))
    ));
    let other_host = sent.clone().with_header("Host", "evil.example");
    let mut other_host = other_host;
    other_host
        .headers
        .retain(|(n, v)| n != "Host" || v != "api.coinbase.com");
    assert!(matches!(
        at(NOW).verify(&other_host),
        Err(VerifyError::Malformed(_))
    ));
    // A flipped signature byte.
    let mut forged = sent.clone();
    let token = forged.header("Authorization").unwrap().to_owned();
    let flipped = if token.ends_with('A') {
        format!("{}B", &token[..token.len() - 1])
    } else {
        format!("{}A", &token[..token.len() - 1])
    };
    forged.set_header("Authorization", flipped);
    assert_eq!(at(NOW).verify(&forged), Err(VerifyError::BadSignature));
    // A legacy HMAC request to the same verifier is read the legacy way.
    let hmac = Signer::new(Scheme::CoinbaseAdvanced, &Credentials::new("h", "s".into()))
        .unwrap()
        .sign(
            Request::get("/api/v3/brokerage/accounts"),
            &SignOptions::at(NOW),
        )
        .unwrap();
    assert!(hmac.header("CB-ACCESS-SIGN").is_some());
}

const CANARY: &str = "CANARYKEY";

/// No private key (PEM or raw) reaches a `Debug`, an error or a signed request's `Debug`.
#[test]
fn private_keys_never_leak() {
    for kind in kinds() {
        let key = keys::generate(kind).unwrap();
        let pem = key.private_pem().expose_secret().to_owned();
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        // A private key's encoding holds its public key too (an RSA modulus): only what is
        // not also in the public key is secret.
        let public: String = key.public_pem().lines().collect();
        let assert_clean = |text: &str| {
            for chunk in body.as_bytes().chunks(12) {
                let chunk = std::str::from_utf8(chunk).unwrap();
                if chunk.len() < 8 || public.contains(chunk) {
                    continue;
                }
                assert!(!text.contains(chunk), "{kind}: key text leaked: {text}");
            }
        };
        assert_clean(&format!("{key:?}"));
        for scheme in Scheme::ALL {
            let creds = Credentials::new("k", pem.clone().into()).with_passphrase("p".into());
            assert_clean(&format!("{creds:?}"));
            match Signer::new(scheme, &creds) {
                Ok(s) => {
                    assert_clean(&format!("{s:?} {s:#?}"));
                    let opts = SignOptions {
                        nonce: Some("1".into()),
                        ..SignOptions::at(NOW)
                    };
                    match s.sign(Request::post("/p").with_body("b=2"), &opts) {
                        Ok(sent) => assert_clean(&format!("{sent:?}")),
                        Err(e) => assert_clean(&format!("{e} {e:?}")),
                    }
                    if let Err(e) = s.ws_auth(&Default::default(), &opts) {
                        assert_clean(&format!("{e} {e:?}"));
                    }
                }
                Err(e) => assert_clean(&format!("{e} {e:?}")),
            }
        }
        // A damaged key: the error names the problem, not the key.
        let damaged = pem.replacen('M', CANARY, 1);
        let creds = Credentials::new("k", damaged.into());
        let err = Signer::new(Scheme::Binance, &creds).unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(!text.contains(CANARY), "{text}");
        assert_clean(&text);
    }
}
