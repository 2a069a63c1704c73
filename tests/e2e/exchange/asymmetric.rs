//! Asymmetric API keys end to end (issue 15), through the facade against an in-process testnet
//! given the public halves: each venue places and cancels an order with each key type it
//! accepts (Binance Ed25519 and RSA, Bybit RSA, Coinbase Advanced ECDSA P-256 and Ed25519, the
//! CDP key as a JWT bound to the client's own origin), and refuses, with its own documented
//! error, a key pair it does not know and a known key id signed with another private key. HMAC
//! keys are covered by `venues::every_venue_serves_time_balance_place_and_cancel` and
//! `venues::a_wrong_secret_is_an_authentication_error_sent_once`.
#![allow(clippy::unwrap_used)] // reason: tests fail loudly

use std::sync::OnceLock;

use keyward::exchange as keyward_exchange_client;
use keyward::signing::keys::KeyKind;

use crate::common;

use common::*;
use keyward_exchange_client::{
    CancelRequest, Credentials, ErrorKind, OrderRequest, RestClient, Scheme, Side,
};
use keyward_testnet::{KeyPair, Testnet, TestnetConfig, generate_key_pairs};

/// The key pairs the testnet serves, generated once for the suite (RSA keys take the longest).
fn pairs() -> &'static [KeyPair] {
    static PAIRS: OnceLock<Vec<KeyPair>> = OnceLock::new();
    PAIRS.get_or_init(|| generate_key_pairs().unwrap())
}

/// A testnet that accepts every pair of [`pairs`] beside its generated HMAC credentials.
async fn keyed_testnet() -> Testnet {
    let config = TestnetConfig::default().with_public_keys(pairs().iter().map(KeyPair::public));
    Testnet::start(config).await.unwrap()
}

/// A client for `venue` on `t` signing with `creds`, manual time, no client-side rate limit.
async fn client_with(t: &Testnet, venue: &str, creds: Credentials) -> (RestClient, Manual) {
    let manual = Manual::new();
    let scheme: Scheme = venue.parse().unwrap();
    let c = RestClient::builder(scheme, t.url(venue).unwrap())
        .credentials(creds)
        .clock(manual.clock.clone())
        .sleep(manual.sleep.clone())
        .rate_limits(Vec::new())
        .build()
        .await
        .unwrap();
    (c, manual)
}

#[tokio::test]
async fn each_asymmetric_key_places_and_cancels_an_order() {
    let t = keyed_testnet().await;
    let kinds: Vec<(&str, KeyKind)> = pairs().iter().map(|p| (p.venue(), p.kind())).collect();
    assert_eq!(
        kinds,
        [
            ("binance", KeyKind::Ed25519),
            ("binance", KeyKind::Rsa),
            ("bybit", KeyKind::Rsa),
            ("coinbase-advanced", KeyKind::Ed25519),
            ("coinbase-advanced", KeyKind::P256),
        ]
    );
    for p in pairs() {
        let venue = p.venue();
        let name = p.name();
        let (c, _) = client_with(&t, venue, p.credentials().to_signing()).await;
        let order = OrderRequest::limit(symbol(venue), Side::Buy, "0.01", "30000")
            .with_client_order_id("0f8fad5bd9cb469fa16570867728950e");
        let before = {
            let (m, path) = place_path(venue);
            t.hits(venue, m, path)
        };
        let ack = c
            .place_order(&order)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let id = ack
            .order_id
            .clone()
            .unwrap_or_else(|| panic!("{name}: {}", ack.raw));
        c.cancel_order(&CancelRequest::new(symbol(venue), id))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let balance = c.balance().await.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!balance.is_null(), "{name}");
        let (m, path) = place_path(venue);
        assert_eq!(t.hits(venue, m, path), before + 1, "{name}: sent once");
    }
    t.shutdown().await;
}

/// The venue's documented code for a key it does not know (Coinbase Advanced answers a bare
/// 401 with no code).
fn unknown_key_code(venue: &str) -> Option<&'static str> {
    match venue {
        "binance" => Some("-2015"),
        "bybit" => Some("10003"),
        _ => None,
    }
}

