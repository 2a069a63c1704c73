//! Injected time and nonces, so that signing is deterministic in tests.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current time in milliseconds since the Unix epoch.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

/// A clock that says what it is told: for tests.
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
}

/// A source of strictly increasing nonces.
pub trait NonceSource: Send + Sync + fmt::Debug {
    /// The next nonce: greater than every nonce this source returned before.
    fn next_nonce(&self) -> u64;
}

/// Strictly increasing nonces seeded from a clock in milliseconds, safe across threads: each
/// nonce is `max(now_ms, previous + 1)`. It lives in memory; a nonce source that survives
/// restarts and is shared between processes needs persistence.
#[derive(Debug)]
pub struct MonotonicNonce {
    last: AtomicU64,
    clock: Arc<dyn Clock>,
}

impl MonotonicNonce {
    /// Nonces seeded from `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            last: AtomicU64::new(0),
            clock,
        }
    }
}

impl NonceSource for MonotonicNonce {
    fn next_nonce(&self) -> u64 {
        let now = self.clock.now_ms();
        let mut current = self.last.load(Ordering::SeqCst);
        loop {
            let next = now.max(current.saturating_add(1));
            match self
                .last
                .compare_exchange(current, next, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => return next,
                Err(seen) => current = seen,
            }
        }
    }
}

/// `bytes` random bytes from the operating system, as lowercase hex.
pub(crate) fn random_hex(bytes: usize) -> crate::Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::getrandom(&mut buf).map_err(|e| crate::Error::Rng(e.to_string()))?;
    Ok(hex::encode(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_increase_even_when_the_clock_stands_still() {
        let clock = Arc::new(FixedClock::new(1_000));
        let nonces = MonotonicNonce::new(clock.clone());
        assert_eq!(nonces.next_nonce(), 1_000);
        assert_eq!(nonces.next_nonce(), 1_001);
        clock.set(500);
        assert_eq!(nonces.next_nonce(), 1_002);
        clock.set(5_000);
        assert_eq!(nonces.next_nonce(), 5_000);
    }

    #[test]
    fn nonces_are_unique_across_threads() {
        let nonces = Arc::new(MonotonicNonce::new(Arc::new(FixedClock::new(7))));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let n = nonces.clone();
                std::thread::spawn(move || (0..1000).map(|_| n.next_nonce()).collect::<Vec<_>>())
            })
            .collect();
        let mut all: Vec<u64> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 4000);
    }
}
