//! Nonces: strictly increasing numbers for venues that want them (Kraken), and random strings
//! for schemes that only want them unique (Deribit, keyward-v1).
//!
//! [`NonceSource::next_nonce`] is fallible. A source that persists its state
//! ([`FileNonce`]) may be unable to: a full disk, a lost permission, a corrupt state file. It
//! must then issue nothing rather than a nonce that a restart could issue again, and a panic is
//! no answer in a library, so the error goes to the caller, which fails the one request it was
//! signing. [`MonotonicNonce`] fails only when it has issued `u64::MAX - 1`.
//!
//! Which source to use:
//! - [`MonotonicNonce`]: in memory, one process. After a restart it starts again from the
//!   clock, which is enough when the clock moves on faster than nonces were drawn.
//! - [`FileNonce`] (Unix): a state file shared by the processes of one machine; survives
//!   restarts and `kill -9`. See its docs for the block size trade-off.
//! - `RedisNonce` (feature `redis`): one sequence per API key shared by the processes of a
//!   fleet on several machines, leased from a Redis counter, with a `FileNonce` state file as
//!   the local floor; see `keyward_signing::redis`.

#[cfg(unix)]
pub(crate) mod file;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::clock::Clock;
use crate::error::{Error, Result};

#[cfg(unix)]
pub use file::FileNonce;

/// A source of strictly increasing nonces.
///
/// [`next_nonce`](Self::next_nonce) is synchronous because the signer calls it while signing.
/// A source whose numbers come over the network (`redis::RedisNonce`, feature `redis`)
/// does its I/O in [`reserve`](Self::reserve), which the caller awaits before signing (the
/// REST client does), so that `next_nonce` never waits on the network.
#[async_trait::async_trait]
pub trait NonceSource: Send + Sync + fmt::Debug {
    /// The next nonce: greater than every nonce this source returned before. On error no nonce
    /// was issued; the caller must not sign with a nonce of its own making instead.
    fn next_nonce(&self) -> Result<u64>;

    /// Makes sure the next [`next_nonce`](Self::next_nonce) can be drawn without I/O: a source
    /// that leases its nonces from a shared store takes a new lease here when its lease is used
    /// up. An error means no lease could be taken (the source's docs say when); signing would
    /// then fail too, so the caller should not try. Sources that never wait on the network
    /// (this crate's [`MonotonicNonce`] and [`FileNonce`]) have nothing to do: the default
    /// returns `Ok(())` at once.
    async fn reserve(&self) -> Result<()> {
        Ok(())
    }
}

/// The unit of the time a nonce sequence starts from. Venues compare nonces only with earlier
/// nonces of the same key, so the unit matters when a key moves from one tool to another: a
/// key used with microsecond nonces refuses millisecond ones for decades.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NonceUnit {
    /// Milliseconds since the Unix epoch (about 1.7e12 in 2024).
    #[default]
    Millis,
    /// Microseconds since the Unix epoch (about 1.7e15 in 2024). The crate's [`Clock`] has
    /// millisecond resolution, so this is the clock's milliseconds times 1000: the sequence
    /// starts at the right height and then counts up by one.
    Micros,
}

impl NonceUnit {
    /// The time of `clock` in this unit.
    pub fn now(self, clock: &dyn Clock) -> u64 {
        match self {
            Self::Millis => clock.now_ms(),
            Self::Micros => clock.now_ms().saturating_mul(1000),
        }
    }
}

/// Strictly increasing nonces seeded from a clock, safe across threads: each nonce is
/// `max(now, previous + 1)`, with `now` in milliseconds unless
/// [`with_unit`](Self::with_unit) says otherwise. It lives in memory; a nonce source that
/// survives restarts and is shared between processes is [`FileNonce`].
#[derive(Debug)]
pub struct MonotonicNonce {
    last: AtomicU64,
    clock: Arc<dyn Clock>,
    unit: NonceUnit,
}

impl MonotonicNonce {
    /// Nonces seeded from `clock` in milliseconds.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            last: AtomicU64::new(0),
            clock,
            unit: NonceUnit::Millis,
        }
    }

    /// Seeds from the clock in `unit` instead.
    pub fn with_unit(mut self, unit: NonceUnit) -> Self {
        self.unit = unit;
        self
    }
}

