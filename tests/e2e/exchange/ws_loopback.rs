//! The WebSocket session against a loopback venue that speaks each venue's auth shapes:
//! authentication, rejection, reconnects with backoff, the age limit, pings and resubscription.

#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use keyward::exchange as keyward_exchange_client;
use keyward::resilience as keyward_resilience;
use keyward::signing as keyward_signing;

use crate::ws_common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use keyward_exchange_client::ws::{
    ReconnectReason, TokenProvider, WsConfig, WsError, WsEvent, WsSession,
};
use keyward_resilience::retry::JitterRng;
use keyward_resilience::{Backoff, Jitter};
use keyward_signing::secrecy::SecretString;
use keyward_signing::{Credentials, Scheme};
use serde_json::{Value, json};
use ws_common::{Act, GOOD_KEY, GatedSleep, MockVenue, Seen, next_state};

const VENUES: [Scheme; 11] = [
    Scheme::Binance,
    Scheme::Bybit,
    Scheme::Okx,
    Scheme::CoinbaseExchange,
    Scheme::Kraken,
    Scheme::Bitmex,
    Scheme::Deribit,
    Scheme::Bitmart,
    Scheme::HmacConcat,
    Scheme::KeywardV1,
    Scheme::HmacNewlineV0,
];

/// Never reached: the gated wait is the connection age limit, opened by the tests that want it.
const AGE: Duration = Duration::from_secs(3600);
const SEED: u64 = 7;

fn config(venue: Scheme, url: &str, key: &str, sleep: &GatedSleep) -> WsConfig {
    // Base64, as Kraken and Coinbase Exchange issue secrets; raw bytes for the others.
    let creds = Credentials::new(key, "c2VjcmV0LXNlY3JldA==".into()).with_passphrase("pass".into());
    let token = format!("{key}-token");
    let provider: TokenProvider = Arc::new(move || {
        let token = SecretString::from(token.clone());
        Box::pin(async move { Ok(token) })
    });
    WsConfig::from_credentials(venue, url, &creds)
        .unwrap()
        .with_sleep(Arc::new(sleep.clone()))
        .with_max_age(Some(AGE))
        .with_ping_interval(Duration::from_secs(3600))
        .with_ack_timeout(Duration::from_secs(10))
        .with_jitter(Jitter::Full, Some(SEED))
        .with_token_provider(provider)
}

async fn connect(venue: Scheme) -> (MockVenue, WsSession, GatedSleep) {
    let mock = MockVenue::start(venue).await;
    let sleep = GatedSleep::new(AGE);
    let session = WsSession::connect(config(venue, &mock.url, GOOD_KEY, &sleep))
        .await
        .unwrap();
    (mock, session, sleep)
}

