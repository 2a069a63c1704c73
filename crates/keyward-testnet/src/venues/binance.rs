//! Binance spot: REST at `/api/v3/...`, the WebSocket API at `/ws` (signed requests), errors
//! `{"code":-1022,"msg":...}`, usage headers `X-MBX-USED-WEIGHT-1M` and `X-MBX-ORDER-COUNT-10S`.
//!
//! Error codes as Binance documents them
//! (<https://developers.binance.com/docs/binance-spot-api-docs/errors>): -1022 `INVALID_SIGNATURE`
//! "Signature for this request is not valid.", -2015 `REJECTED_MBX_KEY` "Invalid API-key, IP, or
//! permissions for action." (HTTP 401), -1021 `INVALID_TIMESTAMP` "Timestamp for this request is
//! outside of the recvWindow.", -2014 `BAD_API_KEY_FMT` "API-key format invalid." (answered
//! here for an unknown `X-MBX-APIKEY` that is not the letters and digits Binance's keys are
//! made of), -1102 `MANDATORY_PARAM_EMPTY_OR_MALFORMED`, -1003
//! `TOO_MANY_REQUESTS`, -1008 `SERVER_BUSY`.

use axum::response::Response;
use keyward_signing::verify::VerifyError;
use keyward_signing::{Request, Scheme};
use serde_json::{Value, json};

use super::{Echo, Endpoint, Rules, VenueCtx};
use crate::ratelimit::Usage;
use crate::reply::{json, set_number};
use crate::ws::WsConn;

pub(crate) struct Binance;

/// A parameter Binance answers as a JSON number (`orderId`): the query's text, as a number when
/// it is one.
fn number(v: Value) -> Value {
    v.as_str()
        .and_then(|s| s.parse::<u64>().ok())
        .map_or(v, Value::from)
}

/// A Binance error: HTTP status, code and message.
fn error_of(err: &VerifyError) -> (u16, i64, &'static str) {
    match err {
        VerifyError::Malformed(_) => (
            400,
            -1102,
            "A mandatory parameter was not sent, was empty/null, or malformed.",
        ),
        VerifyError::UnknownKey => (
            401,
            -2015,
            "Invalid API-key, IP, or permissions for action.",
        ),
        VerifyError::BadSignature => (400, -1022, "Signature for this request is not valid."),
        VerifyError::CacheFull => (
            503,
            -1008,
            "Server is currently overloaded with other requests.",
        ),
        _ => (
            400,
            -1021,
            "Timestamp for this request is outside of the recvWindow.",
        ),
    }
}

