//! Request classes, failure kinds and the one decision table between them: [`should_retry`].

use std::time::Duration;

/// What a request does to the server's state, which decides which failures may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestClass {
    /// Changes nothing (market data, balances, order status): any transient failure may be
    /// retried.
    Read,
    /// Changes state, but doing it twice is the same as doing it once (cancel an order by id,
    /// place an order with a client order id the venue deduplicates).
    IdempotentWrite,
    /// Doing it twice may do it twice (place an order without a deduplicated client id, a
    /// withdrawal). Retried only when the failure proves the server never executed it.
    NonIdempotentWrite,
}

/// Why an attempt failed, as far as retrying is concerned. The caller maps its own error to
/// one of these (a `classify` function); the retry layer never looks at the error itself, so
/// it can neither log nor leak it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureKind {
    /// The connection was refused or could not be made: the request never reached the server.
    ConnectRefused,
    /// HTTP 429 (or a venue's equivalent): the server refused the request without executing it.
    RateLimited {
        /// The server's `Retry-After`, if it sent one (see
        /// [`parse_retry_after`](super::parse_retry_after)): a lower bound on the next delay.
        retry_after: Option<Duration>,
    },
    /// The server rejected the request before executing it: a timestamp outside the venue's
    /// window, a nonce not greater than the last one. (Resync the clock or the nonce before the
    /// retry, or it fails the same way.)
    RejectedBeforeExecution,
    /// No answer in time: the request may or may not have been executed.
    Timeout,
    /// HTTP 5xx: the request may or may not have been executed.
    ServerError {
        /// The server's `Retry-After`, if it sent one (a 503 may): a lower bound on the next
        /// delay.
        retry_after: Option<Duration>,
    },
    /// HTTP 4xx other than 429: the request is wrong and sending it again changes nothing.
    ClientError,
    /// Anything else, with the caller's word on whether it is transient. Since it proves
    /// nothing about execution, a non-idempotent write is never retried on it.
    Other {
        /// Whether the failure is transient.
        retryable: bool,
    },
}

impl FailureKind {
    /// The server's `Retry-After` carried by this failure, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match *self {
            Self::RateLimited { retry_after } | Self::ServerError { retry_after } => retry_after,
            _ => None,
        }
    }

    /// Whether this failure proves the server never executed the request.
    pub fn never_executed(&self) -> bool {
        matches!(
            self,
            Self::ConnectRefused | Self::RateLimited { .. } | Self::RejectedBeforeExecution
        )
    }
}

/// Whether a request of `class` that failed with `kind` may be retried. This function is the
/// decision table of the [module docs](super); limits (attempts, time, budget) come after it.
pub fn should_retry(class: RequestClass, kind: &FailureKind) -> bool {
    if kind.never_executed() {
        return true;
    }
    let transient = match *kind {
        FailureKind::Timeout | FailureKind::ServerError { .. } => true,
        FailureKind::Other { retryable } => retryable,
        _ => false,
    };
    transient && class != RequestClass::NonIdempotentWrite
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_idempotent_write_is_retried_only_when_never_executed() {
        let class = RequestClass::NonIdempotentWrite;
        assert!(should_retry(class, &FailureKind::ConnectRefused));
        assert!(should_retry(
            class,
            &FailureKind::RateLimited { retry_after: None }
        ));
        assert!(should_retry(class, &FailureKind::RejectedBeforeExecution));
        assert!(!should_retry(class, &FailureKind::Timeout));
        assert!(!should_retry(
            class,
            &FailureKind::ServerError { retry_after: None }
        ));
        assert!(!should_retry(
            class,
            &FailureKind::Other { retryable: true }
        ));
    }

    #[test]
    fn client_errors_are_never_retried() {
        for class in [
            RequestClass::Read,
            RequestClass::IdempotentWrite,
            RequestClass::NonIdempotentWrite,
        ] {
            assert!(!should_retry(class, &FailureKind::ClientError));
            assert!(!should_retry(
                class,
                &FailureKind::Other { retryable: false }
            ));
        }
    }

    #[test]
    fn retry_after_comes_from_429_and_5xx_only() {
        let s = Some(Duration::from_secs(3));
        assert_eq!(FailureKind::RateLimited { retry_after: s }.retry_after(), s);
        assert_eq!(FailureKind::ServerError { retry_after: s }.retry_after(), s);
        assert_eq!(FailureKind::Timeout.retry_after(), None);
    }
}
