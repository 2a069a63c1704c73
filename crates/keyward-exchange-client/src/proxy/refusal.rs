//! The proxy's own refusals: a status code and a JSON body
//! `{"keyward_error": {"kind": ..., "message": ...}}` (plus `client_order_id` for an unknown
//! outcome), and the `X-Keyward-Refusal: <kind>` header, so a bot tells them from the venue's
//! answers, which always pass through as the venue gave them.
//!
//! | kind | status | when |
//! | --- | --- | --- |
//! | `rate_limit_wait` | 429 + `Retry-After` | the venue's rate limit would need a wait past the ceiling |
//! | `circuit_open` | 503 + `Retry-After` | the breaker is open after repeated venue failures |
//! | `unknown_outcome` | 502 | a write may have been executed; look the order up (by `client_order_id`) |
//! | `venue_timeout` | 504 | no answer in time |
//! | `venue_unreachable` | 502 | the venue could not be reached, or its answer could not be read |
//! | `bad_request` | 400 | a method, path, content type or parameter the proxy cannot send |
//! | `carries_credentials` | 400 | plain mode: the request carries a signature or an API key |
//! | `unauthorized` | 401 | the access token is missing or wrong |
//! | `cross_origin` | 403 | a web page's request (an `Origin` not on this machine) or a non-loopback `Host` (a rebound name) |
//! | `body_too_large` | 413 | the request body is over the ceiling |
//! | `busy` | 503 | every slot stayed taken for the queue wait |
//! | `credentials_unavailable` | 503 | the secret store could not give the credentials |
//! | `not_served` | 501 | the proxy has no rules for this venue |
//! | `ws_not_served` | 501 | a WebSocket upgrade, for a venue whose private streams need no auth message (the message says how to reach them) or a proxy without a WebSocket base URL |
//! | `ws_auth_rejected` | 502 | the venue refused the WebSocket authentication with the stored key |
//! | `internal` | 500 | anything else (a signing failure) |

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::json;

use crate::error::Error;
use crate::ws::WsError;

/// One refusal of the proxy's own.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// The HTTP status.
    pub status: StatusCode,
    /// The kind (the table above).
    pub kind: &'static str,
    /// A sentence for a person; never key material.
    pub message: String,
    /// For `Retry-After`, when known.
    pub retry_after: Option<Duration>,
    /// The client order id of an unknown outcome.
    pub client_order_id: Option<String>,
}

impl Refusal {
    pub(crate) fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            message: message.into(),
            retry_after: None,
            client_order_id: None,
        }
    }

    pub(crate) fn busy() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "every slot of the proxy stayed taken; try again",
        )
    }

    pub(crate) fn venue_not_served() -> Self {
        Self::new(
            StatusCode::NOT_IMPLEMENTED,
            "not_served",
            "the signing proxy has no rules for this venue",
        )
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// The refusal for a client error of [`RestClient::relay`](crate::RestClient::relay).
    pub fn from_error(error: &Error) -> Self {
        let message = error.to_string();
        match error {
            Error::RateLimitWait { wait, .. } => Self {
                retry_after: Some(*wait),
                ..Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limit_wait", message)
            },
            Error::CircuitOpen { retry_after, .. } => Self {
                retry_after: *retry_after,
                ..Self::new(StatusCode::SERVICE_UNAVAILABLE, "circuit_open", message)
            },
            Error::UnknownOutcome {
                client_order_id, ..
            } => Self {
                client_order_id: client_order_id.clone(),
                ..Self::new(StatusCode::BAD_GATEWAY, "unknown_outcome", message)
            },
            Error::Timeout { .. } => {
                Self::new(StatusCode::GATEWAY_TIMEOUT, "venue_timeout", message)
            }
            Error::Transport { .. }
            | Error::Decode { .. }
            | Error::UnexpectedStatus { .. }
            | Error::Venue { .. } => {
                Self::new(StatusCode::BAD_GATEWAY, "venue_unreachable", message)
            }
            Error::Config { .. } => Self::bad_request(message),
            Error::Credentials { .. } => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "credentials_unavailable",
                message,
            ),
            _ => Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message),
        }
    }

    /// The refusal of a WebSocket upgrade the proxy could not open at the venue.
    pub fn from_ws_error(error: &WsError) -> Self {
        let message = error.to_string();
        match error {
            WsError::AuthRejected { .. } => {
                Self::new(StatusCode::BAD_GATEWAY, "ws_auth_rejected", message)
            }
            WsError::AckTimeout { .. } => {
                Self::new(StatusCode::GATEWAY_TIMEOUT, "venue_timeout", message)
            }
            WsError::Connect { .. }
            | WsError::ClosedDuringAuth { .. }
            | WsError::ClockSync { .. } => {
                Self::new(StatusCode::BAD_GATEWAY, "venue_unreachable", message)
            }
            WsError::Credentials { .. } => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "credentials_unavailable",
                message,
            ),
            WsError::Unsupported { .. } => {
                Self::new(StatusCode::NOT_IMPLEMENTED, "ws_not_served", message)
            }
            WsError::InvalidUrl { .. } => Self::bad_request(message),
            _ => Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message),
        }
    }

    /// The HTTP response: status, JSON body, `X-Keyward-Refusal` and `Retry-After` (whole
    /// seconds, rounded up).
    pub fn into_response(self) -> Response {
        let mut error = json!({"kind": self.kind, "message": self.message});
        if let Some(id) = &self.client_order_id {
            error["client_order_id"] = json!(id);
        }
        let body = json!({ "keyward_error": error }).to_string();
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert("x-keyward-refusal", HeaderValue::from_static(self.kind));
        if let Some(wait) = self.retry_after {
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        response
    }
}