/// The venue's documented code for a known key whose signature does not verify.
fn bad_signature_code(venue: &str) -> Option<&'static str> {
    match venue {
        "binance" => Some("-1022"),
        "bybit" => Some("10004"),
        _ => None,
    }
}

/// The HTTP status the venue refuses with (Bybit answers its errors in an HTTP 200).
fn refusal_status(venue: &str) -> u16 {
    match venue {
        "binance" | "coinbase-advanced" => 401,
        _ => 200,
    }
}

/// Places an order with `creds` and returns the refusal, checking it was sent exactly once and
/// not retried.
async fn refused(t: &Testnet, venue: &str, creds: Credentials) -> keyward::exchange::Error {
    let (c, manual) = client_with(t, venue, creds).await;
    let (m, path) = place_path(venue);
    let before = t.hits(venue, m, path);
    let err = c
        .place_order(&OrderRequest::market(symbol(venue), Side::Buy, "1"))
        .await
        .unwrap_err();
    assert_eq!(t.hits(venue, m, path), before + 1, "{venue}: retried");
    assert!(manual.sleep.slept().is_empty(), "{venue}: waited to retry");
    err
}

#[tokio::test]
async fn an_unknown_key_pair_is_refused_with_the_venue_unknown_key_error() {
    let t = keyed_testnet().await;
    for p in pairs() {
        let venue = p.venue();
        let name = p.name();
        let stranger = KeyPair::generate(venue, p.kind()).unwrap();
        let err = refused(&t, venue, stranger.credentials().to_signing()).await;
        assert_eq!(err.kind(), ErrorKind::Authentication, "{name}: {err}");
        let detail = err.venue_detail().unwrap();
        assert_eq!(detail.status, refusal_status(venue), "{name}: {detail:?}");
        assert_eq!(detail.code.as_deref(), unknown_key_code(venue), "{name}");
    }
    t.shutdown().await;
}

#[tokio::test]
async fn a_known_key_signed_with_another_private_key_is_refused_with_the_signature_error() {
    let t = keyed_testnet().await;
    for p in pairs() {
        let venue = p.venue();
        let name = p.name();
        let other = KeyPair::generate(venue, p.kind()).unwrap();
        let forged = Credentials::new(p.api_key(), other.private_pem().clone());
        let err = refused(&t, venue, forged).await;
        assert_eq!(err.kind(), ErrorKind::Authentication, "{name}: {err}");
        let detail = err.venue_detail().unwrap();
        let status = if venue == "binance" {
            400
        } else {
            refusal_status(venue)
        };
        assert_eq!(detail.status, status, "{name}: {detail:?}");
        assert_eq!(detail.code.as_deref(), bad_signature_code(venue), "{name}");
    }
    t.shutdown().await;
}

/// Every asymmetric key with WebSocket auth authenticates a session at the testnet, which holds
/// only its public half: Binance's Ed25519 key with `session.logon` (the only kind it takes) and
/// its RSA key with a signed `userDataStream.subscribe.signature`, Bybit's RSA key with `auth`,
/// and Coinbase Advanced's CDP keys with a `subscribe` JWT.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_asymmetric_key_authenticates_a_websocket_session_at_the_testnet() {
    use keyward_exchange_client::ws::{WsConfig, WsEvent, WsSession};
    use std::time::Duration;

    let t = keyed_testnet().await;
    for p in pairs() {
        let name = p.name();
        let scheme: Scheme = p.venue().parse().unwrap();
        let url = crate::ws_common::ws_url(&t, p.venue());
        let config = WsConfig::from_credentials(scheme, &url, &p.credentials().to_signing())
            .unwrap()
            .with_ping_interval(Duration::from_secs(3600))
            .with_max_reconnects(Some(0));
        let mut session = WsSession::connect(config)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        match session.next_event().await {
            Some(WsEvent::Authenticated) => {}
            other => panic!("{name}: expected the auth acknowledgement, got {other:?}"),
        }
        session.close().await;
    }
    assert!(t.hits("binance", "GET", "/ws") >= 2);
}
