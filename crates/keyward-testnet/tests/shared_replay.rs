//! Two testnet processes' worth of listeners sharing one replay memory on a real redis-server
//! (`TestnetConfig::with_replay_cache`): a service-scheme request or WebSocket auth accepted by
//! one is a replay at the other, and with Redis down both refuse with 503 (fail closed).
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

#[path = "../../../tests/support/redis_server.rs"]
mod redis_server;

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use keyward_signing::SignOptions;
use keyward_signing::redis::RedisReplayCache;
use keyward_testnet::{SharedState, Testnet, TestnetConfig, VenueCredentials};
use serde_json::{Map, json};

/// A testnet whose service schemes remember requests in `url`'s Redis, with fixed credentials
/// so that both replicas know the same keys.
async fn replica(url: &str) -> Testnet {
    let conn = redis::Client::open(url)
        .unwrap()
        .get_connection_manager()
        .await
        .unwrap();
    let cache = RedisReplayCache::new(conn, "testnet").with_timeout(Duration::from_millis(300));
    Testnet::start(replica_config().with_replay_cache(Arc::new(cache)))
        .await
        .unwrap()
}

/// The replicas' credentials: the same keys on every replica.
fn replica_config() -> TestnetConfig {
    TestnetConfig::default().with_credentials(vec![
        VenueCredentials::new("keyward-v1", "svc-a", "replica-secret-1"),
        VenueCredentials::new("hmac-concat", "svc-b", "replica-secret-2"),
    ])
}

/// The path of a keyward-v1 order on `t`.
fn order(t: &Testnet) -> keyward_signing::Request {
    let prefix = t.url("keyward-v1").unwrap().splitn(4, '/').nth(3).unwrap();
    keyward_signing::Request::post(format!("/{prefix}/orders")).with_body(r#"{"qty":1}"#)
}

#[tokio::test]
async fn shared_state_alone_gives_the_replicas_one_replay_memory() {
    let Some(server) = redis_server::RedisServer::start() else {
        return;
    };
    let mut replicas = Vec::new();
    for _ in 0..2 {
        let conn = redis::Client::open(server.url())
            .unwrap()
            .get_connection_manager()
            .await
            .unwrap();
        let state = SharedState::new(conn, "replicas").unwrap();
        let config = replica_config().with_shared_state(state);
        assert!(config.replay_cache.is_some());
        replicas.push(Testnet::start(config).await.unwrap());
    }
    let (a, b) = (&replicas[0], &replicas[1]);
    let signed = signer(a, "keyward-v1")
        .sign(order(a), &SignOptions::default())
        .unwrap();
    assert_eq!(send(a, "keyward-v1", &signed).await.status, 200);
    let again = send(b, "keyward-v1", &signed).await;
    assert_eq!(
        (again.status, &again.body),
        (401, &json!({"error": "replayed"}))
    );
    for t in replicas {
        t.shutdown().await;
    }
}

#[tokio::test]
async fn replicas_refuse_each_others_replays_and_fail_closed_without_redis() {
    let Some(mut server) = redis_server::RedisServer::start() else {
        return;
    };
    let a = replica(&server.url()).await;
    let b = replica(&server.url()).await;
    let path = order;
    let signed = signer(&a, "keyward-v1")
        .sign(path(&a), &SignOptions::default())
        .unwrap();
    let first = send(&a, "keyward-v1", &signed).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    let again = send(&b, "keyward-v1", &signed).await;
    assert_eq!(
        (again.status, &again.body),
        (401, &json!({"error": "replayed"}))
    );

    // WebSocket auth (hmac-concat) goes through the same memory.
    let msg = signer(&a, "hmac-concat")
        .ws_auth(&Map::new(), &SignOptions::default())
        .unwrap();
    let mut ws_a = connect(&ws_url(a.url("hmac-concat").unwrap(), "/ws")).await;
    let mut ws_b = connect(&ws_url(b.url("hmac-concat").unwrap(), "/ws")).await;
    assert_eq!(
        ask(&mut ws_a, &msg).await,
        json!({"op": "auth", "success": true})
    );
    assert_eq!(
        ask(&mut ws_b, &msg).await,
        json!({"op": "auth", "success": false, "error": "replayed"})
    );

    // Redis down: refused with 503, never accepted unchecked.
    server.stop();
    let fresh = signer(&a, "keyward-v1")
        .sign(path(&a), &SignOptions::default())
        .unwrap();
    for t in [&a, &b] {
        let refused = send(t, "keyward-v1", &fresh).await;
        assert_eq!(
            (refused.status, &refused.body),
            (503, &json!({"error": "unavailable"}))
        );
    }
    a.shutdown().await;
    b.shutdown().await;
}
