//! The shared rate budget against a real redis-server (feature `redis`): GCRA arithmetic with
//! an injected clock, weights, several windows all-or-nothing, resync, two limiters on one
//! Redis, degraded mode and recovery, bad data in the keys, timeouts.

#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used)] // reason: tests fail loudly

#[path = "../../../tests/support/redis_server.rs"]
mod redis_server;

use std::sync::Arc;
use std::time::Duration;

use keyward_resilience::limiter::Limit;
use keyward_resilience::redis::{ConnectionManager, SharedLimiter};
use keyward_resilience::{Error, ManualClock, ManualSleep};
use redis::AsyncCommands;

async fn connect(server: &redis_server::RedisServer) -> ConnectionManager {
    redis::Client::open(server.url())
        .unwrap()
        .get_connection_manager()
        .await
        .unwrap()
}

fn weight(capacity: u32, burst: u32) -> Limit {
    Limit::new("weight/1s", "weight", capacity, Duration::from_secs(1)).with_burst(burst)
}

fn limiter(
    conn: &ConnectionManager,
    limits: Vec<Limit>,
    clock: &Arc<ManualClock>,
) -> SharedLimiter {
    SharedLimiter::builder(conn.clone(), "fleet-a", limits)
        .with_clock(clock.clone())
        .with_probe_interval(Duration::ZERO)
        .build()
        .unwrap()
}

fn rate_limited(r: Result<(), Error>) -> (String, Duration) {
    match r {
        Err(Error::RateLimited { limit, wait }) => (limit, wait),
        other => panic!("expected RateLimited, got {other:?}"),
    }
}

#[tokio::test]
async fn burst_then_refill_on_the_injected_clock() {
    let Some(server) = redis_server::RedisServer::start() else {
        return;
    };
    let conn = connect(&server).await;
    let clock = Arc::new(ManualClock::new());
    // 10 per second, burst 5: one unit every 1 s / 6, rounded up to 166,667 µs.
    let l = limiter(&conn, vec![weight(10, 5)], &clock);
    for _ in 0..5 {
        l.check("acct", &[("weight", 1)]).await.unwrap();
    }
    let (limit, wait) = rate_limited(l.check("acct", &[("weight", 1)]).await);
    assert_eq!(
        (limit.as_str(), wait),
        ("weight/1s", Duration::from_micros(166_667))
    );
    // Another scope has its own budget.
    l.check("other", &[("weight", 1)]).await.unwrap();
    clock.advance(Duration::from_micros(166_666));
    rate_limited(l.check("acct", &[("weight", 1)]).await);
    clock.advance(Duration::from_micros(1));
    l.check("acct", &[("weight", 1)]).await.unwrap();
    rate_limited(l.check("acct", &[("weight", 1)]).await);
    // The key is named as documented and expires.
    let mut c = conn.clone();
    let ttl: i64 = c.pttl("fleet-a:{rl:acct}:weight/1s").await.unwrap();
    assert!(ttl > 0, "{ttl}");
    assert_eq!(l.key("acct", "weight/1s"), "fleet-a:{rl:acct}:weight/1s");
    assert!(!l.is_degraded());
}

