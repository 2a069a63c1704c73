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
