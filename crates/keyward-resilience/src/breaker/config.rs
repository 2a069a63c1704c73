//! Breaker configuration: thresholds, windows, waits, and the injected clock and sleep.
//!
//! Defaults are resilience4j's `CircuitBreakerConfig` defaults, so that a team moving from the
//! JVM finds the same behaviour.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Monotonic, MonotonicClock, Sleep};
use crate::error::{Error, Result};

/// The largest count-based window: one byte per call, so at most 1 MiB per breaker.
pub const MAX_COUNT_WINDOW: u32 = 1 << 20;
/// The largest time-based window, in seconds (one day of one-second buckets).
pub const MAX_TIME_WINDOW_SECS: u32 = 86_400;

/// The sliding window over which the closed state judges the failure rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlidingWindow {
    /// The last `size` calls (resilience4j `COUNT_BASED`).
    CountBased {
        /// How many calls the window holds.
        size: u32,
    },
    /// The calls of the last `seconds` seconds, aggregated in one bucket per second
    /// (resilience4j `TIME_BASED`, with its partial aggregation).
    TimeBased {
        /// How many one-second buckets the window holds.
        seconds: u32,
    },
}

/// A validated circuit-breaker configuration. Build one with [`BreakerConfig::builder`]; the
/// [`Default`] is resilience4j's defaults on a [`MonotonicClock`].
#[derive(Debug, Clone)]
pub struct BreakerConfig {
    pub(crate) failure_rate_threshold: f64,
    pub(crate) permitted_calls_in_half_open: u32,
    pub(crate) max_wait_in_half_open: Duration,
    pub(crate) sliding_window: SlidingWindow,
    pub(crate) minimum_calls: u32,
    pub(crate) wait_in_open: Duration,
    pub(crate) call_timeout: Option<Duration>,
    pub(crate) clock: Arc<dyn Monotonic>,
    pub(crate) sleep: Option<Arc<dyn Sleep>>,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failure_rate_threshold: 50.0,
            permitted_calls_in_half_open: 10,
            max_wait_in_half_open: Duration::ZERO,
            sliding_window: SlidingWindow::CountBased { size: 100 },
            minimum_calls: 100,
            wait_in_open: Duration::from_secs(60),
            call_timeout: None,
            clock: Arc::new(MonotonicClock::new()),
            sleep: None,
        }
    }
}

impl BreakerConfig {
    /// A builder that starts from the defaults.
    pub fn builder() -> BreakerConfigBuilder {
        BreakerConfigBuilder {
            config: Self::default(),
        }
    }

    /// The failure rate, in percent, at or above which the breaker opens.
    pub fn failure_rate_threshold(&self) -> f64 {
        self.failure_rate_threshold
    }

    /// How many trial calls the half-open state admits.
    pub fn permitted_calls_in_half_open(&self) -> u32 {
        self.permitted_calls_in_half_open
    }

    /// The longest the breaker stays half-open before it opens again; zero waits indefinitely.
    pub fn max_wait_in_half_open(&self) -> Duration {
        self.max_wait_in_half_open
    }

    /// The closed state's sliding window.
    pub fn sliding_window(&self) -> SlidingWindow {
        self.sliding_window
    }

    /// The number of calls the closed state needs before it judges the rates, as configured.
    /// With a count-based window the breaker uses at most the window's size (as resilience4j).
    pub fn minimum_calls(&self) -> u32 {
        self.minimum_calls
    }

    /// The minimum number of calls the closed state actually applies.
    pub(crate) fn effective_minimum_calls(&self) -> u32 {
        match self.sliding_window {
            SlidingWindow::CountBased { size } => self.minimum_calls.min(size),
            SlidingWindow::TimeBased { .. } => self.minimum_calls,
        }
    }

    /// How long the breaker stays open before it lets trial calls through.
    pub fn wait_in_open(&self) -> Duration {
        self.wait_in_open
    }

    /// The per-call timeout that [`CircuitBreaker::call`](super::CircuitBreaker::call) applies.
    pub fn call_timeout(&self) -> Option<Duration> {
        self.call_timeout
    }
}

/// Builds a [`BreakerConfig`]; [`build`](Self::build) checks every value.
#[derive(Debug, Clone)]
#[must_use]
pub struct BreakerConfigBuilder {
    config: BreakerConfig,
}

impl BreakerConfigBuilder {
    /// The failure rate, in percent (0 < rate <= 100), at or above which the breaker opens.
    /// Default 50.
    pub fn failure_rate_threshold(mut self, percent: f64) -> Self {
        self.config.failure_rate_threshold = percent;
        self
    }

    /// How many trial calls the half-open state admits; once all of them have a result the
    /// breaker closes or opens. Default 10.
    pub fn permitted_calls_in_half_open(mut self, calls: u32) -> Self {
        self.config.permitted_calls_in_half_open = calls;
        self
    }

    /// The longest the breaker stays half-open before it opens again; zero (the default) waits
    /// indefinitely for the trial calls' results.
    pub fn max_wait_in_half_open(mut self, duration: Duration) -> Self {
        self.config.max_wait_in_half_open = duration;
        self
    }

    /// The closed state's sliding window. Default: count-based, 100 calls.
    pub fn sliding_window(mut self, window: SlidingWindow) -> Self {
        self.config.sliding_window = window;
        self
    }

    /// The number of calls the closed state needs before it judges the rates. Default 100.
    pub fn minimum_calls(mut self, calls: u32) -> Self {
        self.config.minimum_calls = calls;
        self
    }

