//! The admin listener: `POST /faults` (JSON with the fields of [`Faults`]) applies faults,
//! `DELETE /faults` removes them all.
//!
//! `POST` takes `Content-Type: application/json` only (415 otherwise): a web page can send a
//! form or `text/plain` to a loopback port with no CORS preflight, while `application/json`
//! needs one, which this listener never grants, so a browser cannot inject faults.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use axum::response::Response;
use serde_json::json;

use crate::faults::{FaultControl, Faults};
use crate::reply;

/// `POST /faults`.
pub(crate) async fn set(
    State(faults): State<Arc<FaultControl>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !is_json(&headers) {
        return reply::json(
            415,
            json!({"error": "POST /faults takes Content-Type: application/json"}),
        );
    }
    match serde_json::from_slice::<Faults>(&body) {
        Ok(f) => {
            faults.apply(&f);
            reply::json(200, json!({"ok": true}))
        }
        Err(e) => reply::json(400, json!({"error": format!("invalid faults: {e}")})),
    }
}

/// Whether the request says its body is JSON (`application/json`, parameters allowed).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

/// `DELETE /faults`.
pub(crate) async fn clear(State(faults): State<Arc<FaultControl>>) -> Response {
    faults.clear();
    reply::json(200, json!({"ok": true}))
}