impl Rules for Binance {
    fn name(&self) -> &'static str {
        "binance"
    }

    fn scheme(&self) -> Scheme {
        Scheme::Binance
    }

    fn endpoint(&self, method: &str, path: &str) -> Option<Endpoint> {
        match (method, path) {
            ("GET", "/api/v3/time") => Some(Endpoint::Time),
            ("GET", "/api/v3/account") => Some(Endpoint::Balance),
            ("POST", "/api/v3/order") => Some(Endpoint::Place),
            ("DELETE", "/api/v3/order") => Some(Endpoint::Cancel),
            _ => None,
        }
    }

    fn time(&self, now_ms: u64) -> Response {
        json(200, json!({"serverTime": now_ms}))
    }

    fn success(&self, endpoint: Endpoint, e: &Echo) -> Response {
        let body = match endpoint {
            Endpoint::Balance => json!({
                "makerCommission": 10, "takerCommission": 10, "canTrade": true,
                "accountType": "SPOT", "updateTime": e.now_ms,
                "balances": [{"asset": "BTC", "free": "1.00000000", "locked": "0.00000000"},
                             {"asset": "USDT", "free": "10000.00000000", "locked": "0.00000000"}],
            }),
            Endpoint::Cancel => json!({
                "symbol": e.field("symbol"), "orderId": number(e.field("orderId")),
                "origClientOrderId": e.field("origClientOrderId"), "status": "CANCELED",
            }),
            _ => json!({
                "symbol": e.field("symbol"), "orderId": e.id.parse::<u64>().unwrap_or(0),
                "clientOrderId": e.field("newClientOrderId"), "transactTime": e.now_ms,
                "side": e.field("side"), "type": e.field("type"), "status": "NEW",
            }),
        };
        json(200, body)
    }

    fn reject(&self, err: &VerifyError, _now_ms: u64) -> Response {
        let (status, code, msg) = error_of(err);
        json(status, json!({"code": code, "msg": msg}))
    }

    /// An unknown key whose text cannot be a Binance API key is -2014, any other unknown key
    /// -2015 (the same key, known or not, with a wrong signature is -1022).
    fn reject_request(&self, err: &VerifyError, req: &Request, now_ms: u64) -> Response {
        let key = req.header("X-MBX-APIKEY").unwrap_or("");
        if *err == VerifyError::UnknownKey && !key.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return json(
                401,
                json!({"code": -2014, "msg": "API-key format invalid."}),
            );
        }
        self.reject(err, now_ms)
    }

    fn too_many(&self) -> Response {
        json(
            429,
            json!({"code": -1003, "msg": "Too many requests; please use the websocket for live updates to avoid polling the API."}),
        )
    }

    /// Binance's request weights
    /// (<https://developers.binance.com/docs/binance-spot-api-docs/rest-api/account-endpoints>,
    /// "Account information: Weight 20"; time, new order and cancel order: weight 1).
    fn weight(&self, endpoint: Option<Endpoint>) -> u32 {
        match endpoint {
            Some(Endpoint::Balance) => 20,
            _ => 1,
        }
    }

    fn usage_headers(&self, usage: &Usage, order: bool, response: &mut Response) {
        set_number(response, "x-mbx-used-weight-1m", u64::from(usage.used));
        if order {
            set_number(response, "x-mbx-order-count-10s", u64::from(usage.orders));
        }
    }

    fn ws_message(&self, ctx: &VenueCtx, _conn: &WsConn, message: &Value) -> Option<Value> {
        let id = message.get("id").cloned().unwrap_or(Value::Null);
        let method = message.get("method").and_then(Value::as_str)?;
        let signed = message.pointer("/params/signature").is_some();
        if !signed {
            let result = match method {
                "ping" => json!({}),
                "time" => json!({"serverTime": keyward_signing::Clock::now_ms(&ctx.clock)}),
                _ => {
                    return Some(json!({"id": id, "status": 400, "error": {"code": -1102,
                        "msg": "Mandatory parameter 'signature' was not sent, was empty/null, or malformed."},
                        "rateLimits": []}));
                }
            };
            // Binance's WebSocket API answers carry `rateLimits` (the SDKs read it).
            return Some(json!({"id": id, "status": 200, "result": result, "rateLimits": []}));
        }
        // Binance: "Only Ed25519 keys are supported for this feature"
        // (<https://developers.binance.com/docs/binance-spot-api-docs/websocket-api/authentication-requests>);
        // the venue answers an HMAC-signed `session.logon` with -1022 (see
        // <https://github.com/sieblyio/binance/pull/626>: an HMAC key "was consistently getting
        // an invalid signature error" there). The verifier re-signs a logon as a logon, which only
        // an Ed25519 key can: any other key's logon is a signature mismatch, answered -1022.
        Some(match ctx.verifier.verify_ws(message) {
            Ok(v) => json!({"id": id, "status": 200, "result": {
                "apiKey": v.key_id, "authorizedSince": keyward_signing::Clock::now_ms(&ctx.clock),
                "serverTime": keyward_signing::Clock::now_ms(&ctx.clock),
            }, "rateLimits": []}),
            Err(err) => {
                let (status, code, msg) = error_of(&err);
                json!({"id": id, "status": status, "error": {"code": code, "msg": msg}, "rateLimits": []})
            }
        })
    }
}
