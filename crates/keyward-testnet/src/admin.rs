//! The admin listener: `POST /faults` (JSON with the fields of [`Faults`]) applies faults,
//! `DELETE /faults` removes them all.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use serde_json::json;

use crate::faults::{FaultControl, Faults};
use crate::reply;

/// `POST /faults`.
pub(crate) async fn set(State(faults): State<Arc<FaultControl>>, body: Bytes) -> Response {
    match serde_json::from_slice::<Faults>(&body) {
        Ok(f) => {
            faults.apply(&f);
            reply::json(200, json!({"ok": true}))
        }
        Err(e) => reply::json(400, json!({"error": format!("invalid faults: {e}")})),
    }
}

/// `DELETE /faults`.
pub(crate) async fn clear(State(faults): State<Arc<FaultControl>>) -> Response {
    faults.clear();
    reply::json(200, json!({"ok": true}))
}
