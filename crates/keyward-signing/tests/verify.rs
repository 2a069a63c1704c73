//! The verifier, for every scheme and preset: a valid request passes; changing any covered
//! component, the body, the time or the key fails; a replay fails; times exactly at and one unit
//! past each window edge behave as documented; a second active secret is accepted.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use keyward_signing::verify::{StaticKeys, Verifier, VerifyError};
use keyward_signing::{Credentials, FixedClock, Request, Scheme, SignOptions, Signer};

/// The signing time: a whole second, so second-based venues sign it exactly.
const T0: u64 = 1_700_000_000_000;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Part {
    Method,
    Path,
    Query,
    Body,
}

/// The time rule a scheme documents, as the server clock sees it.
#[derive(Clone, Copy, Debug)]
enum Edges {
    /// Signed at T0; accepted for server times in [T0 - future, T0 + past].
    Window { past: u64, future: u64 },
    /// Expires at `at` ms; accepted for server times in [at - max_ahead, at - 1].
    Expires { at: u64, max_ahead: u64 },
    /// A nonce that must grow.
    Nonce,
}

struct Case {
    scheme: Scheme,
    request: fn() -> Request,
    options: fn() -> SignOptions,
    covered: &'static [Part],
    /// Moves the request's time (or nonce) by one unit, keeping its signature.
    bump_time: fn(&mut Request),
    edges: Edges,
}

fn secret_text(scheme: Scheme, secret: &str) -> String {
    match scheme {
        Scheme::Kraken | Scheme::CoinbaseExchange => STANDARD.encode(secret),
        _ => secret.to_owned(),
    }
}

fn creds(scheme: Scheme, key: &str, secret: &str) -> Credentials {
    Credentials::new(key, secret_text(scheme, secret).into()).with_passphrase("pass-1".into())
}

fn sign_with(case: &Case, creds: &Credentials) -> Request {
    Signer::new(case.scheme, creds)
        .unwrap()
        .with_clock(Arc::new(FixedClock::new(T0)))
        .sign((case.request)(), &(case.options)())
        .unwrap()
}

fn signed(case: &Case) -> Request {
    sign_with(case, &creds(case.scheme, "key-1", "secret-1"))
}

/// A fresh verifier (empty replay cache) whose clock reads `now`, knowing key-1 with two active
/// secrets.
fn verifier(case: &Case, now: u64) -> Verifier {
    let keys = StaticKeys::new()
        .with(creds(case.scheme, "key-1", "secret-1"))
        .with(creds(case.scheme, "key-1", "secret-2"));
    Verifier::new(case.scheme, Arc::new(keys)).with_clock(Arc::new(FixedClock::new(now)))
}

fn replace(req: &mut Request, from: &str, to: &str) {
    let body = String::from_utf8(req.body.clone()).unwrap();
    if req.query.contains(from) {
        req.query = req.query.replacen(from, to, 1);
    } else if body.contains(from) {
        req.body = body.replacen(from, to, 1).into_bytes();
    } else {
        for (_, v) in &mut req.headers {
            if v.contains(from) {
                *v = v.replacen(from, to, 1);
                return;
            }
        }
        panic!("{from} not found in the request");
    }
}

fn bump_header(req: &mut Request, name: &str) {
    let value: u64 = req.header(name).unwrap().parse().unwrap();
    req.set_header(name, (value + 1).to_string());
}

