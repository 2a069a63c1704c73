//! axum integration (feature `axum`): verify incoming requests in one line.
//!
//! ```
//! use std::sync::Arc;
//! use axum::{Router, routing::post};
//! use keyward_signing::axum::VerifiedRequest;
//! use keyward_signing::verify::{StaticKeys, Verifier};
//! use keyward_signing::{Credentials, Scheme};
//!
//! async fn place_order(req: VerifiedRequest) -> String {
//!     format!("order from {}", req.verified.key_id)
//! }
//!
//! let keys = StaticKeys::new().with(Credentials::new("svc-a", "shared-secret".into()));
//! let verifier = Arc::new(Verifier::new(Scheme::KeywardV1, Arc::new(keys)));
//! let app: Router = Router::new().route("/orders", post(place_order)).with_state(verifier);
//! ```
//!
//! The extractor verifies with [`Verifier::verify_async`], so a verifier whose replay cache is
//! shared by several replicas (`keyward_signing::redis::RedisReplayCache`, feature `redis`)
//! works here as it is.
//!
//! A rejected request gets the error's status (401, or 503 when replay protection is at
//! capacity or its shared memory is unavailable: retry later) and a JSON body
//! `{"error": KIND, "message": TEXT}`, where KIND is one of `malformed`, `unknown_key`,
//! `bad_signature`, `expired`, `replayed`, `signed_before_restart`, `unavailable`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRef, FromRequest, OriginalUri};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::request::Request;
use crate::verify::{Verified, Verifier, VerifyError};

/// The largest body the extractor reads, in bytes (axum's own default limit).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// A request that passed verification, with the request as it was received.
#[derive(Debug)]
pub struct VerifiedRequest {
    /// Who signed it.
    pub verified: Verified,
    /// The request as received: method, path, query, headers and body bytes.
    pub request: Request,
}

/// Why the extractor refused a request; answers with the error's status and a JSON body.
#[derive(Debug)]
pub struct VerifyRejection(pub VerifyError);

impl IntoResponse for VerifyRejection {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::UNAUTHORIZED);
        let body = serde_json::json!({"error": self.0.kind(), "message": self.0.to_string()});
        (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response()
    }
}

impl<S> FromRequest<S> for VerifiedRequest
where
    S: Send + Sync,
    Arc<Verifier>: FromRef<S>,
{
    type Rejection = VerifyRejection;

    async fn from_request(
        req: axum::extract::Request<Body>,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let verifier = Arc::<Verifier>::from_ref(state);
        let (parts, body) = req.into_parts();
        // Inside a nested router the URI is stripped of its prefix; the client signed the
        // original one.
        let uri = parts
            .extensions
            .get::<OriginalUri>()
            .map_or(&parts.uri, |original| &original.0);
        let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
            .await
            .map_err(|_| {
                VerifyRejection(VerifyError::Malformed(format!(
                    "the body could not be read or is larger than {MAX_BODY_BYTES} bytes"
                )))
            })?;
        let request = Request {
            method: parts.method.as_str().to_owned(),
            path: uri.path().to_owned(),
            query: uri.query().unwrap_or_default().to_owned(),
            body: bytes.to_vec(),
            // A header value that is not visible ASCII cannot be part of any scheme's signature.
            headers: parts
                .headers
                .iter()
                .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
                .collect(),
        };
        // The shared replay cache (if any) answers only asynchronously; an in-memory one
        // decides exactly as `verify` would.
        let verified = verifier
            .verify_async(&request)
            .await
            .map_err(VerifyRejection)?;
        Ok(Self { verified, request })
    }
}
