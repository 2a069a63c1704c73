//! A retry budget: retries may be at most a set share of recent requests, plus a small floor,
//! so that a fleet of clients cannot multiply an outage's load by its retry count.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::clock::Monotonic;
use crate::error::{Error, Result};

/// Thousandths of a token that one retry costs.
const WITHDRAW: i64 = 1000;
/// Slots the window is divided into.
const SLOTS: usize = 10;

/// Limits retries to a share of recent requests. Share one (in an `Arc`) between every policy
/// that calls the same service, so that together they stay within it.
///
/// The algorithm is Finagle's `RetryBudget`, as tower ports it in
/// `tower::retry::budget::TpsBudget`: every request deposits `ratio` of a token, every retry
/// withdraws one whole token, and what was deposited or withdrawn expires after `window`. A
/// reserve of `min_retries_per_sec × window` tokens lets a client that sends little still
/// retry. tower's version reads the real clock; this one reads an injected [`Monotonic`], so tests
/// are exact and never sleep.
///
/// Bookkeeping is in thousandths of a token (so a ratio is exact to 0.001), in ten slots each a
/// tenth of the window: an entry expires between 0.9 and 1.0 window after it was made.
#[derive(Debug)]
pub struct RetryBudget {
    clock: Arc<dyn Monotonic>,
    deposit: i64,
    reserve: i64,
    slot_nanos: u128,
    state: Mutex<Slots>,
}

#[derive(Debug)]
struct Slots {
    /// The slot index (time / slot length) the newest entries belong to.
    current: u128,
    /// Net thousandths deposited per slot; the slot of time `t` is `(t / slot) % SLOTS`.
    net: [i64; SLOTS],
}

impl RetryBudget {
    /// A budget with the defaults: see [`RetryBudgetBuilder`].
    pub fn new(clock: Arc<dyn Monotonic>) -> Self {
        Self::builder().build_unchecked(clock)
    }

    /// A builder starting from the defaults.
    pub fn builder() -> RetryBudgetBuilder {
        RetryBudgetBuilder::default()
    }

    /// Records a request (an original, not a retry): adds `ratio` of a token.
    pub fn deposit(&self) {
        self.with_slots(|slots, current| {
            slots.net[current] = slots.net[current].saturating_add(self.deposit);
        });
    }

    /// Takes one token for a retry, or refuses with [`Error::RetryBudgetExhausted`] (taking
    /// nothing) when less than one is left.
    pub fn try_withdraw(&self) -> Result<()> {
        self.with_slots(|slots, current| {
            if self.reserve + slots.sum() < WITHDRAW {
                return Err(Error::RetryBudgetExhausted);
            }
            slots.net[current] -= WITHDRAW;
            Ok(())
        })
    }

    /// How many retries the budget would allow now.
    pub fn available(&self) -> u64 {
        let balance = self.with_slots(|slots, _| self.reserve + slots.sum());
        u64::try_from(balance / WITHDRAW).unwrap_or(0)
    }

    /// Runs `f` on the slots after expiring the old ones, with the current slot's index.
    fn with_slots<T>(&self, f: impl FnOnce(&mut Slots, usize) -> T) -> T {
        let index = self.clock.now().as_nanos() / self.slot_nanos;
        let mut slots = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let passed = index.saturating_sub(slots.current);
        // Clear the slots moved past since the last call: they hold entries a window old.
        let last = slots.current;
        for i in 0..passed.min(SLOTS as u128) {
            slots.net[slot(last + 1 + i)] = 0;
        }
        slots.current = slots.current.max(index);
        let current = slot(slots.current);
        f(&mut slots, current)
    }
}

impl Slots {
    fn sum(&self) -> i64 {
        self.net.iter().fold(0i64, |a, &b| a.saturating_add(b))
    }
}

fn slot(index: u128) -> usize {
    (index % SLOTS as u128) as usize
}

/// Builds a [`RetryBudget`]. Defaults: a 10 s window, 10 % of requests (`ratio` 0.1, as gRPC's
/// retry throttling suggests) and a floor of 1 retry per second (10 per window; Finagle's
/// default of 10 per second suits services, not a bot's few requests a second).
#[derive(Debug, Clone, Copy)]
pub struct RetryBudgetBuilder {
    window: Duration,
    ratio: f64,
    min_retries_per_sec: u32,
}

