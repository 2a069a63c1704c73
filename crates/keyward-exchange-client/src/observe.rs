//! Spans and counters of the exchange clients (docs/guides/observability.md).
//!
//! Spans: `keyward.request` per REST call (venue, method, endpoint path, request class; the
//! number of attempts and the outcome recorded when the call ends), `keyward.attempt` inside it
//! per attempt (its number; the HTTP status once the venue answered), `keyward.ws_session` per
//! WebSocket session (venue, session number) and `keyward.ws_connect` per reconnect attempt.
//! No field carries a key, secret, signature, query or signed URL: the endpoint is the path
//! alone, as the client's own logs name it.
//!
//! Counters (feature `metrics`, recorded to the `metrics` facade): every label value comes from
//! a closed set (the venue's name, [`outcome`]'s names, `ok`/`error`), never from input.

use std::sync::atomic::{AtomicU64, Ordering};

use keyward_resilience::RequestClass;
use tracing::Span;

use crate::error::{ErrorKind, Result};
use crate::venue::Call;

/// The request class as a span field.
fn class_name(class: RequestClass) -> &'static str {
    match class {
        RequestClass::Read => "read",
        RequestClass::IdempotentWrite => "idempotent_write",
        RequestClass::NonIdempotentWrite => "non_idempotent_write",
    }
}

/// The outcome label of a call: `ok`, or the error's kind in snake case (a closed set).
pub(crate) fn outcome(kind: Option<ErrorKind>) -> &'static str {
    let Some(kind) = kind else { return "ok" };
    match kind {
        ErrorKind::Authentication => "authentication",
        ErrorKind::Permission => "permission",
        ErrorKind::RateLimited => "rate_limited",
        ErrorKind::Timestamp => "timestamp",
        ErrorKind::Nonce => "nonce",
        ErrorKind::InsufficientFunds => "insufficient_funds",
        ErrorKind::Rejected => "rejected",
        ErrorKind::Server => "server",
        ErrorKind::UnknownOutcome => "unknown_outcome",
        ErrorKind::UnexpectedStatus => "unexpected_status",
        ErrorKind::RateLimitWait => "rate_limit_wait",
        ErrorKind::Timeout => "timeout",
        ErrorKind::Transport => "transport",
        ErrorKind::Decode => "decode",
        ErrorKind::CircuitOpen => "circuit_open",
        ErrorKind::Config => "config",
        ErrorKind::Credentials => "credentials",
        ErrorKind::Signing => "signing",
    }
}

/// The span of one REST call; `attempts` and `outcome` are recorded by [`finish`].
pub(crate) fn request_span(venue: &'static str, call: &Call) -> Span {
    tracing::info_span!(
        "keyward.request",
        venue,
        method = call.method,
        endpoint = %call.path,
        class = class_name(call.class),
        attempts = tracing::field::Empty,
        outcome = tracing::field::Empty,
    )
}

/// The span of attempt `attempt` (from 1) of a call; `status` is recorded by [`status`].
pub(crate) fn attempt_span(attempt: u32) -> Span {
    tracing::debug_span!("keyward.attempt", attempt, status = tracing::field::Empty)
}

/// Records the venue's HTTP status on the current attempt's span.
pub(crate) fn status(status: u16) {
    Span::current().record("status", status);
}

/// Records a finished call: its outcome and attempts on `span`, and (feature `metrics`)
/// `keyward_requests_total{venue,outcome}`, `keyward_request_attempts_total{venue}` and
/// `keyward_retries_total{venue}`.
pub(crate) fn finish<T>(span: &Span, venue: &'static str, result: &Result<T>, attempts: u32) {
    let outcome = outcome(result.as_ref().err().map(crate::Error::kind));
    span.record("outcome", outcome);
    span.record("attempts", attempts);
    #[cfg(feature = "metrics")]
    {
        metrics::counter!("keyward_requests_total", "venue" => venue, "outcome" => outcome)
            .increment(1);
        metrics::counter!("keyward_request_attempts_total", "venue" => venue)
            .increment(u64::from(attempts));
        metrics::counter!("keyward_retries_total", "venue" => venue)
            .increment(u64::from(attempts.saturating_sub(1)));
    }
    #[cfg(not(feature = "metrics"))]
    let _ = venue;
}

/// Session numbers, for telling WebSocket sessions apart in traces.
static SESSIONS: AtomicU64 = AtomicU64::new(0);

/// The span of a new WebSocket session to `venue`, numbered in this process.
pub(crate) fn ws_session_span(venue: &'static str) -> Span {
    let session = SESSIONS.fetch_add(1, Ordering::Relaxed) + 1;
    tracing::info_span!("keyward.ws_session", venue, session)
}

/// The span of reconnect attempt `attempt` (from 1) of a WebSocket session.
pub(crate) fn ws_connect_span(attempt: u32) -> Span {
    tracing::debug_span!("keyward.ws_connect", attempt)
}

