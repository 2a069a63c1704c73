//! The limiter against a venue that counts in fixed windows (Binance: request weight per clock
//! minute, reported back in `X-MBX-USED-WEIGHT-1M`), on an injected clock.
//!
//! GCRA admits at most the capacity in any sliding window of one period, so also in any fixed
//! one. A resync from the venue's count sets the state as if that many units had just been
//! sent: at the reported count, nothing more fits in the rest of the venue's window. These
//! tests check both against a model of the venue, including a second process on the same IP
//! whose usage the limiter learns only from the headers.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use std::sync::Arc;
use std::time::Duration;

use keyward_resilience::limiter::{Limit, RateLimiter};
use keyward_resilience::{Error, ManualClock};

const PERIOD_MS: u64 = 60_000;
const CAPACITY: u32 = 6_000;
const HEADER: &str = "X-MBX-USED-WEIGHT-1M";

/// Binance's request-weight limit, as a fixture (the preset lives in keyward-exchange-client's
/// `venue/binance.rs`; this crate is venue-agnostic).
fn weight_per_minute() -> Limit {
    Limit::new(
        "weight/1m",
        "weight",
        CAPACITY,
        Duration::from_millis(PERIOD_MS),
    )
    .with_usage_header(HEADER)
}

/// The venue: weight counted per fixed window, the windows starting `phase` ms after the
/// limiter's clock origin (a bot starts at any time of the minute).
struct FixedWindowVenue {
    phase: u64,
    window: u64,
    used: u32,
}

impl FixedWindowVenue {
    fn new(phase: u64) -> Self {
        Self {
            phase,
            window: 0,
            used: 0,
        }
    }

    /// Rolls to the window holding `now_ms`.
    fn at(&mut self, now_ms: u64) {
        let window = (now_ms + PERIOD_MS - self.phase) / PERIOD_MS;
        if window != self.window {
            self.window = window;
            self.used = 0;
        }
    }

    /// Counts `weight`; false if the venue would answer 429 (and then counts nothing).
    fn take(&mut self, weight: u32) -> bool {
        if self.used + weight > CAPACITY {
            return false;
        }
        self.used += weight;
        true
    }
}

fn wait_of(result: Result<(), Error>) -> Option<Duration> {
    match result {
        Ok(()) => None,
        Err(Error::RateLimited { wait, .. }) => Some(wait),
        Err(other) => panic!("expected a rate limit, got {other:?}"),
    }
}

/// The venue reports its whole minute spent: the next request waits about a minute (the rest
/// of the venue's window, at most), not one refill interval.
#[test]
fn a_spent_minute_reported_by_the_venue_holds_the_next_request_for_about_a_minute() {
    let clock = Arc::new(ManualClock::new());
    let limiter = RateLimiter::new([weight_per_minute()], clock.clone()).unwrap();
    limiter.resync(&"ip", [(HEADER, "6000")]);
    let wait = wait_of(limiter.check(&"ip", &[("weight", 1)])).unwrap();
    assert!(
        wait >= Duration::from_millis(59_900) && wait <= Duration::from_millis(60_100),
        "{wait:?}"
    );
    clock.advance(wait);
    limiter.check(&"ip", &[("weight", 1)]).unwrap();
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// A bot sends as fast as the limiter lets it, with random weights and pauses, resyncing
    /// from the venue's count after every answer; another process on the same IP spends weight
    /// the limiter sees only in those counts. Whatever the phase of the venue's minute, the
    /// venue never refuses one of the bot's admitted requests for exceeding its window, except
    /// where the other process spent the rest of that window between two of the bot's answers.
    #[test]
    fn admitted_requests_never_exceed_the_venues_fixed_windows(
        phase in 0u64..PERIOD_MS,
        steps in proptest::collection::vec(
            (1u32..=40, 0u64..1_500, proptest::option::weighted(0.3, 1u32..=2_000)),
            50..400,
        ),
    ) {
        let clock = Arc::new(ManualClock::new());
        let limiter = RateLimiter::new([weight_per_minute()], clock.clone()).unwrap();
        let mut venue = FixedWindowVenue::new(phase);
        let mut now_ms = 0u64;
        let mut admitted = 0u32;
        let mut unseen_other = false;
        for (weight, pause_ms, other) in steps {
            now_ms += pause_ms;
            clock.advance(Duration::from_millis(pause_ms));
            venue.at(now_ms);
            // The other process, itself within the venue's limit.
            if let Some(w) = other {
                unseen_other |= venue.take(w);
            }
            if let Some(wait) = wait_of(limiter.check(&"ip", &[("weight", weight)])) {
                let wait_ms = u64::try_from(wait.as_millis()).unwrap() + 1;
                proptest::prop_assert!(wait_ms <= PERIOD_MS + 1_000, "waited {wait_ms} ms");
                now_ms += wait_ms;
                clock.advance(Duration::from_millis(wait_ms));
                venue.at(now_ms);
                limiter.check(&"ip", &[("weight", weight)]).unwrap();
            }
            admitted += weight;
            let accepted = venue.take(weight);
            proptest::prop_assert!(
                accepted || unseen_other,
                "429 at {now_ms} ms (phase {phase}): {} used + {weight}",
                venue.used
            );
            unseen_other = false;
            let used = venue.used.to_string();
            limiter.resync(&"ip", [(HEADER, used.as_str())]);
        }
        proptest::prop_assert!(admitted > 0);
    }
}
