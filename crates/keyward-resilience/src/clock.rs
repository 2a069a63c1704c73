//! Injected time: a monotonic clock and an async sleep, so that tests never sleep and never
//! flake (as smithy-rs `TimeSource`/`AsyncSleep` and governor's `FakeRelativeClock`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A monotonic clock: time elapsed since an arbitrary origin fixed at the clock's creation.
///
/// The workspace's other crates read time through one trait, `keyward_core_crypto::Clock` (wall
/// time and monotonic time; re-exported by keyward-signing and keyward-secrets-backends). This
/// crate depends on no other keyward crate (the layer table of DESIGN.md), so it cannot use
/// that trait; it keeps this one, named for what it is, so the two never share a name through
/// the facade.
pub trait Monotonic: Send + Sync + fmt::Debug {
    /// Time since the clock's origin. Never decreases.
    fn now(&self) -> Duration;
}

/// `d` in nanoseconds, saturating (584 years).
#[inline]
pub(crate) fn nanos_of(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The system's monotonic clock (`std::time::Instant`).
#[derive(Debug, Clone, Copy)]
pub struct MonotonicClock {
    origin: Instant,
}

impl MonotonicClock {
    /// A clock whose origin is now.
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
        }
    }
}

impl Default for MonotonicClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Monotonic for MonotonicClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// A clock that moves only when told to: for tests.
#[derive(Debug, Default)]
pub struct ManualClock {
    nanos: AtomicU64,
}

impl ManualClock {
    /// A clock at its origin.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.nanos.fetch_add(nanos, Ordering::SeqCst);
    }
}

impl Monotonic for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }
}

/// A future that completes after a delay.
pub type SleepFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// An async sleep.
pub trait Sleep: Send + Sync + fmt::Debug {
    /// A future that completes after `duration`.
    fn sleep(&self, duration: Duration) -> SleepFuture;
}

/// A sleep that advances a [`ManualClock`] at once and records each delay: for tests, where
/// waiting must not take real time.
#[derive(Debug, Clone)]
pub struct ManualSleep {
    clock: Arc<ManualClock>,
    slept: Arc<std::sync::Mutex<Vec<Duration>>>,
}

impl ManualSleep {
    /// A sleep that advances `clock`.
    pub fn new(clock: Arc<ManualClock>) -> Self {
        Self {
            clock,
            slept: Arc::default(),
        }
    }

    /// Every delay slept so far, in order.
    pub fn slept(&self) -> Vec<Duration> {
        self.slept.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Sleep for ManualSleep {
    fn sleep(&self, duration: Duration) -> SleepFuture {
        self.clock.advance(duration);
        if let Ok(mut slept) = self.slept.lock() {
            slept.push(duration);
        }
        Box::pin(std::future::ready(()))
    }
}

/// The tokio runtime's sleep (feature `tokio`): the [`Sleep`] to use in production.
#[cfg(feature = "tokio")]
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleep;

#[cfg(feature = "tokio")]
impl Sleep for TokioSleep {
    fn sleep(&self, duration: Duration) -> SleepFuture {
        Box::pin(tokio::time::sleep(duration))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_and_sleep() {
        let clock = Arc::new(ManualClock::new());
        assert_eq!(clock.now(), Duration::ZERO);
        let sleep = ManualSleep::new(clock.clone());
        drop(sleep.sleep(Duration::from_millis(250)));
        assert_eq!(clock.now(), Duration::from_millis(250));
        assert_eq!(sleep.slept(), vec![Duration::from_millis(250)]);
        let real = MonotonicClock::new();
        assert!(real.now() <= real.now());
    }

    #[cfg(feature = "tokio")]
    #[tokio::test(start_paused = true)]
    async fn tokio_sleep_waits_on_the_runtime_clock() {
        // Paused time: the runtime jumps to the deadline instead of waiting for it.
        let before = tokio::time::Instant::now();
        TokioSleep.sleep(Duration::from_secs(30)).await;
        assert_eq!(before.elapsed(), Duration::from_secs(30));
    }
}
