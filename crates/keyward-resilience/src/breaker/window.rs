//! Sliding windows of call outcomes: count-based (a ring of the last N calls) and time-based
//! (one bucket per second over the last N seconds, resilience4j's partial aggregation).
//!
//! Both keep a running total, so recording a call and reading the rates cost O(1) (the
//! time-based window also clears the buckets that time has pushed out, at most N of them).

use std::time::Duration;

use super::config::SlidingWindow;

/// One decided call: whether it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sample {
    pub(crate) failed: bool,
}

impl Sample {
    fn to_bits(self) -> u8 {
        u8::from(self.failed)
    }

    fn from_bits(bits: u8) -> Self {
        Self { failed: bits != 0 }
    }
}

/// Counts of decided calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Aggregate {
    pub(crate) calls: u32,
    pub(crate) failed: u32,
}

impl Aggregate {
    pub(crate) fn add(&mut self, s: Sample) {
        self.calls = self.calls.saturating_add(1);
        self.failed = self.failed.saturating_add(u32::from(s.failed));
    }

    fn remove(&mut self, s: Sample) {
        self.calls = self.calls.saturating_sub(1);
        self.failed = self.failed.saturating_sub(u32::from(s.failed));
    }

    fn remove_all(&mut self, other: &Self) {
        self.calls = self.calls.saturating_sub(other.calls);
        self.failed = self.failed.saturating_sub(other.failed);
    }

    /// The failure rate in percent, or `None` below `minimum` calls (or with no calls at all).
    pub(crate) fn failure_rate(&self, minimum: u32) -> Option<f64> {
        self.rate(self.failed, minimum)
    }

    fn rate(&self, part: u32, minimum: u32) -> Option<f64> {
        if self.calls == 0 || self.calls < minimum {
            None
        } else {
            Some(f64::from(part) * 100.0 / f64::from(self.calls))
        }
    }

    /// Whether `part` out of the calls is at or above `threshold` percent. Compared as
    /// `part * 100 >= threshold * calls`, which is exact for whole-number thresholds, so that
    /// "exactly at the threshold" never depends on a rounded division.
    pub(crate) fn at_or_above(&self, part: u32, threshold: f64) -> bool {
        f64::from(part) * 100.0 >= threshold * f64::from(self.calls)
    }
}

/// The closed state's window.
#[derive(Debug)]
pub(crate) enum Window {
    Count(CountWindow),
    Time(TimeWindow),
}

impl Window {
    pub(crate) fn new(kind: SlidingWindow) -> Self {
        match kind {
            SlidingWindow::CountBased { size } => Self::Count(CountWindow::new(size)),
            SlidingWindow::TimeBased { seconds } => Self::Time(TimeWindow::new(seconds)),
        }
    }

    /// Records a call decided at `now` and returns the window's totals, or `None` when they
    /// did not change (a full count window whose oldest outcome was the same as this one): the
    /// thresholds were judged on the same totals before, so there is nothing to judge.
    #[inline]
    pub(crate) fn record(&mut self, sample: Sample, now: Duration) -> Option<Aggregate> {
        match self {
            Self::Count(w) => w.record(sample),
            Self::Time(w) => Some(w.record(sample, now)),
        }
    }

    /// The totals as of `now`.
    pub(crate) fn totals(&mut self, now: Duration) -> Aggregate {
        match self {
            Self::Count(w) => w.total,
            Self::Time(w) => {
                w.advance(now.as_secs());
                w.total
            }
        }
    }

    /// Whether this is a count window, full, holding only successes (see
    /// `Published::clean_full`). A time window always says no: time empties its buckets.
    #[inline]
    pub(crate) fn is_full_and_clean(&self) -> bool {
        match self {
            Self::Count(w) => w.len == w.ring.len() && w.total.failed == 0,
            Self::Time(_) => false,
        }
    }

    pub(crate) fn clear(&mut self) {
        match self {
            Self::Count(w) => w.clear(),
            Self::Time(w) => w.clear(),
        }
    }
}

/// The last `size` outcomes, one byte each, in a ring.
#[derive(Debug)]
pub(crate) struct CountWindow {
    ring: Box<[u8]>,
    /// Where the next outcome goes.
    next: usize,
    /// How many slots hold an outcome.
    len: usize,
    total: Aggregate,
}

