//! Rate limits: several windows and weights, all-or-nothing charging, header resync, run-time
//! quota changes and exact times until ready, on an injected clock.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use std::sync::Arc;
use std::time::Duration;

use keyward_resilience::limiter::{Limit, RateLimiter};
use keyward_resilience::{Error, ManualClock, ManualSleep};

/// Binance spot's documented limits, as a fixture (the venue's preset lives in
/// keyward-exchange-client's `venue/binance.rs`; this crate is venue-agnostic).
fn binance_spot() -> Vec<Limit> {
    vec![
        Limit::new("weight/1m", "weight", 6_000, Duration::from_secs(60))
            .with_usage_header("X-MBX-USED-WEIGHT-1M"),
        Limit::new("orders/10s", "orders", 50, Duration::from_secs(10))
            .with_usage_header("X-MBX-ORDER-COUNT-10S"),
        Limit::new("orders/1d", "orders", 160_000, Duration::from_secs(86_400))
            .with_usage_header("X-MBX-ORDER-COUNT-1D"),
    ]
}

/// BitMEX's documented limit, as a fixture (its preset lives in keyward-exchange-client's
/// `venue/bitmex.rs`).
fn bitmex() -> Vec<Limit> {
    vec![
        Limit::new("requests/1m", "weight", 120, Duration::from_secs(60))
            .with_remaining_header("x-ratelimit-remaining"),
    ]
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn key() -> String {
    "api-key".to_owned()
}

fn limited(result: Result<(), Error>) -> (String, Duration) {
    match result {
        Err(Error::RateLimited { limit, wait }) => (limit, wait),
        other => panic!("expected a rate limit, got {other:?}"),
    }
}

/// 10 per second with a burst of 6: refills 5 per second, one every 200 ms.
fn ten_per_second() -> (Arc<ManualClock>, RateLimiter) {
    let clock = Arc::new(ManualClock::new());
    let limit = Limit::new("req/1s", "req", 10, Duration::from_secs(1)).with_burst(6);
    let limiter = RateLimiter::new([limit], clock.clone()).unwrap();
    (clock, limiter)
}

/// Binance's refill intervals with the default burst (half the capacity): 10 s / 26 and
/// 60 s / 3001, rounded up.
const ORDER_REFILL: Duration = Duration::from_nanos(384_615_385);
const WEIGHT_REFILL: Duration = Duration::from_nanos(19_993_336);

#[test]
fn the_time_until_ready_is_exact() {
    let (clock, limiter) = ten_per_second();
    for _ in 0..6 {
        limiter.check(&key(), &[("req", 1)]).unwrap();
    }
    assert_eq!(
        limited(limiter.check(&key(), &[("req", 1)])),
        ("req/1s".to_owned(), ms(200))
    );
    clock.advance(ms(199));
    assert_eq!(limited(limiter.check(&key(), &[("req", 1)])).1, ms(1));
    clock.advance(ms(1));
    limiter.check(&key(), &[("req", 1)]).unwrap();
    // A weighted request waits for its whole weight.
    assert_eq!(limited(limiter.check(&key(), &[("req", 3)])).1, ms(600));
    clock.advance(ms(600));
    limiter.check(&key(), &[("req", 3)]).unwrap();
}

#[test]
fn never_more_than_the_capacity_in_any_period_whatever_the_burst() {
    for burst in [1, 3, 5, 6, 9, 10] {
        let clock = Arc::new(ManualClock::new());
        let limit = Limit::new("req/1s", "req", 10, Duration::from_secs(1)).with_burst(burst);
        let limiter = RateLimiter::new([limit], clock.clone()).unwrap();
        let mut accepted = Vec::new();
        for step in 0..5_000u64 {
            if limiter.check(&key(), &[("req", 1)]).is_ok() {
                accepted.push(step);
            }
            clock.advance(ms(1));
        }
        let mut busiest = 0;
        for (i, &at) in accepted.iter().enumerate() {
            let in_window = accepted[i..].iter().take_while(|&&t| t < at + 1000).count();
            busiest = busiest.max(in_window);
        }
        // The quota is used in full, and never exceeded.
        assert_eq!(busiest, 10, "burst {burst}");
    }
}

#[test]
fn several_windows_and_weights_are_all_or_nothing() {
    let clock = Arc::new(ManualClock::new());
    let limiter = RateLimiter::new(binance_spot(), clock.clone()).unwrap();
    let order = [("weight", 1), ("orders", 1)];
    for _ in 0..25 {
        limiter.check(&key(), &order).unwrap();
    }
    // The 26th order is refused by orders/10s (its burst of 25 is spent) ...
    assert_eq!(
        limited(limiter.check(&key(), &order)),
        ("orders/10s".to_owned(), ORDER_REFILL)
    );
    // ... and the weight window was not charged for it: 3000 - 25 of its burst is left.
    limiter.check(&key(), &[("weight", 2_975)]).unwrap();
    let (limit, wait) = limited(limiter.check(&key(), &[("weight", 1)]));
    assert_eq!((limit.as_str(), wait), ("weight/1m", WEIGHT_REFILL));
    // When two windows refuse, the longer wait is reported.
    let (limit, wait) = limited(limiter.check(&key(), &order));
    assert_eq!((limit.as_str(), wait), ("orders/10s", ORDER_REFILL));
    // A unit no limit counts is free.
    limiter.check(&key(), &[("other", 1_000)]).unwrap();
}

#[test]
fn a_cost_above_the_capacity_can_never_fit_and_charges_nothing() {
    let (_clock, limiter) = ten_per_second();
    assert_eq!(
        limiter.check(&key(), &[("req", 7)]).unwrap_err(),
        Error::CostExceedsCapacity {
            limit: "req/1s".into(),
            cost: 7,
            capacity: 6
        }
    );
    for _ in 0..6 {
        limiter.check(&key(), &[("req", 1)]).unwrap();
    }
}

#[test]
fn keys_are_independent() {
    let (_clock, limiter) = ten_per_second();
    limiter.check(&key(), &[("req", 6)]).unwrap();
    assert!(limiter.check(&key(), &[("req", 1)]).is_err());
    limiter
        .check(&"other-key".to_owned(), &[("req", 6)])
        .unwrap();
}

#[test]
fn server_usage_headers_raise_the_local_count_and_never_lower_it() {
    let clock = Arc::new(ManualClock::new());
    let limiter = RateLimiter::new(binance_spot(), clock.clone()).unwrap();
    // The server has seen 2990 weight and 24 orders: 10 weight and 1 order of burst are left.
    let updated = limiter.resync(
        &key(),
        [
            ("x-mbx-used-weight-1m", "2990"),
            ("X-MBX-ORDER-COUNT-10S", "24"),
        ],
    );
    assert_eq!(updated, 2);
    limiter.check(&key(), &[("weight", 10)]).unwrap();
    assert_eq!(
        limited(limiter.check(&key(), &[("weight", 1)])).0,
        "weight/1m"
    );
    assert_eq!(
        limited(limiter.check(&key(), &[("weight", 0), ("orders", 2)])).0,
        "orders/10s"
    );
    limiter.check(&key(), &[("orders", 1)]).unwrap();
    // A lower (stale) server count does not lower the local one; garbage is skipped.
    assert_eq!(
        limiter.resync(
            &key(),
            [
                ("X-MBX-USED-WEIGHT-1M", "3"),
                ("X-MBX-ORDER-COUNT-1D", "many")
            ]
        ),
        1
    );
    assert!(limiter.check(&key(), &[("weight", 1)]).is_err());
    // The refill continues from the resynced count.
    clock.advance(WEIGHT_REFILL);
    limiter.check(&key(), &[("weight", 1)]).unwrap();
}

#[test]
fn quotas_change_at_run_time_keeping_the_usage() {
    let (clock, limiter) = ten_per_second();
    clock.advance(ms(5)); // the rebuilt window starts later than the first one
    limiter.check(&key(), &[("req", 4)]).unwrap();
    // A new quota of 4 per second with a burst of 4: the 4 units used leave nothing, and the
    // next unit comes after one refill of the new quota (1 s).
    limiter
        .set_limit(Limit::new("req/1s", "req", 4, Duration::from_secs(1)).with_burst(4))
        .unwrap();
    assert_eq!(
        limited(limiter.check(&key(), &[("req", 1)])).1,
        Duration::from_secs(1)
    );
    // A larger quota keeps the 4 units used: 100 - 4 of a burst of 100 are left.
    limiter
        .set_limit(Limit::new("req/1s", "req", 100, Duration::from_secs(1)).with_burst(100))
        .unwrap();
    limiter.check(&key(), &[("req", 96)]).unwrap();
    assert!(limiter.check(&key(), &[("req", 1)]).is_err());
    assert!(limiter.remove_limit("req/1s"));
    limiter.check(&key(), &[("req", 1_000_000)]).unwrap();
    assert!(!limiter.remove_limit("req/1s"));
}

#[test]
fn invalid_limits_are_refused() {
    let clock = Arc::new(ManualClock::new());
    let zero = RateLimiter::<String>::new(
        [Limit::new("z", "u", 0, Duration::from_secs(1))],
        clock.clone(),
    );
    assert!(matches!(zero, Err(Error::InvalidConfig(_))));
    let twice = RateLimiter::<String>::new(
        [
            Limit::new("a", "u", 1, Duration::from_secs(1)),
            Limit::new("a", "v", 1, Duration::from_secs(1)),
        ],
        clock.clone(),
    );
    assert!(matches!(twice, Err(Error::InvalidConfig(_))));
    let burst = RateLimiter::<String>::new(
        [Limit::new("b", "u", 10, Duration::from_secs(1)).with_burst(11)],
        clock.clone(),
    );
    assert!(matches!(burst, Err(Error::InvalidConfig(_))));
    let no_time = RateLimiter::<String>::new([Limit::new("s", "u", 10, Duration::ZERO)], clock);
    assert!(matches!(no_time, Err(Error::InvalidConfig(_))));
}

#[tokio::test]
async fn waiting_sleeps_exactly_the_time_until_ready() {
    let (clock, limiter) = ten_per_second();
    let sleep = ManualSleep::new(clock.clone());
    limiter.check(&key(), &[("req", 6)]).unwrap();
    limiter
        .until_ready(&key(), &[("req", 2)], &sleep)
        .await
        .unwrap();
    assert_eq!(sleep.slept(), vec![ms(400)]);
    assert_eq!(
        limiter
            .until_ready(&key(), &[("req", 20)], &sleep)
            .await
            .unwrap_err(),
        Error::CostExceedsCapacity {
            limit: "req/1s".into(),
            cost: 20,
            capacity: 6
        }
    );
}

#[test]
fn racing_threads_never_exceed_any_window() {
    let clock = Arc::new(ManualClock::new());
    let limiter = Arc::new(RateLimiter::new(binance_spot(), clock).unwrap());
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let limiter = limiter.clone();
            std::thread::spawn(move || {
                (0..100)
                    .filter(|_| {
                        limiter
                            .check(&key(), &[("weight", 2), ("orders", 1)])
                            .is_ok()
                    })
                    .count()
            })
        })
        .collect();
    let accepted: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(accepted, 25);
    // Exactly the accepted orders were charged on the weight window.
    limiter.check(&key(), &[("weight", 3_000 - 50)]).unwrap();
    assert!(limiter.check(&key(), &[("weight", 1)]).is_err());
}

