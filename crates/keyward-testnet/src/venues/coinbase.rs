//! Coinbase Exchange (REST and WebSocket `subscribe` with a signature) and Coinbase Advanced
//! Trade (REST, with legacy HMAC keys or CDP keys: an `Authorization: Bearer` JWT). Errors
//! `{"message": ...}`.
//!
//! Coinbase answers an authentication failure with HTTP 401 and a message
//! (<https://docs.cdp.coinbase.com/exchange/docs/rest-auth>: the timestamp "must be within 30
//! seconds of the api service time or your request will be considered expired and rejected"):
//! "invalid signature", "request timestamp expired", "Invalid API Key".

use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::response::Response;
use keyward_signing::verify::VerifyError;
use keyward_signing::{Request, Scheme};
use serde_json::{Value, json};

use super::{Echo, Endpoint, Rules, SecretForm, VenueCtx, last_segment};
use crate::reply::{iso8601_ms as iso, json};
use crate::ws::WsConn;

pub(crate) struct CoinbaseExchange;
pub(crate) struct CoinbaseAdvanced;

fn reject(err: &VerifyError) -> Response {
    let (status, msg) = match err {
        VerifyError::Malformed(_) => (
            400,
            "invalid request: authentication headers missing or malformed",
        ),
        VerifyError::UnknownKey => (401, "Invalid API Key"),
        VerifyError::BadSignature => (401, "invalid signature"),
        VerifyError::CacheFull => (503, "service unavailable"),
        _ => (401, "request timestamp expired"),
    };
    json(status, json!({"message": msg}))
}

/// Advanced Trade's answer to a request whose CDP JWT does not authenticate it (unknown key,
/// signature, lifetime, or a `uri` claim naming another method, host or path): HTTP 401 with
/// the plain-text body `Unauthorized`, no JSON and no reason, as users of the venue see it
/// ("API Response Status Code: 401 API Response Text: Unauthorized",
/// <https://github.com/ccxt/ccxt/issues/26300>; the official SDK raises "401 Client Error:
/// Unauthorized", <https://github.com/coinbase/coinbase-advanced-py/issues/56>). Coinbase's
/// JWT guide (<https://docs.cdp.coinbase.com/coinbase-app/authentication-authorization/api-key-authentication>)
/// documents the token, not the refusal's body.
fn jwt_unauthorized(err: &VerifyError) -> Response {
    if *err == VerifyError::CacheFull {
        return reject(err);
    }
    (
        StatusCode::UNAUTHORIZED,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "Unauthorized",
    )
        .into_response()
}

/// Whether the request authenticates with a CDP JWT.
fn bears_jwt(req: &Request) -> bool {
    req.header("Authorization")
        .is_some_and(|v| v.starts_with("Bearer "))
}

fn too_many() -> Response {
    json(429, json!({"message": "Rate limit exceeded"}))
}

impl Rules for CoinbaseExchange {
    fn name(&self) -> &'static str {
        "coinbase-exchange"
    }

    fn scheme(&self) -> Scheme {
        Scheme::CoinbaseExchange
    }

    fn needs_passphrase(&self) -> bool {
        true
    }

    fn secret_form(&self) -> SecretForm {
        SecretForm::Base64
    }

    fn endpoint(&self, method: &str, path: &str) -> Option<Endpoint> {
        match (method, path) {
            ("GET", "/time") => Some(Endpoint::Time),
            ("GET", "/accounts") => Some(Endpoint::Balance),
            ("POST", "/orders") => Some(Endpoint::Place),
            ("DELETE", p) if p.starts_with("/orders/") && p.len() > "/orders/".len() => {
                Some(Endpoint::Cancel)
            }
            _ => None,
        }
    }

    fn time(&self, now_ms: u64) -> Response {
        #[allow(clippy::cast_precision_loss)] // Epoch milliseconds fit an f64 exactly until 2255.
        let epoch = now_ms as f64 / 1000.0;
        json(200, json!({"iso": iso(now_ms), "epoch": epoch}))
    }

    fn success(&self, endpoint: Endpoint, e: &Echo) -> Response {
        match endpoint {
            Endpoint::Balance => json(
                200,
                json!([{"id": "acc-usd", "currency": "USD", "balance": "10000.00",
                "available": "10000.00", "hold": "0.00"}]),
            ),
            Endpoint::Cancel => json(200, Value::from(last_segment(&e.path))),
            _ => json(
                200,
                json!({"id": format!("order-{}", e.id), "product_id": e.field("product_id"),
                "side": e.field("side"), "type": e.field("type"), "status": "pending",
                "created_at": iso(e.now_ms)}),
            ),
        }
    }

    fn reject(&self, err: &VerifyError, _now_ms: u64) -> Response {
        reject(err)
    }

    fn too_many(&self) -> Response {
        too_many()
    }

    fn ws_message(&self, ctx: &VenueCtx, _conn: &WsConn, message: &Value) -> Option<Value> {
        if message.get("type").and_then(Value::as_str)? != "subscribe" {
            return None;
        }
        Some(match ctx.verifier.verify_ws(message) {
            Ok(_) => {
                json!({"type": "subscriptions", "channels": message.get("channels").cloned().unwrap_or(json!([]))})
            }
            Err(err) => {
                let reason = match err {
                    VerifyError::UnknownKey => "Invalid API Key",
                    VerifyError::BadSignature => "invalid signature",
                    VerifyError::Malformed(_) => "missing authentication fields",
                    _ => "request timestamp expired",
                };
                json!({"type": "error", "message": "Authentication Failed", "reason": reason})
            }
        })
    }
}

