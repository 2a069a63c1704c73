//! Injected time, the one clock trait of the workspace's crates above this one: signing
//! (timestamps, nonces, windows) and secrets-backends (cache lifetimes, credential ages) both
//! take an `Arc<dyn Clock>` and re-export these types, so a test passes one [`FixedClock`] to
//! both. (keyward-resilience keeps its own monotonic `Clock` and `Sleep`: the layer table gives
//! it no internal dependency, so it cannot name this trait.)

use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A source of time: the wall clock, for what is compared with another machine's time
/// (timestamps, expiries, ages), and a monotonic clock, for what is measured locally (how long
/// a cached value has been held).
pub trait Clock: Send + Sync + fmt::Debug {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;

    /// Time since an arbitrary origin; never decreases. By default the system's monotonic
    /// clock (from the first reading in the process); a test clock overrides it so that time
    /// moves only when told to.
    fn monotonic(&self) -> Duration {
        static ORIGIN: OnceLock<Instant> = OnceLock::new();
        ORIGIN.get_or_init(Instant::now).elapsed()
    }
}

/// The system clock: `SystemTime` for the wall, `Instant` for monotonic time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

/// A clock that says what it is told: for tests. Its wall time and its monotonic time are the
/// same count of milliseconds, which moves only with [`set`](Self::set) and
/// [`advance`](Self::advance).
#[derive(Debug, Default)]
pub struct FixedClock(AtomicU64);

impl FixedClock {
    /// A clock stopped at `ms`.
    pub fn new(ms: u64) -> Self {
        Self(AtomicU64::new(ms))
    }

    /// Moves the clock to `ms`.
    pub fn set(&self, ms: u64) {
        self.0.store(ms, Ordering::SeqCst);
    }

    /// Moves the clock forward by `ms`.
    pub fn advance(&self, ms: u64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }

    fn monotonic(&self) -> Duration {
        Duration::from_millis(self.now_ms())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_clock_says_what_it_is_told() {
        let clock = FixedClock::new(1_000);
        assert_eq!(clock.now_ms(), 1_000);
        clock.advance(5);
        assert_eq!(clock.now_ms(), 1_005);
        clock.set(7);
        assert_eq!(clock.now_ms(), 7);
        assert_eq!(clock.monotonic(), Duration::from_millis(7));
    }

    #[test]
    fn the_system_clock_is_near_the_system_time_and_never_goes_back() {
        let clock = SystemClock;
        let before = SystemClock.now_ms();
        assert!(before > 1_600_000_000_000, "the wall clock reads {before}");
        let (a, b) = (clock.monotonic(), clock.monotonic());
        assert!(b >= a);
    }
}