impl CountWindow {
    fn new(size: u32) -> Self {
        let size = usize::try_from(size.max(1)).unwrap_or(1);
        Self {
            ring: vec![0; size].into_boxed_slice(),
            next: 0,
            len: 0,
            total: Aggregate::default(),
        }
    }

    #[inline]
    fn record(&mut self, sample: Sample) -> Option<Aggregate> {
        let size = self.ring.len();
        let bits = sample.to_bits();
        let mut changed = true;
        if let Some(slot) = self.ring.get_mut(self.next) {
            if self.len == size {
                // The steady state of a healthy venue: a success replaces a success.
                changed = *slot != bits;
                if changed {
                    self.total.remove(Sample::from_bits(*slot));
                    self.total.add(sample);
                }
            } else {
                self.len += 1;
                self.total.add(sample);
            }
            *slot = bits;
        }
        self.next += 1;
        if self.next == size {
            self.next = 0;
        }
        changed.then_some(self.total)
    }

    fn clear(&mut self) {
        self.next = 0;
        self.len = 0;
        self.total = Aggregate::default();
    }
}

/// One bucket per second over the last `seconds` seconds: the bucket of second `s` is
/// `buckets[s % seconds]`, and `total` sums the buckets of seconds `head - seconds + 1 ..= head`.
#[derive(Debug)]
pub(crate) struct TimeWindow {
    buckets: Box<[Aggregate]>,
    /// The latest second seen (seconds since the clock's origin).
    head: u64,
    total: Aggregate,
}

impl TimeWindow {
    fn new(seconds: u32) -> Self {
        let seconds = usize::try_from(seconds.max(1)).unwrap_or(1);
        Self {
            buckets: vec![Aggregate::default(); seconds].into_boxed_slice(),
            head: 0,
            total: Aggregate::default(),
        }
    }

    fn slot(&self, second: u64) -> usize {
        // The modulus is a `usize`, so the remainder fits one.
        usize::try_from(second % self.buckets.len() as u64).unwrap_or(0)
    }

    /// Moves the window so that its newest bucket is `second`, emptying the buckets of the
    /// seconds that fall out. A clock never goes back; an older second leaves it as it is.
    fn advance(&mut self, second: u64) {
        if second <= self.head {
            return;
        }
        let len = self.buckets.len() as u64;
        if second - self.head >= len {
            self.buckets.fill(Aggregate::default());
            self.total = Aggregate::default();
        } else {
            for s in self.head + 1..=second {
                let i = self.slot(s);
                if let Some(bucket) = self.buckets.get_mut(i) {
                    self.total.remove_all(bucket);
                    *bucket = Aggregate::default();
                }
            }
        }
        self.head = second;
    }

    fn record(&mut self, sample: Sample, now: Duration) -> Aggregate {
        let second = now.as_secs();
        self.advance(second);
        let i = self.slot(self.head);
        if let Some(bucket) = self.buckets.get_mut(i) {
            bucket.add(sample);
            self.total.add(sample);
        }
        self.total
    }

