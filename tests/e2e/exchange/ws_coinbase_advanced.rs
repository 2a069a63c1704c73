//! Coinbase Advanced Trade WebSocket sessions with CDP keys (issue 15), through the facade
//! against the in-process testnet: a P-256 and an Ed25519 key authenticate (a subscribe with a
//! JWT made for it, answered on the `subscriptions` channel) and authenticate again, with a new
//! JWT, after the venue drops the connection; another key pair under the same key name is
//! refused with Coinbase's `{"type":"error","message":"authentication failure"}` and the session
//! ends there; a legacy HMAC key is refused by its kind before anything is connected or sent.
//! Coinbase's pages: <https://docs.cdp.coinbase.com/advanced-trade/docs/ws-auth>,
//! <https://docs.cdp.coinbase.com/advanced-trade/docs/ws-overview>.

#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use keyward::exchange as keyward_exchange_client;
use keyward::signing as keyward_signing;

use std::sync::Arc;
use std::time::Duration;

use keyward_exchange_client::ws::{ReconnectReason, WsConfig, WsError, WsEvent, WsSession};
use keyward_exchange_client::{RestClient, Scheme};
use keyward_signing::Credentials;
use keyward_signing::keys::{GeneratedKey, KeyKind, generate};
use keyward_signing::secrecy::ExposeSecret as _;
use keyward_testnet::{Testnet, TestnetConfig, VenueKey};
use serde_json::json;

use crate::ws_common::{GatedSleep, next_state, ws_url};

const VENUE: &str = "coinbase-advanced";
const KEY_NAME: &str = "organizations/org-1/apiKeys/key-1";
const AGE: Duration = Duration::from_secs(3600);

/// A testnet that knows `key`'s public half only, under [`KEY_NAME`].
async fn testnet(key: &GeneratedKey) -> Testnet {
    let config = TestnetConfig::default().with_public_keys([VenueKey::new(
        VENUE,
        KEY_NAME,
        key.public_pem(),
    )]);
    Testnet::start(config).await.unwrap()
}

fn creds(key: &GeneratedKey) -> Credentials {
    Credentials::new(KEY_NAME, key.private_pem().expose_secret().into())
}

fn config(t: &Testnet, creds: &Credentials, sleep: &GatedSleep) -> Result<WsConfig, WsError> {
    let params = json!({"channel": "user", "product_ids": ["BTC-USD"]});
    Ok(
        WsConfig::from_credentials(Scheme::CoinbaseAdvanced, &ws_url(t, VENUE), creds)?
            .with_auth_params(params.as_object().unwrap().clone())
            .with_sleep(Arc::new(sleep.clone()))
            .with_max_age(Some(AGE))
            .with_ping_interval(Duration::from_secs(3600))
            .with_backoff(
                keyward::resilience::Backoff::Constant(Duration::from_millis(1)),
                Duration::from_millis(1),
            )
            .with_jitter(keyward::resilience::Jitter::None, Some(3)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p256_and_ed25519_cdp_keys_authenticate_and_reauthenticate_after_a_drop() {
    for kind in [KeyKind::P256, KeyKind::Ed25519] {
        let key = generate(kind).unwrap();
        let t = testnet(&key).await;
        let sleep = GatedSleep::real(AGE);
        let mut session = WsSession::connect(config(&t, &creds(&key), &sleep).unwrap())
            .await
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(
            session.next_event().await,
            Some(WsEvent::Authenticated),
            "{kind}"
        );
        // The venue drops the connection: the session connects again and sends a subscribe
        // with a JWT signed for it (the testnet verifies it as it verified the first).
        t.faults().drop_websockets(Some(VENUE));
        assert_eq!(
            next_state(&mut session).await,
            WsEvent::Reconnecting {
                attempt: 1,
                delay: Duration::from_millis(1),
                reason: ReconnectReason::ClosedByVenue
            },
            "{kind}"
        );
        assert_eq!(next_state(&mut session).await, WsEvent::Authenticated);
        assert_eq!(next_state(&mut session).await, WsEvent::Reconnected);
        session.close().await;
        assert_eq!(next_state(&mut session).await, WsEvent::Closed);
        assert_eq!(t.hits(VENUE, "GET", "/ws"), 2, "{kind}");
        t.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_key_under_the_same_name_is_refused_with_coinbases_error() {
    for kind in [KeyKind::P256, KeyKind::Ed25519] {
        let key = generate(kind).unwrap();
        let t = testnet(&key).await;
        let wrong = generate(kind).unwrap();
        let sleep = GatedSleep::real(AGE);
        let cfg = config(&t, &creds(&wrong), &sleep)
            .unwrap()
            .with_ack_timeout(Duration::from_secs(30));
        let err = WsSession::connect(cfg).await.unwrap_err();
        let failure = err
            .auth_failure()
            .unwrap_or_else(|| panic!("{kind}: expected an auth refusal, got {err:?}"));
        assert_eq!(failure.venue, Scheme::CoinbaseAdvanced);
        assert_eq!(failure.code, None);
        assert_eq!(failure.message, "authentication failure");
        // A refused key is final: nothing waited to try again.
        assert!(sleep.slept().is_empty(), "{kind}: {:?}", sleep.slept());
        let shown = format!("{err} {err:?}");
        assert!(
            !shown.contains(wrong.private_pem().expose_secret()),
            "{shown}"
        );
        t.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_hmac_key_is_refused_by_its_kind_before_anything_is_sent() {
    let key = generate(KeyKind::P256).unwrap();
    let t = testnet(&key).await;
    let hmac = Credentials::new(KEY_NAME, "CANARY-legacy-hmac-secret".into());
    let sleep = GatedSleep::real(AGE);
    let err = config(&t, &hmac, &sleep).unwrap_err();
    let refused_by_kind = |err: &WsError| {
        matches!(
            err,
            WsError::Unsupported {
                venue: Scheme::CoinbaseAdvanced,
                key: Some(KeyKind::Hmac),
            }
        )
    };
    assert!(refused_by_kind(&err), "{err:?}");
    let shown = format!("{err} {err:?}");
    assert!(
        shown.contains("with an HMAC key") && !shown.contains("CANARY"),
        "{shown}"
    );
    // The same through the builder, bound to a REST client.
    let err = RestClient::builder(Scheme::CoinbaseAdvanced, t.url(VENUE).unwrap())
        .credentials(hmac)
        .build_ws(&ws_url(&t, VENUE))
        .await
        .unwrap_err();
    assert!(refused_by_kind(&err), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("CANARY"));
    // Nothing reached the venue: no WebSocket upgrade, no request of any kind.
    assert_eq!(t.hits(VENUE, "GET", "/ws"), 0);
    assert_eq!(t.hits(VENUE, "GET", "/api/v3/brokerage/time"), 0);
    t.shutdown().await;
}
