//! WebSocket sessions from the one builder (issue 14): `ClientBuilder::build_ws` makes a
//! session on the builder's venue, credentials source, sleep and transport, for every venue and
//! service scheme the testnet authenticates WebSockets for; a REST venue's session is bound to
//! the client built with it (its first authentication synced the clock through the venue's
//! time endpoint); a builder that cannot build says so as a typed `WsError::Client`.

#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use keyward::exchange as keyward_exchange_client;

use std::time::Duration;

use keyward_exchange_client::ws::{WsError, WsEvent, WsSession};
use keyward_exchange_client::{ErrorKind, RestClient, Scheme};
use keyward_testnet::{Testnet, TestnetConfig};

use crate::ws_common::{WS_VENUES, ws_url};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_builder_makes_authenticated_sessions_for_every_venue() {
    let t = Testnet::start(TestnetConfig::default()).await.unwrap();
    for venue in WS_VENUES {
        let scheme: Scheme = venue.parse().unwrap();
        let config = RestClient::builder(scheme, t.url(venue).unwrap())
            .credentials(t.credentials(venue).unwrap().to_signing())
            .build_ws(&ws_url(&t, venue))
            .await
            .unwrap_or_else(|e| panic!("{venue}: {e}"))
            .with_ping_interval(Duration::from_secs(3600))
            .with_max_reconnects(Some(0));
        let mut session = WsSession::connect(config)
            .await
            .unwrap_or_else(|e| panic!("{venue}: {e}"));
        assert_eq!(
            session.next_event().await,
            Some(WsEvent::Authenticated),
            "{venue}"
        );
        session.close().await;
    }
    // Binance's session was bound to a REST client: its authentication synced that client's
    // clock through the venue's time endpoint first, once.
    assert_eq!(t.hits("binance", "GET", "/api/v3/time"), 1);
    t.shutdown().await;
}

#[tokio::test]
async fn a_builder_that_cannot_build_is_a_typed_client_error() {
    // A REST venue whose base URL the client refuses (plain http off loopback).
    let err = RestClient::builder(Scheme::Binance, "http://api.binance.com")
        .credentials(keyward::Credentials::new("k", "CANARY-secret".into()))
        .build_ws("wss://ws-api.binance.com/ws-api/v3")
        .await
        .unwrap_err();
    let WsError::Client { venue, source } = &err else {
        panic!("expected WsError::Client, got {err:?}");
    };
    assert_eq!(*venue, Scheme::Binance);
    assert_eq!(source.kind(), ErrorKind::Config);
    // A WebSocket-only venue without credentials.
    let err = RestClient::builder(Scheme::Bitmart, "https://api-cloud.bitmart.com")
        .build_ws("wss://ws-manager-compress.bitmart.com/user?protocol=1.1")
        .await
        .unwrap_err();
    assert!(matches!(err, WsError::Client { .. }), "{err:?}");
    assert!(err.to_string().contains("no credentials"), "{err}");
    assert!(!format!("{err:?}").contains("CANARY"));
}
