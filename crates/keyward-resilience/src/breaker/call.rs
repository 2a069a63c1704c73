//! The async API: `call(future)` acquires a permit, awaits the future (with the configured
//! per-call timeout), classifies its result and records it.
//!
//! The breaker is not generic over the call's types: one breaker guards a venue whose endpoints
//! return different `T` and `E`, and a [`BreakerRegistry`](super::BreakerRegistry) holds breakers
//! of any call type. So what counts as a failure is given per call, as a [`Classify`]: a closure
//! over `&Result<T, E>`, or a [`Classifier`] built once from predicates over errors and results
//! (resilience4j's `recordException`, `ignoreException` and `recordResult`).

use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use super::CircuitBreaker;
use super::permit::Outcome;
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

/// Says how a call's result counts.
pub trait Classify<T, E> {
    /// How `result` counts.
    fn classify(&self, result: &Result<T, E>) -> Outcome;
}

impl<T, E, F> Classify<T, E> for F
where
    F: Fn(&Result<T, E>) -> Outcome,
{
    fn classify(&self, result: &Result<T, E>) -> Outcome {
        self(result)
    }
}

type Predicate<X> = Box<dyn Fn(&X) -> bool + Send + Sync>;

/// A [`Classify`] built from predicates, once, and reused for every call.
///
/// With no predicate every `Err` is a failure and every `Ok` a success. Then:
/// - [`error_is_ignored`](Self::error_is_ignored): such errors are not counted;
/// - [`error_is_failure`](Self::error_is_failure): only such errors are failures, the others
///   count as successes (the venue answered);
/// - [`result_is_failure`](Self::result_is_failure): such `Ok` values are failures (an HTTP
///   response with a 5xx status).
///
/// ```
/// use keyward_resilience::breaker::{Classifier, Classify, Outcome};
///
/// struct Response { status: u16 }
/// #[derive(Debug)]
/// enum ApiError { Timeout, BadRequest, Cancelled }
///
/// let classifier = Classifier::<Response, ApiError>::new()
///     .result_is_failure(|r| r.status >= 500)
///     .error_is_failure(|e| matches!(e, ApiError::Timeout))
///     .error_is_ignored(|e| matches!(e, ApiError::Cancelled));
/// assert_eq!(classifier.classify(&Ok(Response { status: 503 })), Outcome::Failure);
/// assert_eq!(classifier.classify(&Ok(Response { status: 404 })), Outcome::Success);
/// assert_eq!(classifier.classify(&Err(ApiError::Timeout)), Outcome::Failure);
/// assert_eq!(classifier.classify(&Err(ApiError::BadRequest)), Outcome::Success);
/// assert_eq!(classifier.classify(&Err(ApiError::Cancelled)), Outcome::Ignored);
/// ```
pub struct Classifier<T, E> {
    error_is_failure: Option<Predicate<E>>,
    error_is_ignored: Option<Predicate<E>>,
    result_is_failure: Option<Predicate<T>>,
}

impl<T, E> Classifier<T, E> {
    /// Every `Err` a failure, every `Ok` a success.
    pub fn new() -> Self {
        Self {
            error_is_failure: None,
            error_is_ignored: None,
            result_is_failure: None,
        }
    }

    /// Only the errors for which `predicate` holds are failures; the others count as successes.
    #[must_use]
    pub fn error_is_failure(
        mut self,
        predicate: impl Fn(&E) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.error_is_failure = Some(Box::new(predicate));
        self
    }

    /// The errors for which `predicate` holds are not counted (checked before
    /// [`error_is_failure`](Self::error_is_failure)).
    #[must_use]
    pub fn error_is_ignored(
        mut self,
        predicate: impl Fn(&E) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.error_is_ignored = Some(Box::new(predicate));
        self
    }

    /// The `Ok` values for which `predicate` holds are failures.
    #[must_use]
    pub fn result_is_failure(
        mut self,
        predicate: impl Fn(&T) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.result_is_failure = Some(Box::new(predicate));
        self
    }
}

impl<T, E> Default for Classifier<T, E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, E> fmt::Debug for Classifier<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Classifier")
            .field("error_is_failure", &self.error_is_failure.is_some())
            .field("error_is_ignored", &self.error_is_ignored.is_some())
            .field("result_is_failure", &self.result_is_failure.is_some())
            .finish()
    }
}

impl<T, E> Classify<T, E> for Classifier<T, E> {
    fn classify(&self, result: &Result<T, E>) -> Outcome {
        match result {
            Ok(value) => {
                if self.result_is_failure.as_ref().is_some_and(|p| p(value)) {
                    Outcome::Failure
                } else {
                    Outcome::Success
                }
            }
            Err(error) => {
                if self.error_is_ignored.as_ref().is_some_and(|p| p(error)) {
                    Outcome::Ignored
                } else if self.error_is_failure.as_ref().is_none_or(|p| p(error)) {
                    Outcome::Failure
                } else {
                    Outcome::Success
                }
            }
        }
    }
}

/// Every `Err` a failure, every `Ok` a success: what [`CircuitBreaker::call`] uses.
#[derive(Debug, Clone, Copy)]
struct OkOrFailure;

impl<T, E> Classify<T, E> for OkOrFailure {
    fn classify(&self, result: &Result<T, E>) -> Outcome {
        if result.is_ok() {
            Outcome::Success
        } else {
            Outcome::Failure
        }
    }
}

impl CircuitBreaker {
    /// Runs `call` through the breaker: every `Err` counts as a failure, every `Ok` as a
    /// success. See [`call_with`](Self::call_with).
    ///
    /// # Errors
    /// As [`call_with`](Self::call_with).
    pub fn call<T, E, F>(&self, call: F) -> impl Future<Output = Result<T, CallError<E>>>
    where
        F: Future<Output = Result<T, E>>,
    {
        // Not an `async fn` awaiting `call_with`: one state machine instead of two nested ones.
        self.call_with(&OkOrFailure, call)
    }

    /// Runs `call` through the breaker and counts its result as `classify` says.
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
    pub async fn call_with<T, E, F, C>(&self, classify: &C, call: F) -> Result<T, CallError<E>>
    where
        F: Future<Output = Result<T, E>>,
        C: Classify<T, E> + ?Sized,
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
                permit.record(classify.classify(&result));
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

    #[test]
    fn the_default_classification_is_ok_or_failure() {
        assert_eq!(OkOrFailure.classify(&Ok::<(), ()>(())), Outcome::Success);
        assert_eq!(OkOrFailure.classify(&Err::<(), ()>(())), Outcome::Failure);
        let c = Classifier::<u16, ()>::new();
        assert_eq!(c.classify(&Ok(500)), Outcome::Success);
        assert_eq!(c.classify(&Err(())), Outcome::Failure);
        assert_eq!(
            format!("{:?}", c.result_is_failure(|s| *s >= 500)),
            "Classifier { error_is_failure: false, error_is_ignored: false, result_is_failure: true }"
        );
    }
}