impl NonceSource for MonotonicNonce {
    fn next_nonce(&self) -> Result<u64> {
        let now = self.unit.now(&*self.clock);
        let mut current = self.last.load(Ordering::SeqCst);
        loop {
            // `u64::MAX` is never issued, so "previous + 1" always exists.
            let next = now.max(current.checked_add(1).ok_or(Error::NonceExhausted)?);
            if next == u64::MAX {
                return Err(Error::NonceExhausted);
            }
            match self
                .last
                .compare_exchange(current, next, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => return Ok(next),
                Err(seen) => current = seen,
            }
        }
    }
}

/// `bytes` random bytes from the operating system, as lowercase hex.
pub(crate) fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::getrandom(&mut buf).map_err(|e| Error::Rng(e.to_string()))?;
    Ok(hex::encode(buf))
}

/// Draws `per_thread` nonces on each of `threads` threads and returns what each thread saw.
#[cfg(test)]
pub(crate) fn draw_on_threads(
    source: &Arc<dyn NonceSource>,
    threads: usize,
    per_thread: usize,
) -> Vec<Vec<u64>> {
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let source = source.clone();
            std::thread::spawn(move || {
                (0..per_thread)
                    .map(|_| source.next_nonce().unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

/// Asserts that each run is strictly increasing and that no nonce appears twice overall.
#[cfg(test)]
pub(crate) fn assert_unique_and_increasing(runs: &[Vec<u64>]) {
    for run in runs {
        assert!(run.windows(2).all(|w| w[0] < w[1]), "a run went back");
    }
    let mut all: Vec<u64> = runs.concat();
    let total = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), total, "a nonce was issued twice");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FixedClock;

    #[test]
    fn nonces_increase_even_when_the_clock_stands_still_or_goes_back() {
        let clock = Arc::new(FixedClock::new(1_000));
        let nonces = MonotonicNonce::new(clock.clone());
        assert_eq!(nonces.next_nonce().unwrap(), 1_000);
        assert_eq!(nonces.next_nonce().unwrap(), 1_001);
        clock.set(500);
        assert_eq!(nonces.next_nonce().unwrap(), 1_002);
        clock.set(5_000);
        assert_eq!(nonces.next_nonce().unwrap(), 5_000);
    }

    #[test]
    fn microseconds_start_a_thousand_times_higher() {
        let clock = Arc::new(FixedClock::new(1_700_000_000_000));
        let nonces = MonotonicNonce::new(clock.clone()).with_unit(NonceUnit::Micros);
        assert_eq!(nonces.next_nonce().unwrap(), 1_700_000_000_000_000);
        assert_eq!(nonces.next_nonce().unwrap(), 1_700_000_000_000_001);
        clock.advance(1);
        assert_eq!(nonces.next_nonce().unwrap(), 1_700_000_000_001_000);
        assert_eq!(NonceUnit::default(), NonceUnit::Millis);
    }

    #[test]
    fn nonces_are_unique_and_increasing_across_threads() {
        let source: Arc<dyn NonceSource> =
            Arc::new(MonotonicNonce::new(Arc::new(FixedClock::new(7))));
        let runs = draw_on_threads(&source, 4, 10_000);
        assert_unique_and_increasing(&runs);
        assert_eq!(runs.concat().len(), 40_000);
    }

    #[test]
    fn the_end_of_u64_is_an_error_not_a_repeat() {
        let clock = Arc::new(FixedClock::new(u64::MAX - 2));
        let nonces = MonotonicNonce::new(clock.clone());
        assert_eq!(nonces.next_nonce().unwrap(), u64::MAX - 2);
        assert_eq!(nonces.next_nonce().unwrap(), u64::MAX - 1);
        assert!(matches!(nonces.next_nonce(), Err(Error::NonceExhausted)));
        assert!(matches!(nonces.next_nonce(), Err(Error::NonceExhausted)));
        let micros = MonotonicNonce::new(clock).with_unit(NonceUnit::Micros);
        assert!(matches!(micros.next_nonce(), Err(Error::NonceExhausted)));
    }
}