/// A WebSocket session reconnected (feature `metrics`: `keyward_ws_reconnects_total{venue}`).
pub(crate) fn ws_reconnected(venue: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!("keyward_ws_reconnects_total", "venue" => venue).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = venue;
}

/// A broker login for a token (feature `metrics`: `keyward_token_refreshes_total{outcome}`,
/// `ok` or `error`). The identity is not a label: it is the caller's string.
pub(crate) fn token_refresh(ok: bool) {
    tracing::debug!(outcome = if ok { "ok" } else { "error" }, "token refresh");
    #[cfg(feature = "metrics")]
    metrics::counter!("keyward_token_refreshes_total", "outcome" => if ok { "ok" } else { "error" })
        .increment(1);
}

#[cfg(all(test, feature = "metrics"))]
mod tests {
    use std::sync::Arc;

    use keyward_resilience::{ManualClock, ManualSleep};
    use keyward_signing::{Credentials, Scheme};
    use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};

    use super::*;
    use crate::{Params, RestClient};

    /// Every counter of one snapshot (a snapshot resets the debugging recorder's counters):
    /// name, sorted labels, value.
    type Counters = Vec<(String, Vec<(String, String)>, u64)>;

    fn counters(snapshotter: &Snapshotter) -> Counters {
        snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .filter_map(|(key, _, _, value)| {
                let DebugValue::Counter(n) = value else {
                    return None;
                };
                let key = key.key();
                let mut labels: Vec<(String, String)> = key
                    .labels()
                    .map(|l| (l.key().to_owned(), l.value().to_owned()))
                    .collect();
                labels.sort_unstable();
                Some((key.name().to_owned(), labels, n))
            })
            .collect()
    }

    /// The counter `name` with exactly the labels `labels`, if recorded.
    fn counter(all: &Counters, name: &str, labels: &[(&str, &str)]) -> Option<u64> {
        let mut want: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        want.sort_unstable();
        all.iter()
            .find(|(n, l, _)| n == name && *l == want)
            .map(|(_, _, v)| *v)
    }

    /// A read the venue answers 503 to is retried as its class allows: one request with the
    /// outcome `server`, its attempts, and every attempt after the first as a retry.
    #[test]
    fn requests_outcomes_and_retries_are_counted() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let err = metrics::with_local_recorder(&recorder, || {
            runtime.block_on(async {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
                let app = axum::Router::new()
                    .fallback(|| async { (axum::http::StatusCode::SERVICE_UNAVAILABLE, "{}") });
                tokio::spawn(async move { axum::serve(listener, app).await });
                let clock = Arc::new(ManualClock::new());
                let client =
                    RestClient::builder(Scheme::KeywardV1, format!("http://{addr}/svc/keyward-v1"))
                        .credentials(Credentials::new("key-1", "CANARY-secret".into()))
                        .clock(clock.clone())
                        .sleep(Arc::new(ManualSleep::new(clock)))
                        .build()
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                client
                    .send("GET", "/a", Params::None, RequestClass::Read, 1)
                    .await
                    .expect_err("503 every time")
            })
        });
        let all = counters(&snapshotter);
        let venue = Scheme::KeywardV1.name();
        let outcome = outcome(Some(err.kind()));
        assert_eq!(outcome, "server", "{err}");
        assert_eq!(
            counter(
                &all,
                "keyward_requests_total",
                &[("venue", venue), ("outcome", outcome)]
            ),
            Some(1)
        );
        let attempts =
            counter(&all, "keyward_request_attempts_total", &[("venue", venue)]).unwrap_or(0);
        let retries = counter(&all, "keyward_retries_total", &[("venue", venue)]);
        assert!(attempts >= 2, "a 503 on a read is retried: {attempts}");
        assert_eq!(retries, Some(attempts - 1));
    }

    #[test]
    fn every_error_kind_has_its_own_label() {
        let kinds = [
            ErrorKind::Authentication,
            ErrorKind::Permission,
            ErrorKind::RateLimited,
            ErrorKind::Timestamp,
            ErrorKind::Nonce,
            ErrorKind::InsufficientFunds,
            ErrorKind::Rejected,
            ErrorKind::Server,
            ErrorKind::UnknownOutcome,
            ErrorKind::UnexpectedStatus,
            ErrorKind::RateLimitWait,
            ErrorKind::Timeout,
            ErrorKind::Transport,
            ErrorKind::Decode,
            ErrorKind::CircuitOpen,
            ErrorKind::Config,
            ErrorKind::Credentials,
            ErrorKind::Signing,
        ];
        let mut labels: Vec<&str> = kinds.iter().map(|k| outcome(Some(*k))).collect();
        labels.push(outcome(None));
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), kinds.len() + 1);
    }
}