#[tokio::test]
async fn every_venue_authenticates_then_exchanges_messages() {
    for venue in VENUES {
        let (mut mock, mut session, _) = connect(venue).await;
        assert_eq!(
            session.next_event().await,
            Some(WsEvent::Authenticated),
            "{venue}"
        );
        if venue == Scheme::Bitmex {
            let banner = session.next_event().await.unwrap();
            assert!(matches!(banner, WsEvent::Message(v) if v["info"].is_string()));
        }
        let mut conn = mock.conn().await;
        assert!(matches!(conn.next_non_ping().await, Seen::Auth(_)));
        conn.act
            .send(Act::Text(r#"{"topic":"order","data":[1]}"#.into()))
            .unwrap();
        assert_eq!(
            session.next_event().await,
            Some(WsEvent::Message(json!({"topic": "order", "data": [1]})))
        );
        session.send(&json!({"op": "ping"})).await.unwrap();
        assert!(matches!(conn.next_non_ping().await, Seen::Text(v) if v == json!({"op": "ping"})));
        session.close().await;
        assert_eq!(session.next_event().await, Some(WsEvent::Closed));
        assert_eq!(session.next_event().await, None);
        assert!(matches!(
            session.send(&json!({})).await,
            Err(WsError::Closed)
        ));
    }
}

#[tokio::test]
async fn every_venue_rejection_is_a_typed_error_without_reconnecting() {
    for venue in VENUES {
        let mock = MockVenue::start(venue).await;
        if venue == Scheme::HmacNewlineV0 {
            mock.reject_all.store(true, Ordering::SeqCst); // it sends no key id to tell by
        }
        let sleep = GatedSleep::new(AGE);
        let err = WsSession::connect(config(venue, &mock.url, "bad-key-0002", &sleep))
            .await
            .unwrap_err();
        let WsError::AuthRejected {
            venue: v,
            code,
            message,
        } = &err
        else {
            panic!("{venue}: {err:?}");
        };
        assert_eq!(*v, venue);
        assert!(code.is_some() || !message.is_empty(), "{venue}: {err}");
        assert_eq!(mock.connections.load(Ordering::SeqCst), 1, "{venue}");
        assert!(sleep.slept().is_empty(), "{venue}: no backoff, no retry");
    }
}

#[tokio::test]
async fn an_unanswered_auth_times_out() {
    let mock = MockVenue::start(Scheme::Bybit).await;
    mock.silent.store(true, Ordering::SeqCst);
    let sleep = GatedSleep::new(AGE);
    let cfg = config(Scheme::Bybit, &mock.url, GOOD_KEY, &sleep)
        .with_ack_timeout(Duration::from_millis(100));
    let err = WsSession::connect(cfg).await.unwrap_err();
    assert!(
        matches!(
            err,
            WsError::AckTimeout {
                venue: Scheme::Bybit,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn nobody_listening_is_a_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/ws", listener.local_addr().unwrap());
    drop(listener);
    let sleep = GatedSleep::new(AGE);
    let err = WsSession::connect(config(Scheme::Okx, &url, GOOD_KEY, &sleep))
        .await
        .unwrap_err();
    assert!(matches!(err, WsError::Connect { .. }), "{err:?}");
}

/// The delays the session must draw: seeded full jitter over the default backoff.
fn expected_delays(n: u32) -> Vec<Duration> {
    let (backoff, cap) = (
        Backoff::exponential(Duration::from_millis(500)),
        Duration::from_secs(30),
    );
    let mut rng = JitterRng::seed_from_u64(SEED);
    let mut prev = None;
    (1..=n)
        .map(|attempt| {
            let d = Jitter::Full.apply(
                backoff.delay(attempt, cap),
                backoff.base(),
                prev,
                cap,
                &mut rng,
            );
            prev = Some(d);
            d
        })
        .collect()
}

#[tokio::test]
async fn a_dropped_connection_reconnects_reauthenticates_and_resubscribes() {
    for (act, reason) in [
        (Act::Drop, ReconnectReason::Dropped),
        (Act::Close, ReconnectReason::ClosedByVenue),
    ] {
        let (mut mock, mut session, sleep) = connect(Scheme::Bybit).await;
        assert_eq!(session.next_event().await, Some(WsEvent::Authenticated));
        let mut first = mock.conn().await;
        first.next_non_ping().await;
        let sub = json!({"op": "subscribe", "args": ["order"]});
        session.subscribe(sub.clone()).await.unwrap();
        assert!(matches!(first.next_non_ping().await, Seen::Text(v) if v == sub));

        first.act.send(act).unwrap();
        let delay = expected_delays(1)[0];
        assert_eq!(
            next_state(&mut session).await,
            WsEvent::Reconnecting {
                attempt: 1,
                delay,
                reason
            }
        );
        assert_eq!(next_state(&mut session).await, WsEvent::Authenticated);
        assert_eq!(next_state(&mut session).await, WsEvent::Reconnected);
        let mut second = mock.conn().await;
        assert_eq!(second.number, 2);
        assert!(matches!(second.next_non_ping().await, Seen::Auth(v) if v["op"] == "auth"));
        assert!(matches!(second.next_non_ping().await, Seen::Text(v) if v == sub));
        assert_eq!(sleep.slept(), vec![delay]);
        session.close().await;
    }
}

#[tokio::test]
async fn failed_attempts_back_off_with_seeded_jitter() {
    let (mut mock, mut session, sleep) = connect(Scheme::Bybit).await;
    assert_eq!(session.next_event().await, Some(WsEvent::Authenticated));
    let first = mock.conn().await;
    mock.fail_next.store(3, Ordering::SeqCst);
    first.act.send(Act::Drop).unwrap();
    let delays = expected_delays(4);
    for (i, delay) in delays.iter().enumerate() {
        let attempt = i as u32 + 1;
        let reason = if attempt == 1 {
            ReconnectReason::Dropped
        } else {
            ReconnectReason::AttemptFailed
        };
        assert_eq!(
            next_state(&mut session).await,
            WsEvent::Reconnecting {
                attempt,
                delay: *delay,
                reason
            }
        );
    }
    assert_eq!(next_state(&mut session).await, WsEvent::Authenticated);
    assert_eq!(next_state(&mut session).await, WsEvent::Reconnected);
    assert_eq!(sleep.slept(), delays);
    assert_eq!(mock.connections.load(Ordering::SeqCst), 5);
    session.close().await;
}

#[tokio::test]
async fn a_rejection_on_reconnect_is_loud_and_final() {
    let (mut mock, mut session, _) = connect(Scheme::Deribit).await;
    assert_eq!(session.next_event().await, Some(WsEvent::Authenticated));
    let first = mock.conn().await;
    mock.reject_all.store(true, Ordering::SeqCst);
    first.act.send(Act::Drop).unwrap();
    assert!(matches!(
        next_state(&mut session).await,
        WsEvent::Reconnecting { attempt: 1, .. }
    ));
    let WsEvent::AuthFailed(failure) = next_state(&mut session).await else {
        panic!("expected AuthFailed");
    };
    assert_eq!(failure.venue, Scheme::Deribit);
    assert_eq!(failure.code.as_deref(), Some("13004"));
    assert_eq!(failure.message, "invalid_credentials");
    assert_eq!(session.next_event().await, Some(WsEvent::Closed));
    assert_eq!(session.next_event().await, None);
    assert_eq!(mock.connections.load(Ordering::SeqCst), 2);
    assert!(matches!(
        session.send(&json!({})).await,
        Err(WsError::Closed)
    ));
}

#[tokio::test]
async fn max_reconnects_gives_up() {
    let mock_sleep = GatedSleep::new(AGE);
    let mut mock = MockVenue::start(Scheme::HmacConcat).await;
    let cfg =
        config(Scheme::HmacConcat, &mock.url, GOOD_KEY, &mock_sleep).with_max_reconnects(Some(2));
    let mut session = WsSession::connect(cfg).await.unwrap();
    assert_eq!(session.next_event().await, Some(WsEvent::Authenticated));
    let first = mock.conn().await;
    mock.fail_next.store(10, Ordering::SeqCst);
    first.act.send(Act::Drop).unwrap();
    assert!(matches!(
        next_state(&mut session).await,
        WsEvent::Reconnecting { attempt: 1, .. }
    ));
    assert!(matches!(
        next_state(&mut session).await,
        WsEvent::Reconnecting { attempt: 2, .. }
    ));
    assert_eq!(next_state(&mut session).await, WsEvent::Closed);
    assert_eq!(session.next_event().await, None);
}

#[tokio::test]
async fn the_age_limit_replaces_the_connection_without_delay() {
    let (mut mock, mut session, sleep) = connect(Scheme::Binance).await;
    assert_eq!(session.next_event().await, Some(WsEvent::Authenticated));
    let mut first = mock.conn().await;
    first.next_non_ping().await;
    session
        .subscribe(json!({"method": "userDataStream.subscribe", "id": 9}))
        .await
        .unwrap();
    first.next_non_ping().await;
    sleep.open();
    assert_eq!(
        next_state(&mut session).await,
        WsEvent::Reconnecting {
            attempt: 1,
            delay: Duration::ZERO,
            reason: ReconnectReason::MaxAge
        }
    );
    assert_eq!(next_state(&mut session).await, WsEvent::Authenticated);
    assert_eq!(next_state(&mut session).await, WsEvent::Reconnected);
    let mut second = mock.conn().await;
    assert!(
        matches!(second.next_non_ping().await, Seen::Auth(v) if v["method"] == "userDataStream.subscribe.signature")
    );
    assert!(matches!(second.next_non_ping().await, Seen::Text(v) if v["id"] == 9));
    // The old connection was closed by the client.
    while first.seen.recv().await.is_some() {}
    session.close().await;
}

#[tokio::test]
async fn pings_are_answered_and_sent() {
    let mut mock = MockVenue::start(Scheme::Bybit).await;
    let sleep = GatedSleep::new(AGE);
    let cfg = config(Scheme::Bybit, &mock.url, GOOD_KEY, &sleep)
        .with_ping_interval(Duration::from_millis(20))
        .with_pong_timeout(Duration::from_secs(60));
    let mut session = WsSession::connect(cfg).await.unwrap();
    assert_eq!(session.next_event().await, Some(WsEvent::Authenticated));
    let mut conn = mock.conn().await;
    conn.act.send(Act::Ping(b"venue-ping")).unwrap();
    let mut client_pinged = false;
    loop {
        match conn.seen.recv().await.unwrap() {
            Seen::Ping => client_pinged = true,
            Seen::Pong(payload) => {
                assert_eq!(payload, b"venue-ping");
                break;
            }
            Seen::Auth(_) | Seen::Text(_) => {}
        }
    }
    while !client_pinged {
        client_pinged = matches!(conn.seen.recv().await.unwrap(), Seen::Ping);
    }
    let stats = session.stats();
    assert_eq!(stats.pings_answered, 1);
    assert!(stats.pings_sent >= 1, "{stats:?}");
    session.close().await;
}

#[tokio::test]
async fn a_peer_that_stops_answering_pings_is_replaced() {
    let mut mock = MockVenue::start(Scheme::Bitmart).await;
    let sleep = GatedSleep::new(AGE);
    let cfg = config(Scheme::Bitmart, &mock.url, GOOD_KEY, &sleep)
        .with_ping_interval(Duration::from_millis(10))
        .with_pong_timeout(Duration::from_millis(10));
    let mut session = WsSession::connect(cfg).await.unwrap();
    assert_eq!(session.next_event().await, Some(WsEvent::Authenticated));
    mock.conn().await.act.send(Act::Stall).unwrap();
    assert!(matches!(
        next_state(&mut session).await,
        WsEvent::Reconnecting {
            attempt: 1,
            reason: ReconnectReason::PongTimeout,
            ..
        }
    ));
    assert_eq!(next_state(&mut session).await, WsEvent::Authenticated);
    assert_eq!(next_state(&mut session).await, WsEvent::Reconnected);
    session.close().await;
}

#[tokio::test]
async fn plain_ws_is_refused_off_loopback() {
    let creds = Credentials::new(GOOD_KEY, "s".into());
    let err = WsConfig::from_credentials(Scheme::Bybit, "ws://stream.bybit.com/v5/private", &creds)
        .unwrap_err();
    assert!(matches!(err, WsError::InvalidUrl { .. }));
    let err = WsConfig::from_credentials(Scheme::CoinbaseAdvanced, "wss://x.example/ws", &creds)
        .unwrap_err();
    assert!(matches!(err, WsError::Unsupported { .. }));
}

#[tokio::test]
async fn non_json_text_arrives_as_a_string() {
    let (mut mock, mut session, _) = connect(Scheme::Okx).await;
    assert_eq!(session.next_event().await, Some(WsEvent::Authenticated));
    mock.conn()
        .await
        .act
        .send(Act::Text("pong".into()))
        .unwrap();
    assert_eq!(
        session.next_event().await,
        Some(WsEvent::Message(Value::String("pong".into())))
    );
    session.close().await;
}

#[tokio::test]
async fn close_with_a_full_event_buffer_does_not_hang() {
    let mut mock = MockVenue::start(Scheme::Bybit).await;
    let sleep = GatedSleep::new(AGE);
    let cfg = config(Scheme::Bybit, &mock.url, GOOD_KEY, &sleep).with_event_buffer(2);
    let mut session = WsSession::connect(cfg).await.unwrap();
    let conn = mock.conn().await;
    for i in 0..10 {
        conn.act.send(Act::Text(format!(r#"{{"n":{i}}}"#))).unwrap();
    }
    // Nothing read yet: the task waits on the full channel while the venue keeps sending.
    session.close().await;
    let mut events = Vec::new();
    while let Some(event) = session.next_event().await {
        events.push(event);
    }
    assert_eq!(events.first(), Some(&WsEvent::Authenticated));
    assert_eq!(events.last(), Some(&WsEvent::Closed));
}
