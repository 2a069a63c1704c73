//! Loopback only, typed errors for bad credentials, and secrets never shown.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

mod common;

use common::*;
use keyward_signing::{Request, SignOptions};
use keyward_testnet::{Error, Testnet, TestnetConfig, VenueCredentials};

#[tokio::test]
async fn non_loopback_hosts_are_refused() {
    for host in ["0.0.0.0", "192.168.1.10", "example.com", "::", "10.0.0.1"] {
        let err = Testnet::start(TestnetConfig::default().with_host(host))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::NonLoopbackHost { .. }),
            "{host}: {err}"
        );
        assert!(err.to_string().contains("127.0.0.1"));
    }
    let t = Testnet::start(TestnetConfig::default().with_host("localhost"))
        .await
        .unwrap();
    assert!(t.url("binance").unwrap().starts_with("http://127.0.0.1:"));
    t.shutdown().await;
}

#[tokio::test]
async fn bad_credentials_are_typed_errors_without_the_secret() {
    let err = Testnet::start(
        TestnetConfig::default().with_credentials(vec![VenueCredentials::new(
            "nasdaq",
            "k",
            "CANARY-UNKNOWN",
        )]),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::UnknownVenue { .. }));
    let err =
        Testnet::start(
            TestnetConfig::default().with_credentials(vec![VenueCredentials::new(
                "kraken",
                "k",
                "CANARY not base64!",
            )]),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidCredentials { .. }));
    assert!(!format!("{err} {err:?}").contains("CANARY"));
    let err = Testnet::start(
        TestnetConfig::default()
            .with_credentials(vec![VenueCredentials::new("okx", "k", "CANARY")]),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("passphrase"));
}

#[tokio::test]
async fn the_canary_secret_is_never_shown() {
    const CANARY: &str = "CANARY-5ecret-do-not-print";
    let config = TestnetConfig::default().with_credentials(vec![
        VenueCredentials::new("binance", "canary-key", CANARY),
        VenueCredentials::new("okx", "canary-key", CANARY).with_passphrase(CANARY),
    ]);
    let shown = format!("{config:?}");
    assert!(!shown.contains(CANARY), "{shown}");
    let t = Testnet::start(config).await.unwrap();
    let shown = format!("{t:?} {:?}", t.credentials("okx").unwrap());
    assert!(!shown.contains(CANARY), "{shown}");
    for venue in ["binance", "okx"] {
        for s in [signer(&t, venue), wrong_signer(&t, venue)] {
            for req in requests(venue) {
                let a = sign_send(&t, venue, &s, req, &SignOptions::default()).await;
                let text = format!("{:?} {}", a.headers, a.body);
                assert!(!text.contains(CANARY), "{venue}: {text}");
            }
        }
    }
    let old = signer(&t, "okx");
    let a = sign_send(
        &t,
        "okx",
        &old,
        Request::get("/api/v5/account/balance"),
        &SignOptions::at(1),
    )
    .await;
    assert!(!a.body.to_string().contains(CANARY));
    t.shutdown().await;
}

#[tokio::test]
async fn garbage_requests_get_answers_not_panics() {
    let t = start().await;
    let junk = [
        Request::post("/api/v3/order").with_body(vec![0xff, 0xfe, 0x00]),
        Request::get("/api/v3/account").with_query("signature=%%%&timestamp=abc"),
        Request::get("/api/v3/account")
            .with_header("X-MBX-APIKEY", "k")
            .with_query("timestamp=99999999999999999999999&signature=00"),
    ];
    for req in &junk {
        let a = send(&t, "binance", req).await;
        assert!(a.status >= 400, "{a:?}");
    }
    let deribit =
        Request::get("/api/v2/private/buy").with_header("Authorization", "deri-hmac-sha256 ,,,==");
    assert_eq!(send(&t, "deribit", &deribit).await.status, 400);
    let okx = Request::get("/api/v5/account/balance")
        .with_header("OK-ACCESS-TIMESTAMP", "yesterday")
        .with_header("OK-ACCESS-KEY", "k");
    assert_eq!(send(&t, "okx", &okx).await.status, 401);
    // Still serving.
    assert_eq!(
        send(&t, "binance", &Request::get("/api/v3/time"))
            .await
            .status,
        200
    );
    t.shutdown().await;
}
