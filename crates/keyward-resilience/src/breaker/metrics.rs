//! A snapshot of a breaker's figures (resilience4j's `CircuitBreaker.Metrics`).

use super::state::{BreakerState, Figures};

/// A breaker's figures at one moment.
///
/// In the half-open state the call counts and rates are those of the trial calls; in every
/// other state they are those of the sliding window (which an open breaker keeps as it was when
/// it opened, and a closed breaker starts empty). The not-permitted and
/// cancelled counts run over the breaker's life until [`reset`](super::CircuitBreaker::reset).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BreakerMetrics {
    /// The breaker's state.
    pub state: BreakerState,
    /// The failure rate in percent, or `None` below the minimum number of calls.
    pub failure_rate: Option<f64>,
    /// Calls in the window (or decided trials).
    pub buffered_calls: u32,
    /// Failed calls among them.
    pub failed_calls: u32,
    /// Successful calls among them.
    pub successful_calls: u32,
    /// Half-open trial calls admitted and not yet decided.
    pub trial_calls_in_flight: u32,
    /// Calls refused since the breaker was created or reset.
    pub not_permitted_calls: u64,
    /// Calls cancelled before they had a result (counted as failures) since the breaker was
    /// created or reset.
    pub cancelled_calls: u64,
}

impl BreakerMetrics {
    pub(crate) fn new(figures: Figures, not_permitted_calls: u64, cancelled_calls: u64) -> Self {
        let t = figures.totals;
        Self {
            state: figures.state,
            failure_rate: t.failure_rate(figures.minimum_calls),
            buffered_calls: t.calls,
            failed_calls: t.failed,
            successful_calls: t.calls.saturating_sub(t.failed),
            trial_calls_in_flight: figures.trials_in_flight,
            not_permitted_calls,
            cancelled_calls,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::breaker::window::{Aggregate, Sample};

    fn figures(samples: &[bool], minimum_calls: u32) -> Figures {
        let mut totals = Aggregate::default();
        for &failed in samples {
            totals.add(Sample { failed });
        }
        Figures {
            state: BreakerState::Closed,
            totals,
            minimum_calls,
            trials_in_flight: 0,
        }
    }

    #[test]
    fn a_snapshot_has_rates_only_from_the_minimum_on() {
        let samples = [true, false, false, true];
        let m = BreakerMetrics::new(figures(&samples, 5), 7, 2);
        assert_eq!(m.failure_rate, None);
        assert_eq!(
            (m.buffered_calls, m.failed_calls, m.successful_calls),
            (4, 2, 2)
        );
        assert_eq!((m.not_permitted_calls, m.cancelled_calls), (7, 2));
        let m = BreakerMetrics::new(figures(&samples, 4), 0, 0);
        assert_eq!(m.failure_rate, Some(50.0));
    }
}
