//! A coarse monotonic clock: one atomic load per reading, refreshed every millisecond by a
//! background thread.
//!
//! The circuit breaker reads its clock twice per call (at admission and at the result, for
//! slow-call detection). On virtual machines `clock_gettime` costs 25 to 60 ns, more than the
//! breaker's whole budget, while slow-call thresholds and open waits are counted in seconds:
//! millisecond resolution loses nothing. Written here rather than taken from `quanta`, whose
//! `Instant::recent` does the same upkeep but only hands out `Duration`s through a division per
//! reading; this one gives nanoseconds straight from the atomic.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::clock::{Clock, nanos_of};

/// How often the upkeep thread refreshes the reading.
pub const COARSE_RESOLUTION: Duration = Duration::from_millis(1);

/// The process-wide reading: nanoseconds since `origin`, and whether a thread keeps it fresh.
#[derive(Debug)]
struct Upkeep {
    origin: Instant,
    nanos: AtomicU64,
    running: AtomicBool,
}

fn upkeep() -> &'static Upkeep {
    static UPKEEP: OnceLock<Upkeep> = OnceLock::new();
    static STARTED: OnceLock<()> = OnceLock::new();
    let upkeep = UPKEEP.get_or_init(|| Upkeep {
        origin: Instant::now(),
        nanos: AtomicU64::new(0),
        running: AtomicBool::new(false),
    });
    STARTED.get_or_init(|| {
        let spawned = std::thread::Builder::new()
            .name("keyward-coarse-clock".into())
            .spawn(move || {
                loop {
                    upkeep.refresh();
                    std::thread::sleep(COARSE_RESOLUTION);
                }
            });
        match spawned {
            Ok(_) => {
                upkeep.refresh();
                upkeep.running.store(true, Ordering::Release);
            }
            // Without the thread every reading is a precise one: slower, still correct.
            Err(error) => {
                tracing::warn!(%error, "coarse clock: no upkeep thread, reading the system clock")
            }
        }
    });
    upkeep
}

impl Upkeep {
    fn precise(&self) -> u64 {
        nanos_of(self.origin.elapsed())
    }

    fn refresh(&self) {
        self.nanos.fetch_max(self.precise(), Ordering::Release);
    }
}

/// A monotonic clock with millisecond resolution whose reading costs one atomic load: the
/// circuit breaker's default clock.
///
/// All coarse clocks of a process share one upkeep thread (`keyward-coarse-clock`), started by
/// the first [`CoarseClock::new`] and refreshing the reading every [`COARSE_RESOLUTION`]. A
/// reading may lag the system's monotonic clock by up to that resolution (more if the machine
/// starves the thread), and never goes backwards. Use [`MonotonicClock`](crate::MonotonicClock)
/// where sub-millisecond precision matters.
#[derive(Debug, Clone, Copy)]
pub struct CoarseClock {
    upkeep: &'static Upkeep,
    /// The shared reading when this clock was made: this clock's origin.
    origin_nanos: u64,
}

impl CoarseClock {
    /// A clock whose origin is now (starts the upkeep thread on first use).
    pub fn new() -> Self {
        let upkeep = upkeep();
        Self {
            upkeep,
            origin_nanos: read(upkeep),
        }
    }
}

impl Default for CoarseClock {
    fn default() -> Self {
        Self::new()
    }
}

#[inline]
fn read(upkeep: &Upkeep) -> u64 {
    if upkeep.running.load(Ordering::Relaxed) {
        upkeep.nanos.load(Ordering::Acquire)
    } else {
        upkeep.precise()
    }
}

impl Clock for CoarseClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.now_nanos())
    }

    #[inline]
    fn now_nanos(&self) -> u64 {
        read(self.upkeep).saturating_sub(self.origin_nanos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_goes_backwards_and_stays_near_the_system_clock() {
        let clock = CoarseClock::new();
        let start = Instant::now();
        let mut last = clock.now_nanos();
        for _ in 0..10_000 {
            let now = clock.now_nanos();
            assert!(now >= last);
            last = now;
        }
        // A coarse reading is never ahead of the time that really passed since its origin.
        assert!(clock.now() <= start.elapsed() + COARSE_RESOLUTION);
    }
}
