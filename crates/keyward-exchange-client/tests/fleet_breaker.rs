//! A circuit breaker's open state shared by a fleet (issue 17): `FleetBreaker` against a real
//! redis-server of each test's own. One process's breaker opening on failures spares the
//! others (they open on their next look, without publishing again); the look is cached; Redis
//! stopped leaves each breaker alone; a key without a TTL is ignored.
#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used)] // reason: tests fail loudly

#[path = "../../../tests/support/redis_server.rs"]
mod redis_server;
#[path = "support/trace.rs"]
mod trace;

use std::sync::Arc;
use std::time::Duration;

use keyward_exchange_client::fleet::{DEFAULT_BREAKER_REFRESH, FleetBreaker};
use keyward_resilience::breaker::SlidingWindow;
use keyward_resilience::{BreakerConfig, BreakerState, CircuitBreaker};
use keyward_signing::redis::ConnectionManager;
use keyward_signing::{Clock, FixedClock};
use redis_server::RedisServer;

const PREFIX: &str = "fleet-test";
const WAIT_IN_OPEN: Duration = Duration::from_secs(30);

async fn connect(url: &str) -> ConnectionManager {
    redis::Client::open(url)
        .unwrap()
        .get_connection_manager()
        .await
        .unwrap()
}

/// A breaker that opens after two failures in a row.
fn breaker() -> CircuitBreaker {
    let config = BreakerConfig::builder()
        .sliding_window(SlidingWindow::CountBased { size: 2 })
        .minimum_calls(2)
        .failure_rate_threshold(50.0)
        .wait_in_open(WAIT_IN_OPEN)
        .build()
        .unwrap();
    CircuitBreaker::new("binance", config)
}

/// One "process": its own breaker, its own fleet handle.
fn process(
    conn: &ConnectionManager,
    clock: &Arc<FixedClock>,
) -> (CircuitBreaker, Arc<FleetBreaker>) {
    let b = breaker();
    let fleet = FleetBreaker::new(&b, conn.clone(), PREFIX)
        .with_clock(Arc::clone(clock) as Arc<dyn Clock>)
        .attach();
    (b, fleet)
}

fn fail_twice(b: &CircuitBreaker) {
    b.try_acquire().unwrap().failure();
    b.try_acquire().unwrap().failure();
    assert_eq!(b.state(), BreakerState::Open);
}

async fn get(conn: &ConnectionManager, key: &str) -> (Option<String>, i64) {
    let mut conn = conn.clone();
    let value: Option<String> = redis::cmd("GET")
        .arg(key)
        .query_async(&mut conn)
        .await
        .unwrap();
    let pttl: i64 = redis::cmd("PTTL")
        .arg(key)
        .query_async(&mut conn)
        .await
        .unwrap();
    (value, pttl)
}

#[tokio::test]
async fn one_process_opening_spares_the_others() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let conn = connect(&server.url()).await;
    let clock = Arc::new(FixedClock::new(1_000));
    let (a, fa) = process(&conn, &clock);
    let (b, fb) = process(&conn, &clock);
    let (c, fc) = process(&conn, &clock);
    assert_eq!(fa.key(), "fleet-test:{breaker:binance}:open");
    assert!(!fb.sync().await, "nothing published yet");
    clock.advance(u64::try_from(DEFAULT_BREAKER_REFRESH.as_millis()).unwrap());
    // A's calls fail: its breaker opens and is published for its wait in the open state.
    fail_twice(&a);
    fa.published().await;
    let (published_by, pttl) = get(&conn, fa.key()).await;
    assert!(pttl > 0 && pttl <= i64::try_from(WAIT_IN_OPEN.as_millis()).unwrap());
    // B and C look before their next calls: open, and their calls are refused without being
    // made.
    assert!(fb.sync().await);
    assert!(fc.sync().await);
    assert_eq!(b.state(), BreakerState::Open);
    assert_eq!(c.state(), BreakerState::Open);
    assert!(b.try_acquire().is_err());
    assert!(c.try_acquire().is_err());
    // Opening on the fleet's word is not published again: the key is still A's.
    fb.published().await;
    fc.published().await;
    assert_eq!(get(&conn, fa.key()).await.0, published_by);
    // A process already open stays as it is.
    assert!(fa.sync().await);
    assert_eq!(a.state(), BreakerState::Open);
}

#[tokio::test]
async fn a_look_is_reused_for_the_refresh_interval() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let conn = connect(&server.url()).await;
    let clock = Arc::new(FixedClock::new(1_000));
    let (a, fa) = process(&conn, &clock);
    let (b, fb) = process(&conn, &clock);
    assert!(!fb.sync().await);
    fail_twice(&a);
    fa.published().await;
    // Within the refresh interval B reuses its look: closed, no call to Redis.
    clock.advance(u64::try_from(DEFAULT_BREAKER_REFRESH.as_millis()).unwrap() - 1);
    assert!(!fb.sync().await);
    assert_eq!(b.state(), BreakerState::Closed);
    clock.advance(1);
    assert!(fb.sync().await);
    assert_eq!(b.state(), BreakerState::Open);
}

#[tokio::test]
async fn with_redis_stopped_each_breaker_decides_alone() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let conn = connect(&server.url()).await;
    let clock = Arc::new(FixedClock::new(1_000));
    let (capture, _guard) = trace::capture_trace();
    let a = breaker();
    let fa = FleetBreaker::new(&a, conn.clone(), PREFIX)
        .with_timeout(Duration::from_millis(300))
        .attach();
    let b = breaker();
    let fb = FleetBreaker::new(&b, conn.clone(), PREFIX)
        .with_timeout(Duration::from_millis(300))
        .with_clock(Arc::clone(&clock) as Arc<dyn Clock>)
        .attach();
    server.stop();
    fail_twice(&a);
    fa.published().await;
    assert_eq!(a.state(), BreakerState::Open, "open here all the same");
    assert!(!fb.sync().await);
    assert_eq!(b.state(), BreakerState::Closed, "B decides alone");
    b.try_acquire().unwrap().success();
    let logs = capture.text();
    assert!(logs.contains("the fleet could not be told"), "{logs}");
    assert!(logs.contains("this breaker decides alone"), "{logs}");
}

#[tokio::test]
async fn a_key_without_a_ttl_is_ignored() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let conn = connect(&server.url()).await;
    let clock = Arc::new(FixedClock::new(1_000));
    let (b, fb) = process(&conn, &clock);
    let mut raw = conn.clone();
    let () = redis::cmd("SET")
        .arg(fb.key())
        .arg("someone else's")
        .query_async(&mut raw)
        .await
        .unwrap();
    assert!(!fb.sync().await);
    assert_eq!(b.state(), BreakerState::Closed);
}
