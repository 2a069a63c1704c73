//! Deribit: JSON-RPC over HTTP (`deri-hmac-sha256` header) with errors as HTTP 400 and a
//! JSON-RPC error body, WebSocket `public/auth` with `client_signature`.

use axum::response::Response;
use keyward_signing::Scheme;
use keyward_signing::verify::VerifyError;
use serde_json::{Value, json};

use super::{Echo, Endpoint, Rules, VenueCtx};
use crate::reply::json;
use crate::ws::WsConn;

pub(crate) struct Deribit;

/// The JSON-RPC error code and message, as Deribit's error list reads
/// (<https://docs.deribit.com/#rpc-error-codes>, the same table at
/// <https://docs.deribit.com/articles/errors>): 13009 `unauthorized` is "wrong or expired
/// authorization token or bad signature", 13004 `invalid_credentials` is a key (client id)
/// that does not exist, 10028 `too_many_requests`, 11050 `bad_request`. A stale timestamp keeps
/// 13004 with a message that says so (the list names no code of its own for it).
fn error_of(err: &VerifyError) -> (i64, &'static str) {
    match err {
        VerifyError::Malformed(_) => (11050, "bad_request"),
        VerifyError::BadSignature => (13009, "unauthorized"),
        VerifyError::Expired { .. } | VerifyError::TooFarInFuture { .. } => {
            (13004, "invalid_credentials: timestamp out of window")
        }
        VerifyError::Replayed | VerifyError::StaleNonce => {
            (13004, "invalid_credentials: nonce reused")
        }
        VerifyError::CacheFull => (10028, "too_many_requests"),
        _ => (13004, "invalid_credentials"),
    }
}

fn rpc(result: Value, now_ms: u64) -> Value {
    let us = now_ms.saturating_mul(1000);
    json!({"jsonrpc": "2.0", "result": result, "usIn": us, "usOut": us, "usDiff": 0, "testnet": true})
}

/// The side of an order, from its endpoint (`/private/buy` or `/private/sell`).
fn direction(path: &str) -> &'static str {
    if path.ends_with("/sell") {
        "sell"
    } else {
        "buy"
    }
}

impl Rules for Deribit {
    fn name(&self) -> &'static str {
        "deribit"
    }

    fn scheme(&self) -> Scheme {
        Scheme::Deribit
    }

    fn endpoint(&self, method: &str, path: &str) -> Option<Endpoint> {
        match (method, path) {
            ("GET", "/api/v2/public/get_time") => Some(Endpoint::Time),
            ("GET", "/api/v2/private/get_account_summary") => Some(Endpoint::Balance),
            ("GET", "/api/v2/private/buy" | "/api/v2/private/sell") => Some(Endpoint::Place),
            ("GET", "/api/v2/private/cancel") => Some(Endpoint::Cancel),
            _ => None,
        }
    }

    fn time(&self, now_ms: u64) -> Response {
        json(200, rpc(json!(now_ms), now_ms))
    }

    fn success(&self, endpoint: Endpoint, e: &Echo) -> Response {
        let result = match endpoint {
            Endpoint::Balance => {
                json!({"currency": e.field("currency"), "balance": 10.0, "equity": 10.0,
                "available_funds": 10.0})
            }
            Endpoint::Cancel => {
                json!({"order_id": e.field("order_id"), "order_state": "cancelled"})
            }
            _ => {
                json!({"order": {"order_id": format!("TEST-{}", e.id), "label": e.field("label").as_str().unwrap_or(""),
                "instrument_name": e.field("instrument_name"),
                "amount": e.field("amount"), "direction": direction(&e.path), "order_state": "open"}, "trades": []})
            }
        };
        json(200, rpc(result, e.now_ms))
    }

    fn reject(&self, err: &VerifyError, now_ms: u64) -> Response {
        let (code, message) = error_of(err);
        let us = now_ms.saturating_mul(1000);
        json(
            400,
            json!({"jsonrpc": "2.0", "error": {"code": code, "message": message},
            "usIn": us, "usOut": us, "usDiff": 0, "testnet": true}),
        )
    }

    fn too_many(&self) -> Response {
        json(
            429,
            json!({"jsonrpc": "2.0", "error": {"code": 10028, "message": "too_many_requests"}, "testnet": true}),
        )
    }

    fn ws_message(&self, ctx: &VenueCtx, _conn: &WsConn, message: &Value) -> Option<Value> {
        let id = message.get("id").cloned().unwrap_or(Value::Null);
        let now = keyward_signing::Clock::now_ms(&ctx.clock);
        match message.get("method").and_then(Value::as_str)? {
            "public/test" => {
                Some(json!({"jsonrpc": "2.0", "id": id, "result": {"version": "testnet"}}))
            }
            "public/get_time" => Some(json!({"jsonrpc": "2.0", "id": id, "result": now})),
            "public/auth" => Some(match ctx.verifier.verify_ws(message) {
                Ok(_) => json!({"jsonrpc": "2.0", "id": id, "result": {
                    "access_token": format!("testnet-access-{}", ctx.next_id()), "expires_in": 31_536_000,
                    "refresh_token": format!("testnet-refresh-{}", ctx.next_id()),
                    "scope": "connection mainaccount", "token_type": "bearer"}}),
                Err(err) => {
                    let (code, message) = error_of(&err);
                    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
                }
            }),
            _ => None,
        }
    }
}