#[test]
fn without_usage_headers_in_the_limits_resync_does_not_read_the_headers() {
    let (_clock, limiter) = ten_per_second();
    let read = std::cell::Cell::new(0);
    let headers = [("x-mbx-used-weight-1m", "6")].into_iter().inspect(|_| {
        read.set(read.get() + 1);
    });
    assert_eq!(limiter.resync(&key(), headers), 0);
    assert_eq!(read.get(), 0, "no limit names a header: nothing to match");
    limiter.check(&key(), &[("req", 6)]).unwrap();
}

#[test]
fn remaining_headers_give_the_servers_count_as_capacity_minus_remainder() {
    let clock = Arc::new(ManualClock::new());
    let limit = Limit::new("requests/1m", "req", 10, Duration::from_secs(60))
        .with_burst(10)
        .with_remaining_header("x-ratelimit-remaining");
    let limiter = RateLimiter::new([limit], clock).unwrap();
    // 3 left of 10: 7 used, so 3 fit and the fourth is refused.
    assert_eq!(limiter.resync(&key(), [("X-RateLimit-Remaining", "3")]), 1);
    for _ in 0..3 {
        limiter.check(&key(), &[("req", 1)]).unwrap();
    }
    assert!(limiter.check(&key(), &[("req", 1)]).is_err());
    // A remainder above the capacity (a bigger server limit) counts as nothing used, and a
    // higher remainder never lowers the local count; garbage is skipped.
    assert_eq!(limiter.resync(&key(), [("x-ratelimit-remaining", "50")]), 1);
    assert!(limiter.check(&key(), &[("req", 1)]).is_err());
    assert_eq!(
        limiter.resync(&key(), [("x-ratelimit-remaining", "lots")]),
        0
    );
}