fn cases() -> Vec<Case> {
    let service = Edges::Window {
        past: 300_000,
        future: 5_000,
    };
    vec![
        Case {
            scheme: Scheme::Binance,
            request: || {
                Request::post("/api/v3/order")
                    .with_query("symbol=BTCUSDT")
                    .with_body("side=BUY&quantity=1")
            },
            options: SignOptions::default,
            covered: &[Part::Query, Part::Body],
            bump_time: |r| {
                replace(
                    r,
                    &format!("timestamp={T0}"),
                    &format!("timestamp={}", T0 + 1),
                )
            },
            edges: Edges::Window {
                past: 5_000,
                future: 1_000,
            },
        },
        Case {
            scheme: Scheme::Bybit,
            request: || {
                Request::get("/v5/order/realtime").with_query("category=spot&symbol=BTCUSDT")
            },
            options: SignOptions::default,
            covered: &[Part::Query],
            bump_time: |r| bump_header(r, "X-BAPI-TIMESTAMP"),
            edges: Edges::Window {
                past: 5_000,
                future: 999,
            },
        },
        Case {
            scheme: Scheme::Bybit,
            request: || {
                Request::post("/v5/order/create").with_body(r#"{"symbol":"BTCUSDT","qty":"1"}"#)
            },
            options: SignOptions::default,
            covered: &[Part::Body],
            bump_time: |r| bump_header(r, "X-BAPI-TIMESTAMP"),
            edges: Edges::Window {
                past: 5_000,
                future: 999,
            },
        },
        Case {
            scheme: Scheme::Okx,
            request: || {
                Request::post("/api/v5/trade/order")
                    .with_query("a=1")
                    .with_body(r#"{"instId":"BTC-USDT"}"#)
            },
            options: SignOptions::default,
            covered: &[Part::Method, Part::Path, Part::Query, Part::Body],
            bump_time: |r| replace(r, ".000Z", ".001Z"),
            edges: Edges::Window {
                past: 30_000,
                future: 30_000,
            },
        },
        Case {
            scheme: Scheme::CoinbaseExchange,
            request: || {
                Request::post("/orders")
                    .with_query("a=1")
                    .with_body(r#"{"size":"1"}"#)
            },
            options: SignOptions::default,
            covered: &[Part::Method, Part::Path, Part::Query, Part::Body],
            bump_time: |r| bump_header(r, "CB-ACCESS-TIMESTAMP"),
            edges: Edges::Window {
                past: 30_000,
                future: 30_000,
            },
        },
        Case {
            scheme: Scheme::CoinbaseAdvanced,
            request: || Request::post("/api/v3/brokerage/orders").with_body(r#"{"size":"1"}"#),
            options: SignOptions::default,
            covered: &[Part::Method, Part::Path, Part::Body],
            bump_time: |r| bump_header(r, "CB-ACCESS-TIMESTAMP"),
            edges: Edges::Window {
                past: 30_000,
                future: 30_000,
            },
        },
        Case {
            scheme: Scheme::Kraken,
            request: || Request::post("/0/private/AddOrder").with_body("pair=XBTUSD&volume=1"),
            options: || SignOptions {
                nonce: Some("1000".into()),
                ..Default::default()
            },
            covered: &[Part::Path, Part::Body],
            bump_time: |r| replace(r, "nonce=1000", "nonce=1001"),
            edges: Edges::Nonce,
        },
        Case {
            scheme: Scheme::Bitmex,
            request: || {
                Request::post("/api/v1/order")
                    .with_query("a=1")
                    .with_body(r#"{"orderQty":1}"#)
            },
            options: || SignOptions {
                expires: Some(T0 / 1000 + 60),
                ..Default::default()
            },
            covered: &[Part::Method, Part::Path, Part::Query, Part::Body],
            bump_time: |r| bump_header(r, "api-expires"),
            edges: Edges::Expires {
                at: T0 + 60_000,
                max_ahead: 300_000,
            },
        },
        Case {
            scheme: Scheme::Deribit,
            request: || {
                Request::post("/api/v2/private/buy")
                    .with_query("a=1")
                    .with_body(r#"{"amount":1}"#)
            },
            options: || SignOptions {
                nonce: Some("n-1".into()),
                ..Default::default()
            },
            covered: &[Part::Method, Part::Path, Part::Query, Part::Body],
            bump_time: |r| replace(r, &format!("ts={T0}"), &format!("ts={}", T0 + 1)),
            edges: service,
        },
        Case {
            scheme: Scheme::HmacNewlineV0,
            request: || {
                Request::post("/v1/items")
                    .with_query("a=1")
                    .with_body(r#"{"x":1}"#)
            },
            options: SignOptions::default,
            covered: &[Part::Method, Part::Path, Part::Query, Part::Body],
            bump_time: |r| bump_header(r, "X-Timestamp"),
            edges: service,
        },
        Case {
            scheme: Scheme::HmacConcat,
            request: || Request::post("/svc/hmac-concat/items").with_body(r#"{"x":1}"#),
            options: SignOptions::default,
            covered: &[Part::Method, Part::Path, Part::Body],
            bump_time: |r| bump_header(r, "API-TIMESTAMP"),
            edges: service,
        },
        Case {
            scheme: Scheme::KeywardV1,
            request: || {
                Request::post("/v1/orders")
                    .with_query("a=1")
                    .with_body(r#"{"x":1}"#)
            },
            // Expiry one second past the window, so the created-time window is what the edges test.
            options: || SignOptions {
                expires: Some(T0 / 1000 + 301),
                ..Default::default()
            },
            covered: &[Part::Method, Part::Path, Part::Query, Part::Body],
            bump_time: |r| {
                replace(
                    r,
                    &format!("created={}", T0 / 1000),
                    &format!("created={}", T0 / 1000 + 1),
                )
            },
            edges: service,
        },
    ]
}

fn mutate(req: &Request, part: Part) -> Request {
    let mut out = req.clone();
    match part {
        Part::Method => {
            out.method = if req.method == "GET" {
                "POST".into()
            } else {
                "PUT".into()
            }
        }
        Part::Path => out.path.push('x'),
        Part::Query => {
            out.query = if req.query.is_empty() {
                "z=1".into()
            } else {
                format!("{}&z=1", req.query)
            }
        }
        Part::Body => out.body.extend_from_slice(b" "),
    }
    out
}

#[test]
fn a_valid_request_passes_and_its_replay_fails() {
    for case in cases() {
        let req = signed(&case);
        let v = verifier(&case, T0);
        let ok = v
            .verify(&req)
            .unwrap_or_else(|e| panic!("{}: {e}", case.scheme));
        assert_eq!(ok.key_id, "key-1", "{}", case.scheme);
        let again = v.verify(&req).unwrap_err();
        assert_eq!(again.kind(), "replayed", "{}: {again:?}", case.scheme);
    }
}

#[test]
fn changing_any_covered_component_fails() {
    for case in cases() {
        let req = signed(&case);
        for &part in case.covered {
            let err = verifier(&case, T0).verify(&mutate(&req, part)).unwrap_err();
            assert_eq!(err, VerifyError::BadSignature, "{} {part:?}", case.scheme);
        }
        let mut moved = req.clone();
        (case.bump_time)(&mut moved);
        let err = verifier(&case, T0).verify(&moved).unwrap_err();
        assert_eq!(err, VerifyError::BadSignature, "{} time", case.scheme);
    }
}

#[test]
fn another_secret_or_an_unknown_key_fails() {
    for case in cases() {
        let forged = sign_with(&case, &creds(case.scheme, "key-1", "not-the-secret"));
        let err = verifier(&case, T0).verify(&forged).unwrap_err();
        assert_eq!(err, VerifyError::BadSignature, "{}", case.scheme);
        let stranger = sign_with(&case, &creds(case.scheme, "key-9", "secret-1"));
        let got = verifier(&case, T0).verify(&stranger);
        // hmac-newline-v0 names no key: every secret is tried, and key-9's secret is key-1's.
        if case.scheme == Scheme::HmacNewlineV0 {
            assert!(got.is_ok());
        } else {
            assert_eq!(got.unwrap_err(), VerifyError::UnknownKey, "{}", case.scheme);
        }
    }
}

#[test]
fn a_second_active_secret_is_accepted() {
    for case in cases() {
        let req = sign_with(&case, &creds(case.scheme, "key-1", "secret-2"));
        let ok = verifier(&case, T0)
            .verify(&req)
            .unwrap_or_else(|e| panic!("{}: {e}", case.scheme));
        assert_eq!(ok.key_id, "key-1");
    }
}

#[test]
fn window_edges_behave_as_documented() {
    for case in cases() {
        let req = signed(&case);
        let check = |now: u64, expect: Option<&str>| {
            let got = verifier(&case, now).verify(&req);
            match expect {
                None => assert!(got.is_ok(), "{} at {now}: {got:?}", case.scheme),
                Some(kind) => assert_eq!(got.unwrap_err().kind(), kind, "{} at {now}", case.scheme),
            }
        };
        match case.edges {
            Edges::Window { past, future } => {
                check(T0 + past, None);
                check(T0 + past + 1, Some("expired"));
                check(T0 - future, None);
                check(T0 - future - 1, Some("expired"));
            }
            Edges::Expires { at, max_ahead } => {
                check(at - 1, None);
                check(at, Some("expired"));
                check(at - max_ahead, None);
                check(at - max_ahead - 1, Some("expired"));
            }
            Edges::Nonce => {
                // No clock: the nonce must grow, by one unit at least.
                let v = verifier(&case, T0);
                v.verify(&req).unwrap();
                let next = sign_with(&case, &creds(case.scheme, "key-1", "secret-1"));
                assert_eq!(v.verify(&next).unwrap_err(), VerifyError::StaleNonce);
                let one_more = Signer::new(case.scheme, &creds(case.scheme, "key-1", "secret-1"))
                    .unwrap()
                    .sign(
                        (case.request)(),
                        &SignOptions {
                            nonce: Some("1001".into()),
                            ..Default::default()
                        },
                    )
                    .unwrap();
                assert!(v.verify(&one_more).is_ok());
            }
        }
    }
}

#[test]
fn missing_parts_are_malformed_and_named() {
    for case in cases() {
        let mut req = signed(&case);
        req.headers.clear();
        let err = verifier(&case, T0).verify(&req).unwrap_err();
        assert_eq!(err.kind(), "malformed", "{}: {err:?}", case.scheme);
        assert_eq!(err.status(), 401);
        assert!(
            err.to_string().contains("missing"),
            "{}: {err}",
            case.scheme
        );
    }
}

#[test]
fn skew_is_measured_in_the_error() {
    let case = &cases()[0];
    let req = signed(case);
    let err = verifier(case, T0 + 5_000 + 250).verify(&req).unwrap_err();
    assert_eq!(err, VerifyError::Expired { age_ms: 250 });
    let err = verifier(case, T0 - 1_000 - 40).verify(&req).unwrap_err();
    assert_eq!(err, VerifyError::TooFarInFuture { ahead_ms: 40 });
    assert!(err.to_string().contains("40 ms ahead"));
}

#[test]
fn passphrases_must_match() {
    for scheme in [Scheme::Okx, Scheme::CoinbaseExchange] {
        let case = cases().into_iter().find(|c| c.scheme == scheme).unwrap();
        let wrong = Credentials::new("key-1", secret_text(scheme, "secret-1").into())
            .with_passphrase("other".into());
        let req = sign_with(&case, &wrong);
        assert_eq!(
            verifier(&case, T0).verify(&req).unwrap_err(),
            VerifyError::BadSignature,
            "{scheme}"
        );
    }
}

#[test]
fn forged_requests_do_not_enter_the_replay_cache() {
    let case = &cases()[0];
    let v = verifier(case, T0);
    let forged = sign_with(case, &creds(case.scheme, "key-1", "wrong"));
    for _ in 0..3 {
        assert_eq!(v.verify(&forged).unwrap_err(), VerifyError::BadSignature);
    }
    assert!(v.verify(&signed(case)).is_ok());
}

#[test]
fn hmac_newline_v0_accepts_configured_origins_and_signed_headers() {
    let creds = Credentials::new("svc", "s3cret".into());
    let signer = Signer::new(Scheme::HmacNewlineV0, &creds)
        .unwrap()
        .with_clock(Arc::new(FixedClock::new(T0)));
    let opts = SignOptions {
        origin: Some("https://api.example".into()),
        signed_headers: vec!["x-request-id".into()],
        ..Default::default()
    };
    let req = signer
        .sign(
            Request::get("/a")
                .with_query("b=1")
                .with_header("X-Request-Id", "r1"),
            &opts,
        )
        .unwrap();
    let verifier = |origins: &[&str]| {
        Verifier::new(
            Scheme::HmacNewlineV0,
            Arc::new(StaticKeys::new().with(creds.clone())),
        )
        .with_clock(Arc::new(FixedClock::new(T0)))
        .with_signed_headers(["x-request-id"])
        .with_origins(origins.iter().copied())
    };
    assert!(verifier(&["https://api.example"]).verify(&req).is_ok());
    assert_eq!(
        verifier(&[]).verify(&req).unwrap_err(),
        VerifyError::BadSignature
    );
    let mut changed = req.clone();
    changed.set_header("X-Request-Id", "r2");
    assert_eq!(
        verifier(&["https://api.example"])
            .verify(&changed)
            .unwrap_err(),
        VerifyError::BadSignature
    );
}
