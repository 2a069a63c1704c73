//! Binance WebSocket sessions by key kind (issue 15): with an Ed25519 key the session logs on
//! with `session.logon` and then subscribes the connection to the user data stream
//! (`userDataStream.subscribe`); with an HMAC key it sends `userDataStream.subscribe.signature`
//! as before. A rotation in the store from an HMAC secret to an Ed25519 key, and back, changes
//! the next re-authentication's method. Each auth message is checked by keyward's verifier with
//! the key's public half (which takes a `session.logon` signed with Ed25519 only).
//!
//! Against the loopback venue of `ws_common`, which shows every message the client sends; the
//! same logon against the local testnet is
//! `asymmetric::each_asymmetric_key_authenticates_a_websocket_session_at_the_testnet`.

#![allow(clippy::unwrap_used)] // reason: tests fail loudly

use keyward::exchange as keyward_exchange_client;
use keyward::secrets as keyward_secrets_backends;
use keyward::signing as keyward_signing;

use crate::ws_common::{Act, GatedSleep, MockVenue, Queue, Seen, next_state, timing};

use std::sync::Arc;
use std::time::Duration;

use keyward::Scheme;
use keyward_exchange_client::RestClient;
use keyward_exchange_client::ws::{WsEvent, WsSession};
use keyward_secrets_backends::{CacheConfig, CachedStore, SecretStore, SecretValue};
use keyward_signing::Credentials;
use keyward_signing::keys::{KeyKind, generate};
use keyward_signing::secrecy::ExposeSecret;
use keyward_signing::verify::{StaticKeys, Verifier};
use serde_json::Value;

const NAME: &str = "bot/binance-ws";
const AGE: Duration = Duration::from_secs(3600);

/// A Binance client whose credentials come from `store` (announcing rotations through its
/// cache). It makes no REST call here: no clock sync.
async fn client(store: Arc<CachedStore>) -> RestClient {
    RestClient::builder(Scheme::Binance, "http://127.0.0.1:9")
        .secret_store(store, NAME)
        .clock_sync(false)
        .rate_limits(Vec::new())
        .build()
        .await
        .unwrap()
}

fn auth(seen: Seen) -> Value {
    match seen {
        Seen::Auth(v) => v,
        other => panic!("expected the auth message, saw {other:?}"),
    }
}