/// Finding 8 of issue 13: one usage header (`X-MBX-USED-WEIGHT-1M: 4294967295`) made the next
/// wait about 994 days. The resynced count is clamped to the capacity, so the wait is at most
/// about one period.
#[test]
fn a_huge_usage_header_is_clamped_to_the_capacity() {
    let clock = Arc::new(ManualClock::new());
    let limiter = RateLimiter::new(binance_spot(), clock).unwrap();
    assert_eq!(
        limiter.resync(&key(), [("X-MBX-USED-WEIGHT-1M", "4294967295")]),
        1
    );
    let (limit, wait) = limited(limiter.check(&key(), &[("weight", 1)]));
    assert_eq!(limit, "weight/1m");
    assert!(wait <= Duration::from_secs(61), "{wait:?}");
    // A remaining header above the capacity (a venue with a larger quota) is no usage at all.
    let clock = Arc::new(ManualClock::new());
    let limiter = RateLimiter::new(bitmex(), clock).unwrap();
    limiter.resync(&key(), [("x-ratelimit-remaining", "4294967295")]);
    limiter.check(&key(), &[("weight", 1)]).unwrap();
}

/// Finding 8 of issue 13: every wait has a ceiling (60 s by default). A wait past it fails at
/// once with the rate-limit error, without sleeping first.
#[tokio::test]
async fn a_wait_past_the_ceiling_fails_at_once_without_sleeping() {
    let clock = Arc::new(ManualClock::new());
    let sleep = ManualSleep::new(clock.clone());
    let limiter = RateLimiter::new(binance_spot(), clock.clone()).unwrap();
    // The venue says the day's orders are spent: the next one would wait about a day.
    limiter.resync(&key(), [("X-MBX-ORDER-COUNT-1D", "160000")]);
    let err = limiter
        .until_ready(&key(), &[("weight", 1), ("orders", 1)], &sleep)
        .await
        .unwrap_err();
    let (limit, wait) = limited(Err(err));
    assert_eq!(limit, "orders/1d");
    assert!(wait > Duration::from_secs(60), "{wait:?}");
    assert!(sleep.slept().is_empty(), "slept {:?}", sleep.slept());
    // Nothing was charged: a read of weight 1 still goes.
    limiter
        .until_ready(&key(), &[("weight", 1)], &sleep)
        .await
        .unwrap();
    assert!(sleep.slept().is_empty());
}

