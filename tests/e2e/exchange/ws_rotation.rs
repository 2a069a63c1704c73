//! Rotation and refusals across REST and WebSocket (finding 12): a client built by the facade's
//! `.secret_store(store, name)` follows the store's rotation notices on its next REST call and
//! its next WebSocket (re)authentication; a WebSocket auth refused for its timestamp resyncs the
//! clock once, one refused for a rate limit is retried after a bounded backoff, and one refused
//! for the key re-reads the store (past its cache) once before the refusal is final.

#![allow(clippy::unwrap_used)] // reason: tests fail loudly

use keyward::exchange as keyward_exchange_client;
use keyward::secrets as keyward_secrets_backends;
use keyward::signing as keyward_signing;

use crate::ws_common::{self, Act, GatedSleep, MockVenue, Queue, Seen, next_state, timing, ws_url};

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use keyward::Scheme;
use keyward_exchange_client::RestClient;
use keyward_exchange_client::ws::{WsConfig, WsError, WsEvent, WsSession};
use keyward_secrets_backends::{CacheConfig, CachedStore, SecretStore, SecretValue};
use keyward_signing::Credentials;
use keyward_signing::secrecy::ExposeSecret;
use keyward_testnet::{Faults, Testnet, TestnetConfig};

const NAME: &str = "bot/ws";
const AGE: Duration = Duration::from_secs(3600);

fn cached(inner: Arc<Queue>) -> Arc<CachedStore> {
    Arc::new(CachedStore::new(inner, CacheConfig::default()))
}

fn fields(c: &Credentials) -> SecretValue {
    SecretValue::fields([
        ("api_key", c.api_key()),
        ("secret", c.secret().expose_secret()),
    ])
}

async fn testnet() -> Testnet {
    Testnet::start(TestnetConfig::default()).await.unwrap()
}

/// A facade client of `venue` at `base`, with its credentials from `store`.
async fn client(venue: Scheme, base: &str, store: Arc<dyn SecretStore>) -> RestClient {
    RestClient::builder(venue, base)
        .secret_store(store, NAME)
        .rate_limits(Vec::new())
        .build()
        .await
        .unwrap()
}

