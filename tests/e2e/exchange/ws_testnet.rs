//! The WebSocket session end to end against `keyward_testnet::Testnet`: every venue with a
//! WebSocket auth authenticates with the testnet's credentials and is rejected with a wrong
//! secret; `drop_ws` makes it reconnect and authenticate again; the age limit replaces the
//! connection; protocol pings are answered.

#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use keyward::exchange as keyward_exchange_client;
use keyward::resilience as keyward_resilience;
use keyward::signing as keyward_signing;

use crate::ws_common;

use std::time::Duration;

use keyward_exchange_client::ws::{ReconnectReason, WsConfig, WsError, WsEvent, WsSession};
use keyward_resilience::{Backoff, Jitter};
use keyward_signing::Credentials;
use keyward_testnet::{Testnet, TestnetConfig};
use serde_json::json;
use std::sync::Arc;
use tokio::time::Instant;
use ws_common::{GatedSleep, WS_VENUES, next_state, ws_url};

const AGE: Duration = Duration::from_secs(3600);

async fn testnet() -> Testnet {
    Testnet::start(TestnetConfig::default()).await.unwrap()
}

fn config(t: &Testnet, venue: &str, creds: &Credentials, sleep: &GatedSleep) -> WsConfig {
    WsConfig::from_credentials(venue.parse().unwrap(), &ws_url(t, venue), creds)
        .unwrap()
        .with_sleep(Arc::new(sleep.clone()))
        .with_max_age(Some(AGE))
        .with_ping_interval(Duration::from_secs(3600))
        .with_backoff(
            Backoff::Constant(Duration::from_millis(1)),
            Duration::from_millis(1),
        )
        .with_jitter(Jitter::None, Some(3))
}

fn right(t: &Testnet, venue: &str) -> Credentials {
    t.credentials(venue).unwrap().to_signing()
}

/// The right key (and passphrase) with another secret of the right form.
fn wrong(t: &Testnet, venue: &str) -> Credentials {
    let right = t.credentials(venue).unwrap();
    let secret = "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA=="; // base64 for Kraken and Coinbase
    let creds = Credentials::new(right.key_id(), secret.into());
    match &right.passphrase {
        Some(p) => creds.with_passphrase(p.clone()),
        None => creds,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_venue_authenticates_with_the_testnet() {
    let t = testnet().await;
    for venue in WS_VENUES {
        let sleep = GatedSleep::real(AGE);
        let mut session = WsSession::connect(config(&t, venue, &right(&t, venue), &sleep))
            .await
            .unwrap_or_else(|e| panic!("{venue}: {e}"));
        assert_eq!(
            session.next_event().await,
            Some(WsEvent::Authenticated),
            "{venue}"
        );
        session.close().await;
        assert_eq!(next_state(&mut session).await, WsEvent::Closed, "{venue}");
    }
    t.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_is_rejected_at_once_for_every_venue() {
    let t = testnet().await;
    for venue in WS_VENUES {
        let sleep = GatedSleep::real(AGE);
        let cfg =
            config(&t, venue, &wrong(&t, venue), &sleep).with_ack_timeout(Duration::from_secs(30));
        let started = Instant::now();
        let err = WsSession::connect(cfg).await.unwrap_err();
        let WsError::AuthRejected {
            venue: v,
            code,
            message,
        } = &err
        else {
            panic!("{venue}: expected AuthRejected, got {err:?}");
        };
        assert_eq!(v.name(), venue);
        assert!(code.is_some() || !message.is_empty(), "{venue}: {err}");
        // Answered by the venue, not by the 30 s ack timeout; and nothing was retried.
        assert!(started.elapsed() < Duration::from_secs(30), "{venue}");
        assert!(sleep.slept().is_empty(), "{venue}: {:?}", sleep.slept());
    }
    t.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_ws_reconnects_and_authenticates_again() {
    let t = testnet().await;
    for venue in WS_VENUES {
        let sleep = GatedSleep::real(AGE);
        let mut session = WsSession::connect(config(&t, venue, &right(&t, venue), &sleep))
            .await
            .unwrap();
        assert_eq!(session.next_event().await, Some(WsEvent::Authenticated));
        t.faults().drop_websockets(Some(venue));
        assert_eq!(
            next_state(&mut session).await,
            WsEvent::Reconnecting {
                attempt: 1,
                delay: Duration::from_millis(1),
                reason: ReconnectReason::ClosedByVenue
            },
            "{venue}"
        );
        assert_eq!(
            next_state(&mut session).await,
            WsEvent::Authenticated,
            "{venue}"
        );
        assert_eq!(
            next_state(&mut session).await,
            WsEvent::Reconnected,
            "{venue}"
        );
        session.close().await;
    }
    t.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_age_limit_replaces_a_binance_connection() {
    let t = testnet().await;
    let sleep = GatedSleep::real(AGE);
    let mut session = WsSession::connect(config(&t, "binance", &right(&t, "binance"), &sleep))
        .await
        .unwrap();
    assert_eq!(session.next_event().await, Some(WsEvent::Authenticated));
    for _ in 0..2 {
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
    }
    session.close().await;
    t.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pings_are_answered_and_subscriptions_survive_a_drop() {
    let t = testnet().await;
    let sleep = GatedSleep::real(AGE);
    let cfg = config(&t, "bybit", &right(&t, "bybit"), &sleep)
        .with_ping_interval(Duration::from_millis(5))
        .with_pong_timeout(Duration::from_secs(60));
    let mut session = WsSession::connect(cfg).await.unwrap();
    assert_eq!(session.next_event().await, Some(WsEvent::Authenticated));
    // Bybit answers its application-level ping; a subscription is resent after a drop.
    session
        .subscribe(json!({"op": "ping", "req_id": "sub"}))
        .await
        .unwrap();
    // Round trips until the testnet has answered three of the session's pings (bounded: a
    // testnet that ignored pings fails here rather than hanging).
    let started = Instant::now();
    let mut round_trips = 0;
    while session.stats().pongs_received < 3 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no pongs: {:?}",
            session.stats()
        );
        session
            .send(&json!({"op": "ping", "req_id": round_trips}))
            .await
            .unwrap();
        match session.next_event().await.unwrap() {
            WsEvent::Message(m) => assert_eq!(m["op"], "ping", "{m}"),
            other => panic!("{other:?}"),
        }
        round_trips += 1;
    }
    assert!(session.stats().pings_sent >= 3);
    t.faults().drop_websockets(Some("bybit"));
    assert!(matches!(
        next_state(&mut session).await,
        WsEvent::Reconnecting { .. }
    ));
    assert_eq!(next_state(&mut session).await, WsEvent::Authenticated);
    assert_eq!(next_state(&mut session).await, WsEvent::Reconnected);
    match session.next_event().await.unwrap() {
        WsEvent::Message(m) => assert_eq!(m["req_id"], "sub", "the subscription was resent: {m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(session.stats().reconnects, 1);
    session.close().await;
    t.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kraken_token_comes_from_the_testnet_rest_api() {
    let t = testnet().await;
    let sleep = GatedSleep::real(AGE);
    let mut session = WsSession::connect(config(&t, "kraken", &right(&t, "kraken"), &sleep))
        .await
        .unwrap();
    assert_eq!(session.next_event().await, Some(WsEvent::Authenticated));
    assert_eq!(t.hits("kraken", "POST", "/0/private/GetWebSocketsToken"), 1);
    session.close().await;
    t.shutdown().await;
}