/// The ceiling is configurable and counts the whole wait of one call, not each sleep: a
/// competitor that takes the freed capacity each time cannot keep a caller waiting past it.
#[tokio::test]
async fn the_ceiling_bounds_the_whole_wait_of_one_call() {
    #[derive(Debug)]
    struct Competing {
        sleep: ManualSleep,
        limiter: Arc<RateLimiter>,
    }
    impl keyward_resilience::Sleep for Competing {
        fn sleep(&self, d: Duration) -> keyward_resilience::SleepFuture {
            let f = self.sleep.sleep(d);
            // Another caller takes what the wait freed.
            let _ = self.limiter.check(&key(), &[("req", 1)]);
            f
        }
    }
    let (clock, limiter) = ten_per_second();
    let limiter = Arc::new(limiter.with_max_wait(ms(1_000)));
    assert_eq!(limiter.max_wait(), ms(1_000));
    let sleep = Competing {
        sleep: ManualSleep::new(clock.clone()),
        limiter: limiter.clone(),
    };
    limiter.check(&key(), &[("req", 6)]).unwrap();
    let err = limiter
        .until_ready(&key(), &[("req", 1)], &sleep)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err:?}");
    let slept: Duration = sleep.sleep.slept().iter().sum();
    assert!(slept <= ms(1_000), "waited {slept:?} in all");
    assert!(!sleep.sleep.slept().is_empty());
}
