//! The async API: `call(future)` acquires a permit, awaits the future (with the configured
//! per-call timeout) and records its result: every `Err` a failure, every `Ok` a success. A
//! caller that decides otherwise (a 5xx answer is a failure, a 4xx is not) uses the permit API.

use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use super::CircuitBreaker;
use crate::clock::SleepFuture;
use crate::error::Error;

/// Why a call through the breaker did not return a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError<E> {
    /// The breaker refused the call; the future was never polled.
    Rejected(Error),
    /// The call took longer than the per-call timeout; it was dropped and counts as a failure.
    Timeout(Duration),
    /// The call returned this error.
    Inner(E),
}

impl<E> CallError<E> {
    /// The call's own error, if it returned one.
    pub fn into_inner(self) -> Option<E> {
        match self {
            Self::Inner(e) => Some(e),
            _ => None,
        }
    }

    /// Whether the breaker refused the call.
    pub fn is_rejected(&self) -> bool {
        matches!(self, Self::Rejected(_))
    }
}

impl<E: fmt::Display> fmt::Display for CallError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rejected(e) => e.fmt(f),
            Self::Timeout(limit) => write!(f, "the call timed out after {limit:?}"),
            Self::Inner(e) => e.fmt(f),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for CallError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        // `Display` shows the wrapped error itself, so its source is the wrapped error's source.
        match self {
            Self::Rejected(e) => e.source(),
            Self::Timeout(_) => None,
            Self::Inner(e) => e.source(),
        }
    }
}

impl CircuitBreaker {
    /// Runs `call` through the breaker: every `Err` counts as a failure, every `Ok` as a
    /// success.
    ///
    /// The permit is taken when the returned future is first polled. If the breaker refuses,
    /// `call` is dropped unpolled. With a [per-call timeout](super::BreakerConfig::call_timeout),
    /// a call that takes longer is dropped and counts as a failure (the timer is only made if
    /// the call is not ready at its first poll). If the returned future is itself dropped
    /// before the call ends, or the call panics, the permit counts it as a failure (see
    /// [`Permit`](super::Permit)).
    ///
    /// # Errors
    /// [`CallError::Rejected`] if the breaker refused the call, [`CallError::Timeout`] if it
    /// timed out, [`CallError::Inner`] with the call's own error.
    pub async fn call<T, E, F>(&self, call: F) -> Result<T, CallError<E>>
    where
        F: Future<Output = Result<T, E>>,
    {
        let permit = self.try_acquire().map_err(CallError::Rejected)?;
        let config = &self.shared.config;
        let timeout = config.call_timeout.zip(config.sleep.as_deref());
        let started = match timeout {
            Some(_) => config.clock.now(),
            None => Duration::ZERO,
        };
        let mut call = pin!(call);
        let mut timer: Option<SleepFuture> = None;
        // One await point, whether or not there is a timeout: a smaller, faster state machine.
        let result = poll_fn(|cx| {
            if let Poll::Ready(result) = call.as_mut().poll(cx) {
                return Poll::Ready(Some(result));
            }
            let Some((limit, sleep)) = timeout else {
                return Poll::Pending;
            };
            let timer = timer.get_or_insert_with(|| {
                let elapsed = config.clock.now().saturating_sub(started);
                sleep.sleep(limit.saturating_sub(elapsed))
            });
            timer.as_mut().poll(cx).map(|()| None)
        })
        .await;
        match (result, timeout) {
            (Some(result), _) => {
                if result.is_ok() {
                    permit.success();
                } else {
                    permit.failure();
                }
                result.map_err(CallError::Inner)
            }
            (None, Some((limit, _))) => {
                permit.failure();
                Err(CallError::Timeout(limit))
            }
            // The future above only ends without a result when a timeout is set.
            (None, None) => {
                permit.failure();
                Err(CallError::Timeout(Duration::ZERO))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[derive(Debug)]
    struct Venue(std::io::Error);

    impl fmt::Display for Venue {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("venue unavailable")
        }
    }

    impl std::error::Error for Venue {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn call_errors_read_as_what_they_wrap() {
        let inner = CallError::Inner(Venue(std::io::Error::other("reset")));
        assert_eq!(inner.to_string(), "venue unavailable");
        assert_eq!(
            inner.source().map(ToString::to_string).as_deref(),
            Some("reset")
        );
        assert!(!inner.is_rejected());
        assert!(inner.into_inner().is_some());

        let rejected: CallError<Venue> =
            CallError::Rejected(Error::HalfOpenBusy { name: "okx".into() });
        assert!(rejected.is_rejected());
        assert!(rejected.to_string().starts_with("circuit okx is half-open"));
        assert!(rejected.into_inner().is_none());

        let timeout: CallError<Venue> = CallError::Timeout(Duration::from_millis(1500));
        assert_eq!(timeout.to_string(), "the call timed out after 1.5s");
        assert!(timeout.source().is_none());
    }
}