impl Default for RetryBudgetBuilder {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(10),
            ratio: 0.1,
            min_retries_per_sec: 1,
        }
    }
}

impl RetryBudgetBuilder {
    /// How long a request's deposit (and a retry's withdrawal) counts. At least 10 ms.
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// Retries allowed per request, in `[0, 1000]`: 0.1 allows one retry per ten requests;
    /// 0 allows only the floor.
    pub fn ratio(mut self, ratio: f64) -> Self {
        self.ratio = ratio;
        self
    }

    /// Retries per second allowed whatever the traffic (0 for none).
    pub fn min_retries_per_sec(mut self, min: u32) -> Self {
        self.min_retries_per_sec = min;
        self
    }

    /// The budget, reading time from `clock`; [`Error::InvalidConfig`] if the ratio or the
    /// window is out of range.
    pub fn build(self, clock: Arc<dyn Monotonic>) -> Result<RetryBudget> {
        if !(0.0..=1000.0).contains(&self.ratio) {
            return Err(Error::InvalidConfig(format!(
                "retry budget ratio {} is not within [0, 1000]",
                self.ratio
            )));
        }
        if self.window < Duration::from_millis(10) {
            return Err(Error::InvalidConfig(format!(
                "retry budget window {:?} is shorter than 10 ms",
                self.window
            )));
        }
        Ok(self.build_unchecked(clock))
    }

    fn build_unchecked(self, clock: Arc<dyn Monotonic>) -> RetryBudget {
        let window = self.window.as_nanos();
        // min/s × window s × 1000 thousandths, in integers.
        let reserve =
            u128::from(self.min_retries_per_sec) * window * WITHDRAW as u128 / 1_000_000_000;
        RetryBudget {
            clock,
            deposit: (self.ratio * WITHDRAW as f64).round() as i64,
            reserve: i64::try_from(reserve).unwrap_or(i64::MAX / 2),
            slot_nanos: (window / SLOTS as u128).max(1),
            state: Mutex::new(Slots {
                current: 0,
                net: [0; SLOTS],
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn budget(ratio: f64, min: u32) -> (Arc<ManualClock>, RetryBudget) {
        let clock = Arc::new(ManualClock::new());
        let b = RetryBudget::builder()
            .ratio(ratio)
            .min_retries_per_sec(min)
            .build(clock.clone())
            .unwrap();
        (clock, b)
    }

    #[test]
    fn ten_requests_buy_one_retry_at_ten_percent() {
        let (_, b) = budget(0.1, 0);
        assert_eq!(b.try_withdraw(), Err(Error::RetryBudgetExhausted));
        for _ in 0..9 {
            b.deposit();
        }
        assert_eq!(b.available(), 0);
        b.deposit();
        assert_eq!(b.available(), 1);
        assert_eq!(b.try_withdraw(), Ok(()));
        assert_eq!(b.try_withdraw(), Err(Error::RetryBudgetExhausted));
    }

    #[test]
    fn the_floor_refills_after_a_window() {
        let (clock, b) = budget(0.0, 2);
        for _ in 0..20 {
            assert_eq!(b.try_withdraw(), Ok(()));
        }
        assert!(b.try_withdraw().is_err());
        clock.advance(Duration::from_secs(9));
        assert!(b.try_withdraw().is_err(), "still within the window");
        clock.advance(Duration::from_secs(1));
        assert_eq!(b.available(), 20);
    }

    #[test]
    fn deposits_expire() {
        let (clock, b) = budget(1.0, 0);
        b.deposit();
        clock.advance(Duration::from_secs(5));
        b.deposit();
        assert_eq!(b.available(), 2);
        clock.advance(Duration::from_secs(5));
        assert_eq!(b.available(), 1, "the first deposit is a window old");
        clock.advance(Duration::from_secs(100));
        assert_eq!(b.available(), 0);
    }

    #[test]
    fn bad_config_is_refused() {
        let clock: Arc<dyn Monotonic> = Arc::new(ManualClock::new());
        for ratio in [-0.1, 1000.5, f64::NAN] {
            let r = RetryBudget::builder().ratio(ratio).build(clock.clone());
            assert!(matches!(r, Err(Error::InvalidConfig(_))), "{ratio}");
        }
        let r = RetryBudget::builder()
            .window(Duration::from_millis(1))
            .build(clock);
        assert!(matches!(r, Err(Error::InvalidConfig(_))));
    }
}
