//! A canary token never shows: not in `Debug`, errors or any log line at TRACE, and never in
//! clear in Redis.

use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

use keyward_exchange_client::session::TokenProvider as _;
use tokio::sync::{Notify, mpsc};

use crate::redis_server::RedisServer;
use crate::{CAP, Fake, Outcome, clock, connect, del_raw, fleet, fleet_key, raw};

const CANARY: &str = "CANARY-fleet-token-5f0c2b9e";

#[tokio::test]
async fn the_token_never_shows() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let (capture, _guard) = crate::trace::capture_trace();
    let conn = connect(&server.url()).await;
    let (key, clock) = (fleet_key(), clock());
    let calls = Arc::new(AtomicU32::new(0));
    let mut seen = Vec::new();
    // The holder, then a reader of the entry.
    let holder = fleet(
        Fake::new(Outcome::Token(CANARY.to_owned()), &calls, &clock),
        &conn,
        &key,
        &clock,
    );
    let token = holder.login().await.unwrap();
    assert_eq!(token.expose(), CANARY);
    seen.push(format!("{holder:?} {token:?}"));
    let reader = fleet(
        Fake::new(Outcome::Token(CANARY.to_owned()), &calls, &clock),
        &conn,
        &key,
        &clock,
    );
    seen.push(format!("{:?}", reader.login().await.unwrap()));
    assert!(!raw(&conn, "token").await.unwrap().contains(CANARY));
    // A stale holder's refused write (its warning path).
    del_raw(&conn, "token").await;
    let (entered, mut started) = mpsc::unbounded_channel();
    let release = Arc::new(Notify::new());
    let stale = fleet(
        Fake::new(Outcome::Token(CANARY.to_owned()), &calls, &clock).held(entered, &release),
        &conn,
        &key,
        &clock,
    );
    let task = tokio::spawn(async move { stale.login().await });
    tokio::time::timeout(CAP, started.recv()).await.unwrap();
    crate::set_raw(&conn, "lock", "99", Some(60_000)).await;
    release.notify_one();
    seen.push(format!("{:?}", task.await.unwrap().unwrap()));
    // Redis stopped: the error, and the fallback's warning.
    server.stop();
    let err = reader
        .login()
        .await
        .map(|_| ())
        .expect_err("a cached token in memory is not this type's job");
    seen.push(format!("{err} {err:?}"));
    let alone = fleet(
        Fake::new(Outcome::Token(CANARY.to_owned()), &calls, &clock),
        &conn,
        &key,
        &clock,
    )
    .with_timeout(Duration::from_millis(300))
    .with_local_fallback();
    seen.push(format!("{alone:?} {:?}", alone.login().await.unwrap()));
    let logs = capture.text();
    assert!(logs.contains("WARN"), "the paths above warn: {logs}");
    for text in seen.iter().chain([&logs]) {
        assert!(!text.contains(CANARY), "{text}");
    }
}