#[tokio::test]
async fn weights_and_a_cost_above_the_burst() {
    let Some(server) = redis_server::RedisServer::start() else {
        return;
    };
    let conn = connect(&server).await;
    let clock = Arc::new(ManualClock::new());
    let l = limiter(&conn, vec![weight(10, 5)], &clock);
    l.check("k", &[("weight", 3)]).await.unwrap();
    // 3 of 5 used: 2 fit, 3 would wait one interval.
    let (_, wait) = rate_limited(l.check("k", &[("weight", 3)]).await);
    assert_eq!(wait, Duration::from_micros(166_667));
    l.check("k", &[("weight", 2)]).await.unwrap();
    // A unit no limit counts is free; a zero cost charges nothing.
    l.check("k", &[("orders", 7), ("weight", 0)]).await.unwrap();
    match l.check("k", &[("weight", 6)]).await {
        Err(Error::CostExceedsCapacity {
            limit,
            cost,
            capacity,
        }) => {
            assert_eq!((limit.as_str(), cost, capacity), ("weight/1s", 6, 5));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn all_windows_or_none_and_the_longest_wait() {
    let Some(server) = redis_server::RedisServer::start() else {
        return;
    };
    let conn = connect(&server).await;
    let clock = Arc::new(ManualClock::new());
    let limits = vec![
        Limit::new("weight/1m", "weight", 100, Duration::from_secs(60)).with_burst(100),
        Limit::new("orders/10s", "orders", 2, Duration::from_secs(10)).with_burst(2),
    ];
    let l = limiter(&conn, limits, &clock);
    let order = [("weight", 1), ("orders", 1)];
    l.check("k", &order).await.unwrap();
    l.check("k", &order).await.unwrap();
    let mut c = conn.clone();
    let weight_before: String = c.get("fleet-a:{rl:k}:weight/1m").await.unwrap();
    // orders/10s refuses: weight/1m is not charged either.
    let (limit, wait) = rate_limited(l.check("k", &order).await);
    assert_eq!(
        (limit.as_str(), wait),
        ("orders/10s", Duration::from_secs(10))
    );
    let weight_after: String = c.get("fleet-a:{rl:k}:weight/1m").await.unwrap();
    assert_eq!(weight_before, weight_after);
    // Spend the weight too: both refuse, the longer wait (weight: 60 s per unit) is reported.
    for _ in 0..98 {
        l.check("k", &[("weight", 1)]).await.unwrap();
    }
    let (limit, wait) = rate_limited(l.check("k", &order).await);
    assert_eq!(
        (limit.as_str(), wait),
        ("weight/1m", Duration::from_secs(60))
    );
}

#[tokio::test]
async fn until_ready_waits_on_the_sleep_and_respects_the_max_wait() {
    let Some(server) = redis_server::RedisServer::start() else {
        return;
    };
    let conn = connect(&server).await;
    let clock = Arc::new(ManualClock::new());
    let sleep = ManualSleep::new(clock.clone());
    let l = SharedLimiter::builder(conn.clone(), "fleet-a", vec![weight(10, 1)])
        .with_clock(clock.clone())
        .with_max_wait(Duration::from_millis(150))
        .build()
        .unwrap();
    l.until_ready("k", &[("weight", 1)], &sleep).await.unwrap();
    // One unit per 100 ms: the next waits 100 ms (slept on the manual clock).
    l.until_ready("k", &[("weight", 1)], &sleep).await.unwrap();
    assert_eq!(sleep.slept(), vec![Duration::from_millis(100)]);
    // Spend ahead through a resync-free path: two more units → a 200 ms wait, past the max.
    let l2 = SharedLimiter::builder(conn.clone(), "fleet-a", vec![weight(10, 1)])
        .with_clock(clock.clone())
        .with_max_wait(Duration::from_millis(50))
        .build()
        .unwrap();
    let (_, wait) = rate_limited(l2.until_ready("k", &[("weight", 1)], &sleep).await);
    assert_eq!(wait, Duration::from_millis(100));
    assert_eq!(sleep.slept().len(), 1, "nothing slept past the ceiling");
}

#[tokio::test]
async fn resync_raises_the_shared_state_and_never_lowers_it() {
    let Some(server) = redis_server::RedisServer::start() else {
        return;
    };
    let conn = connect(&server).await;
    let clock = Arc::new(ManualClock::new());
    let limit = Limit::new("weight/1m", "weight", 10, Duration::from_secs(60))
        .with_burst(10)
        .with_usage_header("X-MBX-USED-WEIGHT-1M");
    let a = limiter(&conn, vec![limit.clone()], &clock);
    let b = limiter(&conn, vec![limit], &clock);
    // Process A sees the venue report 8 used: process B has 2 left.
    assert_eq!(
        a.resync("ip", [("x-mbx-used-weight-1m", "8")])
            .await
            .unwrap(),
        1
    );
    b.check("ip", &[("weight", 2)]).await.unwrap();
    rate_limited(b.check("ip", &[("weight", 1)]).await);
    let mut c = conn.clone();
    let before: String = c.get("fleet-a:{rl:ip}:weight/1m").await.unwrap();
    // A lower count never lowers it; a count above the capacity counts as the capacity.
    assert_eq!(
        b.resync("ip", [("X-MBX-USED-WEIGHT-1M", "1")])
            .await
            .unwrap(),
        1
    );
    let after: String = c.get("fleet-a:{rl:ip}:weight/1m").await.unwrap();
    assert_eq!(before, after);
    b.resync("fresh", [("X-MBX-USED-WEIGHT-1M", "4000000000")])
        .await
        .unwrap();
    let (_, wait) = rate_limited(b.check("fresh", &[("weight", 1)]).await);
    assert_eq!(
        wait,
        Duration::from_secs(60),
        "capped at the capacity: one period"
    );
    // Missing or non-numeric headers are skipped.
    assert_eq!(
        a.resync("ip", [("X-MBX-USED-WEIGHT-1M", "many")])
            .await
            .unwrap(),
        0
    );
    assert_eq!(a.resync("ip", [("other", "1")]).await.unwrap(), 0);
}

#[tokio::test]
async fn two_limiters_on_one_redis_share_one_budget() {
    let Some(server) = redis_server::RedisServer::start() else {
        return;
    };
    let clock = Arc::new(ManualClock::new());
    // Two processes: two connections, two limiters, one frozen time base.
    let a = limiter(&connect(&server).await, vec![weight(50, 50)], &clock);
    let b = limiter(&connect(&server).await, vec![weight(50, 50)], &clock);
    let (mut admitted, mut refused) = (0, 0);
    for i in 0..100 {
        let l = if i % 2 == 0 { &a } else { &b };
        match l.check("ip:nat-1", &[("weight", 1)]).await {
            Ok(()) => admitted += 1,
            Err(Error::RateLimited { .. }) => refused += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!((admitted, refused), (50, 50));
    assert_eq!(
        a.key("ip:nat-1", "weight/1s"),
        b.key("ip:nat-1", "weight/1s")
    );
}

#[tokio::test]
async fn a_refund_gives_a_charge_back() {
    let Some(server) = redis_server::RedisServer::start() else {
        return;
    };
    let conn = connect(&server).await;
    let clock = Arc::new(ManualClock::new());
    let l = limiter(&conn, vec![weight(4, 4)], &clock);
    let charge = l.check_charge("k", &[("weight", 4)]).await.unwrap();
    assert!(charge.in_redis());
    rate_limited(l.check("k", &[("weight", 1)]).await);
    l.refund(&charge).await.unwrap();
    l.check("k", &[("weight", 4)]).await.unwrap();
}

#[tokio::test]
async fn redis_stopped_mid_run_degrades_to_the_local_share_and_recovers() {
    let Some(mut server) = redis_server::RedisServer::start() else {
        return;
    };
    let conn = connect(&server).await;
    let clock = Arc::new(ManualClock::new());
    // A long probe interval: once degraded, the limiter asks Redis again only when probed.
    let l = SharedLimiter::builder(conn.clone(), "fleet-a", vec![weight(1_200, 1_200)])
        .with_clock(clock.clone())
        .with_fleet_size(4)
        .with_timeout(Duration::from_millis(300))
        .with_probe_interval(Duration::from_secs(3_600))
        .build()
        .unwrap();
    for _ in 0..10 {
        l.check("k", &[("weight", 1)]).await.unwrap();
    }
    assert_eq!(
        (l.is_degraded(), l.times_degraded(), l.local_decisions()),
        (false, 0, 0)
    );
    server.stop();
    // The local share: 1,200 / 4 = 300, exactly, then refusals.
    let mut admitted = 0;
    for _ in 0..400 {
        match l.check("k", &[("weight", 1)]).await {
            Ok(()) => admitted += 1,
            Err(Error::RateLimited { .. }) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(admitted, 300);
    assert!(l.is_degraded());
    assert_eq!((l.times_degraded(), l.local_decisions()), (1, 400));
    assert!(!l.probe().await, "Redis is down");
    server.restart();
    // The connection manager reconnects on its own; the probe sees Redis answer again.
    let mut recovered = false;
    for _ in 0..100 {
        if l.probe().await {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        recovered,
        "Redis never answered the probe after its restart"
    );
    assert!(!l.is_degraded());
    // Decided in Redis again (the restarted Redis is empty: a fresh budget).
    l.check("k", &[("weight", 1)]).await.unwrap();
    let mut c = conn.clone();
    let tat: Option<String> = c.get("fleet-a:{rl:k}:weight/1s").await.unwrap();
    assert!(tat.is_some(), "decided in Redis again");
    assert_eq!((l.times_degraded(), l.local_decisions()), (1, 400));
}

#[tokio::test]
async fn bad_data_in_the_keys_is_a_typed_error_and_charges_nothing() {
    let Some(server) = redis_server::RedisServer::start() else {
        return;
    };
    let conn = connect(&server).await;
    let clock = Arc::new(ManualClock::new());
    let limits = vec![
        Limit::new("weight/1m", "weight", 100, Duration::from_secs(60)).with_usage_header("X-Used"),
        Limit::new("orders/10s", "orders", 10, Duration::from_secs(10)),
    ];
    let l = limiter(&conn, limits, &clock);
    let mut c = conn.clone();
    for garbage in [
        "banana",
        "-5",
        "1.5",
        "nan",
        "inf",
        "99999999999999999999",
        "",
    ] {
        let _: () = c.set("fleet-a:{rl:k}:orders/10s", garbage).await.unwrap();
        match l.check("k", &[("weight", 1), ("orders", 1)]).await {
            Err(Error::SharedBudget(why)) => {
                assert!(why.contains("fleet-a:{rl:k}:orders/10s"), "{why}");
            }
            other => panic!("{garbage:?}: {other:?}"),
        }
        let weight: Option<String> = c.get("fleet-a:{rl:k}:weight/1m").await.unwrap();
        assert_eq!(weight, None, "nothing charged");
    }
    let _: () = c.del("fleet-a:{rl:k}:orders/10s").await.unwrap();
    let _: () = c.hset("fleet-a:{rl:k}:weight/1m", "f", "v").await.unwrap();
    assert!(matches!(
        l.check("k", &[("weight", 1)]).await,
        Err(Error::SharedBudget(_))
    ));
    assert!(matches!(
        l.resync("k", [("X-Used", "3")]).await,
        Err(Error::SharedBudget(_))
    ));
    // Bad data is not an outage: no degraded mode.
    assert!(!l.is_degraded());
    // A scope that would break the key's hash tag is refused before Redis is asked.
    assert!(matches!(
        l.check("a}b", &[("weight", 1)]).await,
        Err(Error::InvalidConfig(_))
    ));
}

#[tokio::test]
async fn a_redis_that_does_not_answer_in_time_degrades_the_limiter() {
    let Some(server) = redis_server::RedisServer::start() else {
        return;
    };
    let conn = connect(&server).await;
    let clock = Arc::new(ManualClock::new());
    let l = SharedLimiter::builder(conn.clone(), "fleet-a", vec![weight(8, 8)])
        .with_clock(clock.clone())
        .with_fleet_size(2)
        .with_timeout(Duration::from_millis(100))
        .with_probe_interval(Duration::ZERO)
        .build()
        .unwrap();
    l.check("k", &[("weight", 1)]).await.unwrap();
    // Another client pauses every writing client (scripts included) for 30 s: the limiter's next call cannot answer.
    let mut admin = redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(30_000)
        .arg("WRITE")
        .query_async(&mut admin)
        .await
        .unwrap();
    l.check("k", &[("weight", 1)]).await.unwrap();
    assert!(l.is_degraded());
    assert_eq!(l.local_decisions(), 1);
    let _: () = redis::cmd("CLIENT")
        .arg("UNPAUSE")
        .query_async(&mut admin)
        .await
        .unwrap();
}

#[tokio::test]
async fn bad_configuration_is_refused_before_any_call() {
    let Some(server) = redis_server::RedisServer::start() else {
        return;
    };
    let conn = connect(&server).await;
    let build = |prefix: &str, limits: Vec<Limit>| {
        SharedLimiter::builder(conn.clone(), prefix, limits).build()
    };
    assert!(build("fleet {x}", vec![weight(1, 1)]).is_err());
    assert!(build("", vec![weight(1, 1)]).is_err());
    assert!(build("f", vec![weight(1, 1), weight(2, 1)]).is_err());
    assert!(build("f", vec![weight(1, 2)]).is_err());
    let l = build("f", vec![weight(1, 1)]).unwrap();
    assert!(format!("{l:?}").contains("SharedLimiter"));
}

/// The shared GCRA against code nobody here wrote: governor, under the local `RateLimiter`.
/// The same limits (refill intervals of whole microseconds, so Redis's µs arithmetic is exact),
/// the same injected clock and 3,000 seeded random requests of random weight, with and without
/// an order, at random steps of time: every decision (admitted, or refused for which limit
/// and with which wait) is the same.
#[tokio::test]
async fn the_shared_gcra_decides_as_governor_does() {
    use keyward_resilience::limiter::RateLimiter;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    let Some(server) = redis_server::RedisServer::start() else {
        return;
    };
    let conn = connect(&server).await;
    let clock = Arc::new(ManualClock::new());
    // One unit every period / (capacity - burst + 1): 60 s / 600 = 100 ms of weight and
    // 10 s / 10 = 1 s of orders. Requests come about as fast as both refill, so both limits
    // admit and refuse.
    let limits = vec![
        Limit::new("weight/1m", "weight", 1_199, Duration::from_secs(60)).with_burst(600),
        Limit::new("orders/10s", "orders", 14, Duration::from_secs(10)).with_burst(5),
    ];
    let governor = RateLimiter::new(limits.clone(), clock.clone()).unwrap();
    let shared = limiter(&conn, limits, &clock);
    let key = "acct".to_owned();
    let mut rng = SmallRng::seed_from_u64(17);
    let (mut admitted, mut refused) = (0, std::collections::BTreeMap::<String, u32>::new());
    for i in 0..3_000 {
        clock.advance(Duration::from_millis(rng.random_range(0..=3_000)));
        let weight = rng.random_range(1..=40);
        let orders = rng.random_range(0..=3);
        let costs = [("weight", weight), ("orders", orders)];
        let local = governor.check(&key, &costs);
        let fleet = shared.check(&key, &costs).await;
        match (&local, &fleet) {
            (Ok(()), Ok(())) => admitted += 1,
            (
                Err(Error::RateLimited { limit: a, wait: x }),
                Err(Error::RateLimited { limit: b, wait: y }),
            ) if a == b && x == y => *refused.entry(a.clone()).or_default() += 1,
            _ => panic!("request {i} ({costs:?}): governor {local:?}, Redis {fleet:?}"),
        }
    }
    println!(
        "governor and the shared GCRA agreed on 3,000 requests: {admitted} admitted, refused {refused:?}"
    );
    assert!(admitted > 300, "{admitted} / {refused:?}");
    assert!(
        refused.values().all(|n| *n > 100) && refused.len() == 2,
        "{refused:?}"
    );
}