/// Checks `msg` with keyward's Binance verifier holding `key` (the HMAC secret or the public
/// key of an asymmetric one) for `api_key`.
fn verify(msg: &Value, api_key: &str, key: &str) {
    let keys = StaticKeys::new().with(Credentials::new(api_key, key.into()));
    let verified = Verifier::new(Scheme::Binance, Arc::new(keys))
        .verify_ws(msg)
        .unwrap_or_else(|e| panic!("{e}: {msg}"));
    assert_eq!(verified.key_id, api_key);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ed25519_session_logs_on_then_subscribes_to_the_user_data_stream() {
    let ed = generate(KeyKind::Ed25519).unwrap();
    let key = crate::ws_common::GOOD_KEY;
    let store = Arc::new(CachedStore::new(
        Queue::of(NAME, &[(key, ed.private_pem().expose_secret())]),
        CacheConfig::default(),
    ));
    let c = client(store).await;
    let mut mock = MockVenue::start(Scheme::Binance).await;
    let sleep = GatedSleep::new(AGE);
    let mut session = WsSession::connect(timing(c.ws_config(&mock.url).unwrap(), &sleep, AGE))
        .await
        .unwrap();
    let mut conn = mock.conn().await;
    let logon = auth(conn.next_non_ping().await);
    assert_eq!(logon["method"], "session.logon", "{logon}");
    assert_eq!(logon["params"]["apiKey"], key);
    verify(&logon, key, ed.public_pem());
    assert_eq!(next_state(&mut session).await, WsEvent::Authenticated);
    match conn.next_non_ping().await {
        Seen::Text(v) => {
            assert_eq!(v["method"], "userDataStream.subscribe", "{v}");
            assert!(v.get("params").is_none(), "unsigned after the logon: {v}");
        }
        other => panic!("expected the subscribe, saw {other:?}"),
    }
    session.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_between_hmac_and_ed25519_changes_the_next_reauth() {
    let old = ("good-key-0001", "an-hmac-secret-0001");
    let ed = generate(KeyKind::Ed25519).unwrap();
    let store = Arc::new(CachedStore::new(
        Queue::of(NAME, &[old]),
        CacheConfig::default(),
    ));
    let c = client(store.clone()).await;
    let mut mock = MockVenue::start(Scheme::Binance).await;
    let sleep = GatedSleep::new(AGE);
    let mut session = WsSession::connect(timing(c.ws_config(&mock.url).unwrap(), &sleep, AGE))
        .await
        .unwrap();
    let mut first = mock.conn().await;
    let msg = auth(first.next_non_ping().await);
    assert_eq!(msg["method"], "userDataStream.subscribe.signature", "{msg}");
    verify(&msg, old.0, old.1);
    assert_eq!(next_state(&mut session).await, WsEvent::Authenticated);

    // HMAC -> Ed25519, written through the cache, which announces it.
    let new_key = "good-key-0002";
    let fields = |k: &str, s: &str| SecretValue::fields([("api_key", k), ("secret", s)]);
    store
        .put(NAME, &fields(new_key, ed.private_pem().expose_secret()))
        .await
        .unwrap();
    mock.accept(new_key);
    first.act.send(Act::Drop).unwrap();
    let mut second = mock.conn().await;
    let msg = auth(second.next_non_ping().await);
    assert_eq!(msg["method"], "session.logon", "{msg}");
    verify(&msg, new_key, ed.public_pem());
    assert!(matches!(
        next_state(&mut session).await,
        WsEvent::Reconnecting { .. }
    ));
    assert_eq!(next_state(&mut session).await, WsEvent::Authenticated);
    assert_eq!(next_state(&mut session).await, WsEvent::Reconnected);

    // And back to an HMAC secret.
    let back = ("good-key-0003", "an-hmac-secret-0003");
    store.put(NAME, &fields(back.0, back.1)).await.unwrap();
    mock.accept(back.0);
    second.act.send(Act::Drop).unwrap();
    let mut third = mock.conn().await;
    let msg = auth(third.next_non_ping().await);
    assert_eq!(msg["method"], "userDataStream.subscribe.signature", "{msg}");
    verify(&msg, back.0, back.1);
    assert!(matches!(
        next_state(&mut session).await,
        WsEvent::Reconnecting { .. }
    ));
    assert_eq!(next_state(&mut session).await, WsEvent::Authenticated);
    assert_eq!(next_state(&mut session).await, WsEvent::Reconnected);
    session.close().await;
}

/// A logged-on Ed25519 session at TRACE (one thread, so the subscriber sees every task): no
/// piece of the private key, nor the logon's signature, is in a log line or in the `Debug` of
/// the client, the configuration, the session or its events.
#[tokio::test]
async fn an_ed25519_logon_leaves_no_key_or_signature_in_logs_or_debug() {
    let (capture, _guard) = crate::trace::capture_trace();

    let ed = generate(KeyKind::Ed25519).unwrap();
    let pem = ed.private_pem().expose_secret().to_owned();
    let store = Arc::new(CachedStore::new(
        Queue::of(NAME, &[(crate::ws_common::GOOD_KEY, &pem)]),
        CacheConfig::default(),
    ));
    let c = client(store).await;
    let mut mock = MockVenue::start(Scheme::Binance).await;
    let sleep = GatedSleep::new(AGE);
    let cfg = timing(c.ws_config(&mock.url).unwrap(), &sleep, AGE);
    let mut shown = vec![format!("{c:?}"), format!("{cfg:?}")];
    let mut session = WsSession::connect(cfg).await.unwrap();
    let mut conn = mock.conn().await;
    let logon = auth(conn.next_non_ping().await);
    assert_eq!(logon["method"], "session.logon");
    let signature = logon["params"]["signature"].as_str().unwrap().to_owned();
    shown.push(format!("{:?}", next_state(&mut session).await));
    shown.push(format!("{session:?}"));
    session.close().await;

    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    // The PKCS#8 header every Ed25519 key shares is skipped: 16 characters.
    let mut canaries: Vec<String> = (16..body.len() - 12)
        .map(|i| body[i..i + 12].to_owned())
        .collect();
    canaries.push(signature[..24].to_owned());
    let logs = capture.text();
    assert!(
        logs.contains("authenticated"),
        "the logon was logged: {logs}"
    );
    for canary in &canaries {
        assert!(!logs.contains(canary.as_str()), "the logs carry {canary:?}");
        for text in &shown {
            assert!(!text.contains(canary.as_str()), "{text} carries {canary:?}");
        }
    }
}