impl Rules for CoinbaseAdvanced {
    fn name(&self) -> &'static str {
        "coinbase-advanced"
    }

    fn scheme(&self) -> Scheme {
        Scheme::CoinbaseAdvanced
    }

    fn endpoint(&self, method: &str, path: &str) -> Option<Endpoint> {
        match (method, path) {
            ("GET", "/api/v3/brokerage/time") => Some(Endpoint::Time),
            ("GET", "/api/v3/brokerage/accounts") => Some(Endpoint::Balance),
            ("POST", "/api/v3/brokerage/orders") => Some(Endpoint::Place),
            ("POST", "/api/v3/brokerage/orders/batch_cancel") => Some(Endpoint::Cancel),
            _ => None,
        }
    }

    fn time(&self, now_ms: u64) -> Response {
        json(
            200,
            json!({"iso": iso(now_ms), "epochSeconds": (now_ms / 1000).to_string(),
            "epochMillis": now_ms.to_string()}),
        )
    }

    fn success(&self, endpoint: Endpoint, e: &Echo) -> Response {
        let body = match endpoint {
            Endpoint::Balance => json!({"accounts": [{"uuid": "acc-usd", "currency": "USD",
                "available_balance": {"value": "10000", "currency": "USD"}}], "has_next": false}),
            Endpoint::Cancel => {
                let ids = e.field("order_ids");
                let results: Vec<Value> = ids.as_array().cloned().unwrap_or_default().into_iter()
                    .map(|id| json!({"success": true, "failure_reason": "UNKNOWN_CANCEL_FAILURE_REASON", "order_id": id}))
                    .collect();
                json!({"results": results})
            }
            // Advanced Trade requires a client_order_id on every order
            // (<https://docs.cdp.coinbase.com/advanced-trade/reference/retailbrokerageapi_postorder>).
            _ if e
                .field("client_order_id")
                .as_str()
                .is_none_or(str::is_empty) =>
            {
                return json(
                    400,
                    json!({"error": "INVALID_ARGUMENT",
                    "error_details": "client_order_id is required",
                    "message": "client_order_id is required"}),
                );
            }
            _ => {
                json!({"success": true, "success_response": {"order_id": format!("order-{}", e.id),
                "product_id": e.field("product_id"), "side": e.field("side"),
                "client_order_id": e.field("client_order_id")}})
            }
        };
        json(200, body)
    }

    fn reject(&self, err: &VerifyError, _now_ms: u64) -> Response {
        reject(err)
    }

    /// A CDP JWT's refusal is the bare 401 (see [`jwt_unauthorized`]); a legacy HMAC key's
    /// keeps the `{"message": ...}` shape.
    fn reject_request(&self, err: &VerifyError, req: &Request, _now_ms: u64) -> Response {
        if bears_jwt(req) {
            jwt_unauthorized(err)
        } else {
            reject(err)
        }
    }

    fn too_many(&self) -> Response {
        too_many()
    }

    /// A `subscribe` authenticated by a CDP key's JWT (one without a `uri` claim), as
    /// Advanced Trade documents it
    /// (<https://docs.cdp.coinbase.com/advanced-trade/docs/ws-auth>): accepted with a
    /// `subscriptions` message (<https://docs.cdp.coinbase.com/advanced-trade/docs/ws-channels>),
    /// refused with `{"type":"error","message":"authentication failure"}` (what the venue sends,
    /// as logged in <https://github.com/coinbase/coinbase-advanced-py/issues/19>). Legacy HMAC
    /// keys have no WebSocket auth message: a subscribe without a JWT is refused the same way.
    fn ws_message(&self, ctx: &VenueCtx, _conn: &WsConn, message: &Value) -> Option<Value> {
        if message.get("type").and_then(Value::as_str)? != "subscribe" {
            return None;
        }
        let refused = json!({"type": "error", "message": "authentication failure"});
        if message.get("jwt").is_none() {
            return Some(refused);
        }
        Some(match ctx.verifier.verify_ws(message) {
            Ok(_) => {
                let channel = message
                    .get("channel")
                    .and_then(Value::as_str)
                    .unwrap_or("user");
                let products = message.get("product_ids").cloned().unwrap_or(json!([]));
                let now = keyward_signing::Clock::now_ms(&ctx.clock);
                json!({"channel": "subscriptions", "client_id": "", "timestamp": iso(now),
                    "sequence_num": 0, "events": [{"subscriptions": {channel: products}}]})
            }
            Err(_) => refused,
        })
    }
}