    fn clear(&mut self) {
        self.buckets.fill(Aggregate::default());
        self.total = Aggregate::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const OK: Sample = Sample { failed: false };
    const FAIL: Sample = Sample { failed: true };

    /// Records and returns the totals, whether or not they changed.
    fn rec(w: &mut Window, sample: Sample, now: Duration) -> Aggregate {
        match w.record(sample, now) {
            Some(totals) => totals,
            None => w.totals(now),
        }
    }

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn count_window_evicts_the_oldest_call() {
        let mut w = Window::new(SlidingWindow::CountBased { size: 3 });
        rec(&mut w, FAIL, Duration::ZERO);
        rec(&mut w, OK, Duration::ZERO);
        let t = rec(&mut w, FAIL, Duration::ZERO);
        assert_eq!((t.calls, t.failed), (3, 2));
        // The first FAIL falls out.
        let t = rec(&mut w, OK, Duration::ZERO);
        assert_eq!((t.calls, t.failed), (3, 1));
        w.clear();
        assert_eq!(w.totals(Duration::ZERO), Aggregate::default());
    }

    #[test]
    fn a_full_clean_count_window_reports_no_change_for_a_clean_success() {
        let mut w = Window::new(SlidingWindow::CountBased { size: 2 });
        assert!(w.record(OK, Duration::ZERO).is_some());
        assert!(!w.is_full_and_clean());
        assert!(w.record(OK, Duration::ZERO).is_some());
        assert!(w.is_full_and_clean());
        assert_eq!(w.record(OK, Duration::ZERO), None);
        let t = w.record(FAIL, Duration::ZERO).unwrap();
        assert_eq!((t.calls, t.failed), (2, 1));
        assert!(!w.is_full_and_clean());
        // The oldest call is a success: replacing it with a success changes nothing, even with
        // a failure in the window; replacing the failure does.
        assert_eq!(w.record(OK, Duration::ZERO), None);
        assert_eq!(w.record(OK, Duration::ZERO).map(|t| t.failed), Some(0));
        assert!(w.is_full_and_clean());
        let mut t = Window::new(SlidingWindow::TimeBased { seconds: 1 });
        assert!(t.record(OK, Duration::ZERO).is_some());
        assert!(!t.is_full_and_clean());
    }

    #[test]
    fn time_window_covers_the_last_n_seconds() {
        let mut w = Window::new(SlidingWindow::TimeBased { seconds: 10 });
        rec(&mut w, FAIL, secs(0.5));
        rec(&mut w, OK, secs(3.2));
        assert_eq!(w.totals(secs(9.999)).calls, 2);
        // At 10.0 s second 0 leaves the window; second 3 stays until 13.0 s.
        assert_eq!(w.totals(secs(10.0)).calls, 1);
        assert_eq!(w.totals(secs(10.0)).failed, 0);
        assert_eq!(w.totals(secs(12.999)).calls, 1);
        assert_eq!(w.totals(secs(13.0)).calls, 0);
        // A jump longer than the window empties it at once.
        rec(&mut w, FAIL, secs(14.0));
        assert_eq!(w.totals(secs(1000.0)), Aggregate::default());
    }

    #[test]
    fn rates_need_the_minimum_and_compare_exactly() {
        let mut a = Aggregate::default();
        for s in [FAIL, OK, FAIL, OK, OK] {
            a.add(s);
        }
        assert_eq!(a.failure_rate(6), None);
        assert_eq!(a.failure_rate(5), Some(40.0));
        assert!(a.at_or_above(a.failed, 40.0));
        assert!(!a.at_or_above(a.failed, 40.000_001));
        assert_eq!(Aggregate::default().failure_rate(0), None);
    }

    proptest! {
        /// The time window's total is always the sum of the calls recorded in the last
        /// `seconds` seconds (checked against a plain list).
        #[test]
        fn time_window_total_matches_a_naive_count(
            seconds in 1u32..8,
            steps in proptest::collection::vec((0u64..4_000, any::<bool>()), 1..60),
        ) {
            let mut w = Window::new(SlidingWindow::TimeBased { seconds });
            let mut now_ms = 0u64;
            let mut log: Vec<(u64, bool)> = Vec::new();
            for (advance_ms, failed) in steps {
                now_ms += advance_ms;
                let now = Duration::from_millis(now_ms);
                let t = rec(&mut w, Sample { failed }, now);
                log.push((now.as_secs(), failed));
                let first = now.as_secs().saturating_sub(u64::from(seconds) - 1);
                let live: Vec<_> = log.iter().filter(|(s, _)| *s >= first).collect();
                prop_assert_eq!(t.calls as usize, live.len());
                prop_assert_eq!(t.failed as usize, live.iter().filter(|(_, f)| *f).count());
            }
        }

        /// The count window's total is always the last `size` samples.
        #[test]
        fn count_window_total_matches_the_last_n(
            size in 1u32..10,
            samples in proptest::collection::vec(any::<bool>(), 1..50),
        ) {
            let mut w = Window::new(SlidingWindow::CountBased { size });
            let mut log = Vec::new();
            for failed in samples {
                let t = rec(&mut w, Sample { failed }, Duration::ZERO);
                log.push(failed);
                let start = log.len().saturating_sub(size as usize);
                let last = &log[start..];
                prop_assert_eq!(t.calls as usize, last.len());
                prop_assert_eq!(t.failed as usize, last.iter().filter(|s| **s).count());
            }
        }
    }
}
