//! BitMEX: errors 401 `{"error":{"message":...,"name":"HTTPError"}}`, WebSocket
//! `authKeyExpires`, usage headers `x-ratelimit-remaining` and `x-ratelimit-limit`.
//!
//! Errors as BitMEX answers them (<https://www.bitmex.com/app/apiKeysUsage>, and BitMEX's own
//! connector's handling of them, <https://github.com/BitMEX/api-connectors>): HTTP 401 with
//! `error.message` "Signature not valid.", "Invalid API Key." or "This request has expired -
//! `expires` is in the past." and `error.name` "HTTPError"; 429 `RateLimitError`.

use axum::response::Response;
use keyward_signing::Scheme;
use keyward_signing::verify::VerifyError;
use serde_json::{Value, json};

use super::{Echo, Endpoint, Rules, VenueCtx};
use crate::ratelimit::Usage;
use crate::reply::{json, set_number};
use crate::ws::WsConn;

pub(crate) struct Bitmex;

fn message_of(err: &VerifyError) -> (u16, &'static str) {
    match err {
        VerifyError::Malformed(_) => (
            400,
            "Missing or malformed api-key, api-expires or api-signature.",
        ),
        VerifyError::UnknownKey => (401, "Invalid API Key."),
        VerifyError::BadSignature => (401, "Signature not valid."),
        VerifyError::CacheFull => (503, "Service unavailable."),
        _ => (401, "This request has expired - `expires` is in the past."),
    }
}

impl Rules for Bitmex {
    fn name(&self) -> &'static str {
        "bitmex"
    }

    fn scheme(&self) -> Scheme {
        Scheme::Bitmex
    }

    fn endpoint(&self, method: &str, path: &str) -> Option<Endpoint> {
        match (method, path) {
            ("GET", "/api/v1" | "/api/v1/") => Some(Endpoint::Time),
            ("GET", "/api/v1/user/wallet") => Some(Endpoint::Balance),
            ("POST", "/api/v1/order") => Some(Endpoint::Place),
            ("DELETE", "/api/v1/order") => Some(Endpoint::Cancel),
            _ => None,
        }
    }

    fn time(&self, now_ms: u64) -> Response {
        json(
            200,
            json!({"name": "BitMEX API", "version": "testnet", "timestamp": now_ms}),
        )
    }

    fn success(&self, endpoint: Endpoint, e: &Echo) -> Response {
        let body = match endpoint {
            Endpoint::Balance => json!({"account": 1, "currency": "XBt", "amount": 100_000_000}),
            Endpoint::Cancel => json!([{"orderID": e.field("orderID"), "ordStatus": "Canceled"}]),
            _ => {
                json!({"orderID": format!("00000000-0000-0000-0000-{:012}", e.id.parse::<u64>().unwrap_or(0)),
                "clOrdID": e.field("clOrdID"), "symbol": e.field("symbol"), "side": e.field("side"),
                "orderQty": e.field("orderQty"), "ordStatus": "New"})
            }
        };
        json(200, body)
    }

    fn reject(&self, err: &VerifyError, _now_ms: u64) -> Response {
        let (status, msg) = message_of(err);
        json(
            status,
            json!({"error": {"message": msg, "name": "HTTPError"}}),
        )
    }

    fn too_many(&self) -> Response {
        json(
            429,
            json!({"error": {"message": "Rate limit exceeded, retry later.", "name": "RateLimitError"}}),
        )
    }

    fn usage_headers(&self, usage: &Usage, _order: bool, response: &mut Response) {
        set_number(response, "x-ratelimit-limit", u64::from(usage.limit));
        set_number(
            response,
            "x-ratelimit-remaining",
            u64::from(usage.remaining()),
        );
        set_number(response, "x-ratelimit-reset", usage.reset_s);
    }

    fn ws_message(&self, ctx: &VenueCtx, _conn: &WsConn, message: &Value) -> Option<Value> {
        if message.get("op").and_then(Value::as_str)? != "authKeyExpires" {
            return None;
        }
        Some(match ctx.verifier.verify_ws(message) {
            Ok(_) => json!({"success": true, "request": message}),
            Err(err) => {
                let (status, msg) = message_of(&err);
                json!({"status": status, "error": msg, "meta": {}, "request": message})
            }
        })
    }
}