    /// How long the breaker stays open before it lets trial calls through. Default 60 s.
    pub fn wait_in_open(mut self, duration: Duration) -> Self {
        self.config.wait_in_open = duration;
        self
    }

    /// A timeout for each call made through [`CircuitBreaker::call`](super::CircuitBreaker::call);
    /// a call that times out counts as a failure. Needs a [`Sleep`](Self::sleep).
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.config.call_timeout = Some(timeout);
        self
    }

    /// The clock of the open wait, the half-open maximum wait, time-based windows and call
    /// timeouts. Default: a [`MonotonicClock`]. The closed state with a count-based window never
    /// reads it.
    pub fn clock(mut self, clock: Arc<dyn Monotonic>) -> Self {
        self.config.clock = clock;
        self
    }

    /// The sleep behind the per-call timeout.
    pub fn sleep(mut self, sleep: Arc<dyn Sleep>) -> Self {
        self.config.sleep = Some(sleep);
        self
    }

    /// Checks every value and returns the configuration.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the first value that cannot work.
    pub fn build(self) -> Result<BreakerConfig> {
        let c = self.config;
        check_percent("failure_rate_threshold", c.failure_rate_threshold)?;
        if c.permitted_calls_in_half_open == 0 {
            return invalid("permitted_calls_in_half_open must be at least 1");
        }
        if c.minimum_calls == 0 {
            return invalid("minimum_calls must be at least 1");
        }
        match c.sliding_window {
            SlidingWindow::CountBased { size } if size == 0 || size > MAX_COUNT_WINDOW => {
                return invalid(format!(
                    "a count-based sliding window holds 1 to {MAX_COUNT_WINDOW} calls, not {size}"
                ));
            }
            SlidingWindow::TimeBased { seconds }
                if seconds == 0 || seconds > MAX_TIME_WINDOW_SECS =>
            {
                return invalid(format!(
                    "a time-based sliding window spans 1 to {MAX_TIME_WINDOW_SECS} seconds, not {seconds}"
                ));
            }
            _ => {}
        }
        if c.wait_in_open.is_zero() {
            return invalid("the wait in the open state must be greater than zero");
        }
        match c.call_timeout {
            Some(timeout) if timeout.is_zero() => {
                return invalid("call_timeout must be greater than zero");
            }
            Some(_) if c.sleep.is_none() => {
                return invalid(
                    "call_timeout needs a sleep to time calls with; set one with BreakerConfigBuilder::sleep",
                );
            }
            _ => {}
        }
        Ok(c)
    }
}

/// `d` in nanoseconds, saturating (584 years).
pub(crate) fn nanos(d: Duration) -> u64 {
    crate::clock::nanos_of(d)
}

fn check_percent(name: &str, percent: f64) -> Result<()> {
    if percent.is_finite() && percent > 0.0 && percent <= 100.0 {
        Ok(())
    } else {
        invalid(format!(
            "{name} is a percentage above 0 and at most 100, not {percent}"
        ))
    }
}

fn invalid<T>(message: impl Into<String>) -> Result<T> {
    Err(Error::InvalidConfig(message.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_resilience4j_defaults() {
        let c = BreakerConfig::default();
        assert_eq!(c.failure_rate_threshold(), 50.0);
        assert_eq!(c.permitted_calls_in_half_open(), 10);
        assert_eq!(c.max_wait_in_half_open(), Duration::ZERO);
        assert_eq!(c.sliding_window(), SlidingWindow::CountBased { size: 100 });
        assert_eq!(c.minimum_calls(), 100);
        assert_eq!(c.wait_in_open(), Duration::from_secs(60));
        assert_eq!(c.call_timeout(), None);
        assert!(BreakerConfig::builder().build().is_ok());
    }

    #[test]
    fn count_window_caps_the_minimum_calls() {
        let c = BreakerConfig::builder()
            .sliding_window(SlidingWindow::CountBased { size: 5 })
            .minimum_calls(10)
            .build()
            .unwrap();
        assert_eq!(c.effective_minimum_calls(), 5);
        let c = BreakerConfig::builder()
            .sliding_window(SlidingWindow::TimeBased { seconds: 5 })
            .minimum_calls(10)
            .build()
            .unwrap();
        assert_eq!(c.effective_minimum_calls(), 10);
    }

    #[test]
    fn rejects_values_that_cannot_work() {
        let bad = [
            BreakerConfig::builder().failure_rate_threshold(0.0),
            BreakerConfig::builder().failure_rate_threshold(100.5),
            BreakerConfig::builder().failure_rate_threshold(f64::NAN),
            BreakerConfig::builder().permitted_calls_in_half_open(0),
            BreakerConfig::builder().minimum_calls(0),
            BreakerConfig::builder().sliding_window(SlidingWindow::CountBased { size: 0 }),
            BreakerConfig::builder().sliding_window(SlidingWindow::CountBased {
                size: MAX_COUNT_WINDOW + 1,
            }),
            BreakerConfig::builder().sliding_window(SlidingWindow::TimeBased { seconds: 0 }),
            BreakerConfig::builder().sliding_window(SlidingWindow::TimeBased {
                seconds: MAX_TIME_WINDOW_SECS + 1,
            }),
            BreakerConfig::builder().wait_in_open(Duration::ZERO),
            BreakerConfig::builder().call_timeout(Duration::from_secs(1)),
        ];
        for builder in bad {
            let err = builder.build().unwrap_err();
            assert!(matches!(err, Error::InvalidConfig(_)), "{err}");
        }
    }
}
