//! The service schemes under `/svc/<scheme>/`: any method and path below it; 200 `{"key_id"}`
//! or 401 `{"error": KIND}`; WebSocket auth at `/svc/<scheme>/ws`: an auth message for
//! hmac-concat, the signed upgrade request itself for keyward-v1 and hmac-newline-v0 (which have
//! no auth message: a refused upgrade gets the same 401 as any request).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use keyward_signing::Scheme;
use keyward_signing::verify::Verifier;
use serde_json::{Value, json};

use crate::faults::FaultControl;
use crate::reply;
use crate::venues::to_request;
use crate::ws::{Answer, session};

/// The verifiers of the service schemes, by name.
pub(crate) struct Svc {
    pub(crate) verifiers: HashMap<String, Verifier>,
    pub(crate) faults: Arc<FaultControl>,
}

/// The scheme named by the first segment after `/svc/`.
fn scheme_of(path: &str) -> &str {
    path.strip_prefix("/svc/")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("")
}

/// Any request under `/svc/<scheme>/`.
pub(crate) async fn http(
    State(svc): State<Arc<Svc>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(verifier) = svc.verifiers.get(scheme_of(uri.path())) else {
        return reply::json(404, json!({"error": "unknown_scheme"}));
    };
    let req = to_request(&method, &uri, &headers, &body);
    match verifier.verify_async(&req).await {
        Ok(v) => reply::json(200, json!({"key_id": v.key_id})),
        Err(err) => reply::json(err.status(), json!({"error": err.kind()})),
    }
}

/// `/svc/<scheme>/ws`: auth messages as `Signer::ws_auth` builds them (hmac-concat), or the
/// signed upgrade request (the schemes without an auth message).
pub(crate) async fn ws(
    State(svc): State<Arc<Svc>>,
    Path(scheme): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Some(verifier) = svc.verifiers.get(&scheme) else {
        return reply::json(404, json!({"error": "unknown_scheme"}));
    };
    if verifier.scheme() != Scheme::HmacConcat {
        let req = to_request(&method, &uri, &headers, &Bytes::new());
        if let Err(err) = verifier.verify_async(&req).await {
            return reply::json(err.status(), json!({"error": err.kind()}));
        }
    }
    let drops = svc.faults.drops();
    let name = scheme.clone();
    upgrade.on_upgrade(move |socket| {
        let answer: Answer = Box::new(move |msg: Value| {
            let (svc, scheme) = (svc.clone(), scheme.clone());
            Box::pin(async move { ws_answer(&svc, &scheme, &msg).await })
        });
        session(socket, drops, name, answer, None)
    })
}

/// The answer to a service scheme's WebSocket message; auth is verified with
/// `verify_ws_async`, so a shared replay cache works.
async fn ws_answer(svc: &Svc, scheme: &str, message: &Value) -> Option<Value> {
    match message.get("op").and_then(Value::as_str)? {
        "ping" => Some(json!({"op": "pong"})),
        "auth" => Some(match svc.verifiers.get(scheme) {
            Some(verifier) => match verifier.verify_ws_async(message).await {
                Ok(_) => json!({"op": "auth", "success": true}),
                Err(err) => json!({"op": "auth", "success": false, "error": err.kind()}),
            },
            None => json!({"op": "auth", "success": false, "error": "malformed"}),
        }),
        _ => None,
    }
}
