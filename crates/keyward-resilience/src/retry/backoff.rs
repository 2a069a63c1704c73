//! Backoff curves: the delay before the n-th retry, before jitter, never above a cap.

use std::time::Duration;

/// How the delay grows from one retry to the next. Every curve is capped by the policy's `cap`
/// (see [`Backoff::delay`]); jitter is applied afterwards (see [`Jitter`](super::Jitter)).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Backoff {
    /// The same delay before every retry.
    Constant(Duration),
    /// `base + step × (n − 1)` before the n-th retry.
    Linear {
        /// The delay before the first retry.
        base: Duration,
        /// What each further retry adds.
        step: Duration,
    },
    /// `base × factor^(n − 1)` before the n-th retry.
    Exponential {
        /// The delay before the first retry.
        base: Duration,
        /// The growth factor, finite and at least 1 (2 doubles the delay each time).
        factor: f64,
    },
}

impl Backoff {
    /// Exponential backoff from `base`, doubling each time.
    pub fn exponential(base: Duration) -> Self {
        Self::Exponential { base, factor: 2.0 }
    }

    /// The delay before the first retry. Decorrelated jitter grows from it.
    pub fn base(&self) -> Duration {
        match *self {
            Self::Constant(d) => d,
            Self::Linear { base, .. } | Self::Exponential { base, .. } => base,
        }
    }

    /// Whether the curve can be used: an exponential factor must be finite and at least 1.
    pub(crate) fn is_valid(&self) -> bool {
        match *self {
            Self::Exponential { factor, .. } => factor.is_finite() && factor >= 1.0,
            _ => true,
        }
    }

    /// The delay before the `retry`-th retry (1 for the first; 0 counts as 1), at most `cap`:
    /// a curve that would overflow saturates at `cap`.
    pub fn delay(&self, retry: u32, cap: Duration) -> Duration {
        let n = retry.max(1) - 1;
        let raw = match *self {
            Self::Constant(d) => d,
            Self::Linear { base, step } => step
                .checked_mul(n)
                .and_then(|s| base.checked_add(s))
                .unwrap_or(Duration::MAX),
            Self::Exponential { base, factor } => exponential(base, factor, n, cap),
        };
        raw.min(cap)
    }
}

/// `base × factor^n`, computed in nanoseconds as a float (exact for the usual integer
/// factors), and `cap` once it is beyond the cap, not finite or not a number.
fn exponential(base: Duration, factor: f64, n: u32, cap: Duration) -> Duration {
    let exp = i32::try_from(n).unwrap_or(i32::MAX);
    let nanos = base.as_nanos() as f64 * factor.powi(exp);
    if nanos.is_nan() || nanos < 0.0 || nanos >= cap.as_nanos() as f64 {
        return cap;
    }
    // Below the cap and non-negative: fits a u64 when the cap does, else saturate to the cap.
    let rounded = nanos.round();
    if rounded >= u64::MAX as f64 {
        return cap;
    }
    Duration::from_nanos(rounded as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn curves_grow_as_documented() {
        let cap = Duration::from_secs(60);
        let c = Backoff::Constant(MS * 300);
        assert_eq!(c.delay(1, cap), MS * 300);
        assert_eq!(c.delay(9, cap), MS * 300);
        let l = Backoff::Linear {
            base: MS * 100,
            step: MS * 50,
        };
        let got: Vec<_> = (1..=4).map(|n| l.delay(n, cap)).collect();
        assert_eq!(got, [MS * 100, MS * 150, MS * 200, MS * 250]);
        let e = Backoff::exponential(MS * 100);
        let got: Vec<_> = (1..=4).map(|n| e.delay(n, cap)).collect();
        assert_eq!(got, [MS * 100, MS * 200, MS * 400, MS * 800]);
        let e15 = Backoff::Exponential {
            base: MS * 100,
            factor: 1.5,
        };
        assert_eq!(e15.delay(3, cap), MS * 225);
    }

    #[test]
    fn cap_and_overflow_saturate() {
        let cap = Duration::from_secs(10);
        assert_eq!(Backoff::exponential(MS).delay(u32::MAX, cap), cap);
        let l = Backoff::Linear {
            base: Duration::MAX,
            step: Duration::MAX,
        };
        assert_eq!(l.delay(u32::MAX, cap), cap);
        assert_eq!(Backoff::Constant(Duration::MAX).delay(1, cap), cap);
        assert_eq!(Backoff::exponential(MS * 5).delay(0, cap), MS * 5);
    }

    #[test]
    fn factor_below_one_or_nan_is_invalid() {
        let bad = |factor| Backoff::Exponential { base: MS, factor }.is_valid();
        assert!(bad(1.0) && bad(3.5));
        assert!(!bad(0.5) && !bad(f64::NAN) && !bad(f64::INFINITY));
    }
}
