//! The service schemes under `/svc/<scheme>/`: verified, rejected with the right kind, replays
//! refused, forged requests kept out of the replay cache.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

mod common;

use common::*;
use keyward_signing::{Credentials, Request, Scheme, SignOptions, Signer};
use keyward_testnet::{Testnet, TestnetConfig, VenueCredentials};
use serde_json::json;

const SCHEMES: [&str; 3] = ["hmac-newline-v0", "hmac-concat", "keyward-v1"];

/// A request below the scheme's prefix (the signed path is the full path).
fn request(t: &Testnet, scheme: &str) -> Request {
    let prefix = t
        .url(scheme)
        .unwrap()
        .splitn(4, '/')
        .nth(3)
        .unwrap()
        .to_owned();
    Request::post(format!("/{prefix}/orders/new"))
        .with_query("dry=1")
        .with_body(r#"{"qty":1}"#)
}

#[tokio::test]
async fn signed_requests_are_verified_and_replays_refused() {
    let t = start().await;
    for scheme in SCHEMES {
        let s = signer(&t, scheme);
        let signed = s
            .sign(request(&t, scheme), &SignOptions::default())
            .unwrap();
        let a = send(&t, scheme, &signed).await;
        assert_eq!(a.status, 200, "{scheme}: {:?}", a.body);
        assert_eq!(
            a.body,
            json!({"key_id": t.credentials(scheme).unwrap().key_id()})
        );
        let again = send(&t, scheme, &signed).await;
        assert_eq!(
            (again.status, &again.body),
            (401, &json!({"error": "replayed"})),
            "{scheme}"
        );
    }
    t.shutdown().await;
}

#[tokio::test]
async fn rejections_name_their_kind() {
    let t = start().await;
    for scheme in SCHEMES {
        let forged = wrong_signer(&t, scheme)
            .sign(request(&t, scheme), &SignOptions::default())
            .unwrap();
        let a = send(&t, scheme, &forged).await;
        assert_eq!(
            (a.status, &a.body),
            (401, &json!({"error": "bad_signature"})),
            "{scheme}"
        );
        // A forged request never enters the replay cache: sent again, it is still a bad signature.
        let a = send(&t, scheme, &forged).await;
        assert_eq!(a.body, json!({"error": "bad_signature"}), "{scheme}");

        let old = signer(&t, scheme)
            .sign(request(&t, scheme), &SignOptions::at(now_ms() - 301_000))
            .unwrap();
        let a = send(&t, scheme, &old).await;
        assert_eq!(
            (a.status, &a.body),
            (401, &json!({"error": "expired"})),
            "{scheme}"
        );

        let ahead = signer(&t, scheme)
            .sign(request(&t, scheme), &SignOptions::at(now_ms() + 60_000))
            .unwrap();
        assert_eq!(
            send(&t, scheme, &ahead).await.body,
            json!({"error": "expired"})
        );

        let a = send(&t, scheme, &request(&t, scheme)).await;
        assert_eq!(
            (a.status, &a.body),
            (401, &json!({"error": "malformed"})),
            "{scheme}"
        );
    }
    for scheme in ["hmac-concat", "keyward-v1"] {
        let scheme_v: Scheme = scheme.parse().unwrap();
        let stranger =
            Signer::new(scheme_v, &Credentials::new("stranger", "s3cret".into())).unwrap();
        let signed = stranger
            .sign(request(&t, scheme), &SignOptions::default())
            .unwrap();
        assert_eq!(
            send(&t, scheme, &signed).await.body,
            json!({"error": "unknown_key"})
        );
    }
    t.shutdown().await;
}

#[tokio::test]
async fn a_forged_request_does_not_block_the_genuine_one() {
    let t = start().await;
    let at = SignOptions::at(now_ms());
    for scheme in SCHEMES {
        let forged = wrong_signer(&t, scheme)
            .sign(request(&t, scheme), &at)
            .unwrap();
        assert_eq!(send(&t, scheme, &forged).await.status, 401);
        let genuine = signer(&t, scheme).sign(request(&t, scheme), &at).unwrap();
        assert_eq!(send(&t, scheme, &genuine).await.status, 200, "{scheme}");
    }
    t.shutdown().await;
}

#[tokio::test]
async fn hmac_newline_v0_accepts_the_absolute_url_and_any_configured_secret() {
    let t = Testnet::start(
        TestnetConfig::default().with_credentials(vec![VenueCredentials {
            venue: "hmac-newline-v0".to_owned(),
            api_key: None,
            secret: "newline-secret".into(),
            passphrase: None,
        }]),
    )
    .await
    .unwrap();
    let s = Signer::new(
        Scheme::HmacNewlineV0,
        &Credentials::new("", "newline-secret".into()),
    )
    .unwrap();
    let origin = origin(t.url("hmac-newline-v0").unwrap());
    let options = SignOptions {
        origin: Some(origin),
        ..SignOptions::default()
    };
    let signed = s.sign(request(&t, "hmac-newline-v0"), &options).unwrap();
    let a = send(&t, "hmac-newline-v0", &signed).await;
    assert_eq!(
        (a.status, &a.body),
        (200, &json!({"key_id": "hmac-newline-v0"}))
    );
    // Any method and any path below the prefix.
    let get = s
        .sign(
            Request::get("/svc/hmac-newline-v0/a/b/c"),
            &SignOptions::default(),
        )
        .unwrap();
    assert_eq!(send(&t, "hmac-newline-v0", &get).await.status, 200);
    t.shutdown().await;
}

#[tokio::test]
async fn hmac_concat_signs_the_full_path_without_the_query() {
    let t = start().await;
    let s = signer(&t, "hmac-concat");
    // Signed over a path without the /svc/hmac-concat prefix: refused.
    let mut wrong = s
        .sign(Request::get("/orders"), &SignOptions::default())
        .unwrap();
    wrong.path = "/svc/hmac-concat/orders".to_owned();
    assert_eq!(
        send(&t, "hmac-concat", &wrong).await.body,
        json!({"error": "bad_signature"})
    );
    // The query is not signed: one added after signing is accepted.
    let mut signed = s
        .sign(
            Request::get("/svc/hmac-concat/orders"),
            &SignOptions::default(),
        )
        .unwrap();
    signed.query = "page=2".to_owned();
    assert_eq!(send(&t, "hmac-concat", &signed).await.status, 200);
    let unknown = send(&t, "hmac-concat", &Request::get("/svc/nope/x")).await;
    assert_eq!(unknown.status, 404);
    t.shutdown().await;
}