fn auth_key(seen: Seen) -> String {
    match seen {
        Seen::Auth(v) => v.to_string(),
        other => panic!("expected the auth message, saw {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_notice_reaches_the_next_rest_call_and_the_next_ws_auth() {
    let t = testnet().await;
    let new = t.credentials("bybit").unwrap().to_signing();
    // The old key: the store holds it when the client is built; the venue (the testnet, and the
    // mock WebSocket venue after the rotation) accepts only the new one.
    let old = Credentials::new(ws_common::GOOD_KEY, "old-secret-0001".into());
    let inner = Queue::of(NAME, &[(old.api_key(), "old-secret-0001")]);
    let store = cached(inner.clone());
    let c = client(Scheme::Bybit, t.url("bybit").unwrap(), store.clone()).await;
    let mut mock = MockVenue::start(keyward_signing::Scheme::Bybit).await;
    let sleep = GatedSleep::new(AGE);
    let mut session = WsSession::connect(timing(c.ws_config(&mock.url).unwrap(), &sleep, AGE))
        .await
        .unwrap();
    let mut first = mock.conn().await;
    assert!(auth_key(first.next_non_ping().await).contains(old.api_key()));
    assert_eq!(next_state(&mut session).await, WsEvent::Authenticated);

    // The rotation: written through the cache, which announces it.
    store.put(NAME, &fields(&new)).await.unwrap();
    mock.accept(new.api_key());

    // REST: the next call signs with the new key at once (one request, not a refused one and a
    // retry).
    c.balance().await.unwrap();
    assert_eq!(t.hits("bybit", "GET", "/v5/account/wallet-balance"), 1);

    // WebSocket: the next authentication (after a drop) carries the new key.
    first.act.send(Act::Drop).unwrap();
    let mut second = mock.conn().await;
    let auth = auth_key(second.next_non_ping().await);
    assert!(
        auth.contains(new.api_key()) && !auth.contains(old.api_key()),
        "{auth}"
    );
    assert!(matches!(
        next_state(&mut session).await,
        WsEvent::Reconnecting { .. }
    ));
    assert_eq!(next_state(&mut session).await, WsEvent::Authenticated);
    assert_eq!(next_state(&mut session).await, WsEvent::Reconnected);
    session.close().await;
    t.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ws_auth_refused_for_its_timestamp_resyncs_the_clock_once_then_succeeds() {
    let t = testnet().await;
    let right = t.credentials("binance").unwrap().to_signing();
    let store = Queue::of(NAME, &[(right.api_key(), right.secret().expose_secret())]);
    let c = client(Scheme::Binance, t.url("binance").unwrap(), store).await;
    c.sync_clock().await.unwrap();
    assert_eq!(c.clock_syncs(), 1);
    // The venue's clock steps a minute ahead: an auth signed on the old offset is refused
    // with -1021.
    let step: Faults = "clock_offset_ms=60000,venue=binance".parse().unwrap();
    t.faults().apply(&step);
    let sleep = GatedSleep::new(AGE);
    let mut session = WsSession::connect(timing(
        c.ws_config(&ws_url(&t, "binance")).unwrap(),
        &sleep,
        AGE,
    ))
    .await
    .unwrap();
    assert_eq!(next_state(&mut session).await, WsEvent::Authenticated);
    assert_eq!(c.clock_syncs(), 2, "exactly one resync");
    assert!(c.clock_offset_ms() > 50_000, "{}", c.clock_offset_ms());
    assert_eq!(
        t.hits("binance", "GET", "/ws"),
        2,
        "one refused auth, one accepted"
    );
    assert!(sleep.slept().is_empty(), "no backoff: {:?}", sleep.slept());
    session.close().await;
    t.shutdown().await;
}

fn binance_rate_limited() -> serde_json::Value {
    serde_json::json!({"status": 429, "error": {"code": -1003,
        "msg": "Too much request weight used; current limit is 6000 request weight per 1 MINUTE."}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_ws_auth_is_retried_after_a_bounded_backoff() {
    let creds = Credentials::new(ws_common::GOOD_KEY, "secret-0001".into());
    let mock = MockVenue::start(keyward_signing::Scheme::Binance).await;
    mock.refuse_next(binance_rate_limited());
    let sleep = GatedSleep::new(AGE);
    let cfg =
        WsConfig::from_credentials(keyward_signing::Scheme::Binance, &mock.url, &creds).unwrap();
    let mut session = WsSession::connect(timing(cfg.clone(), &sleep, AGE))
        .await
        .unwrap();
    assert_eq!(next_state(&mut session).await, WsEvent::Authenticated);
    assert_eq!(mock.connections.load(Ordering::SeqCst), 2);
    assert_eq!(sleep.slept(), vec![Duration::from_millis(1)]);
    session.close().await;

    // Bounded: refused every time, it stops after three waits with the venue's refusal.
    let mock = MockVenue::start(keyward_signing::Scheme::Binance).await;
    for _ in 0..10 {
        mock.refuse_next(binance_rate_limited());
    }
    let sleep = GatedSleep::new(AGE);
    let cfg =
        WsConfig::from_credentials(keyward_signing::Scheme::Binance, &mock.url, &creds).unwrap();
    let err = WsSession::connect(timing(cfg, &sleep, AGE))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, WsError::AuthRejected { code: Some(c), .. } if c == "-1003"),
        "{err:?}"
    );
    assert_eq!(mock.connections.load(Ordering::SeqCst), 4);
    assert_eq!(sleep.slept().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_key_is_read_again_past_the_cache_once_then_the_refusal_is_final() {
    let t = testnet().await;
    let right = t.credentials("bybit").unwrap().to_signing();
    // The store's first answer is cached; the re-read must reach the store itself, which by
    // then holds another (still wrong) secret.
    let inner = Queue::of(
        NAME,
        &[
            (right.api_key(), "wrong-secret-one"),
            (right.api_key(), "wrong-secret-two"),
        ],
    );
    let c = client(
        Scheme::Bybit,
        t.url("bybit").unwrap(),
        cached(inner.clone()),
    )
    .await;
    assert_eq!(inner.reads(), 1);
    let sleep = GatedSleep::new(AGE);
    let err = WsSession::connect(timing(
        c.ws_config(&ws_url(&t, "bybit")).unwrap(),
        &sleep,
        AGE,
    ))
    .await
    .unwrap_err();
    assert!(matches!(err, WsError::AuthRejected { .. }), "{err:?}");
    assert_eq!(inner.reads(), 2, "one re-read, past the cache");
    assert_eq!(
        t.hits("bybit", "GET", "/ws"),
        2,
        "the re-read key was tried once"
    );
    assert!(!err.to_string().contains("wrong-secret"), "{err}");
    t.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_bound_to_a_client_authenticates_for_every_venue_with_both_apis() {
    let t = testnet().await;
    for venue in [
        "binance",
        "bybit",
        "okx",
        "coinbase-exchange",
        "kraken",
        "bitmex",
        "deribit",
    ] {
        let creds = t.credentials(venue).unwrap().to_signing();
        let c = RestClient::builder(venue.parse().unwrap(), t.url(venue).unwrap())
            .credentials(creds)
            .rate_limits(Vec::new())
            .build()
            .await
            .unwrap();
        let sleep = GatedSleep::real(AGE);
        let mut session = WsSession::connect(timing(
            c.ws_config(&ws_url(&t, venue)).unwrap(),
            &sleep,
            AGE,
        ))
        .await
        .unwrap_or_else(|e| panic!("{venue}: {e}"));
        assert_eq!(
            next_state(&mut session).await,
            WsEvent::Authenticated,
            "{venue}"
        );
        session.close().await;
    }
    t.shutdown().await;
}
