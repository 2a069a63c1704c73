//! Bybit v5: errors in the body of an HTTP 200 (`retCode` 10004, 10002, 10003), WebSocket
//! `op=auth`, usage headers `X-Bapi-Limit-Status` and `X-Bapi-Limit`.
//!
//! Codes as Bybit lists them (<https://bybit-exchange.github.io/docs/v5/error>): 10001 request
//! parameter error, 10002 request time outside `recv_window`, 10003 invalid API key, 10004 sign
//! error, 10006 too many visits. `pybit` reads them the same way (tests/sdk).

use axum::response::Response;
use keyward_signing::Scheme;
use keyward_signing::verify::VerifyError;
use serde_json::{Value, json};

use super::{Echo, Endpoint, Rules, VenueCtx};
use crate::ratelimit::Usage;
use crate::reply::{json, set_number};
use crate::ws::WsConn;

pub(crate) struct Bybit;

/// The order's `orderLinkId`: Bybit answers with a string, empty when none was given.
fn link_id(e: &Echo) -> Value {
    match e.field("orderLinkId") {
        Value::Null => Value::from(""),
        given => given,
    }
}

fn envelope(code: i64, msg: &str, result: Value, now_ms: u64) -> Value {
    json!({"retCode": code, "retMsg": msg, "result": result, "retExtInfo": {}, "time": now_ms})
}

impl Rules for Bybit {
    fn name(&self) -> &'static str {
        "bybit"
    }

    fn scheme(&self) -> Scheme {
        Scheme::Bybit
    }

    fn endpoint(&self, method: &str, path: &str) -> Option<Endpoint> {
        match (method, path) {
            ("GET", "/v5/market/time") => Some(Endpoint::Time),
            ("GET", "/v5/account/wallet-balance") => Some(Endpoint::Balance),
            ("POST", "/v5/order/create") => Some(Endpoint::Place),
            ("POST", "/v5/order/cancel") => Some(Endpoint::Cancel),
            _ => None,
        }
    }

    fn time(&self, now_ms: u64) -> Response {
        let result = json!({
            "timeSecond": (now_ms / 1000).to_string(),
            "timeNano": (u128::from(now_ms) * 1_000_000).to_string(),
        });
        json(200, envelope(0, "OK", result, now_ms))
    }

    fn success(&self, endpoint: Endpoint, e: &Echo) -> Response {
        let result = match endpoint {
            Endpoint::Balance => json!({"list": [{"accountType": "UNIFIED", "totalEquity": "10000",
                "coin": [{"coin": "USDT", "walletBalance": "10000", "equity": "10000"}]}]}),
            Endpoint::Cancel => {
                json!({"orderId": e.field("orderId"), "orderLinkId": link_id(e)})
            }
            _ => json!({"orderId": e.id, "orderLinkId": link_id(e)}),
        };
        json(200, envelope(0, "OK", result, e.now_ms))
    }

    fn reject(&self, err: &VerifyError, now_ms: u64) -> Response {
        let (code, msg) = match err {
            VerifyError::Malformed(_) => (10001, "params error"),
            VerifyError::UnknownKey => (10003, "API key is invalid."),
            VerifyError::BadSignature => (
                10004,
                "error sign! please check your signature generation algorithm.",
            ),
            VerifyError::CacheFull => (10016, "Server error."),
            _ => (
                10002,
                "invalid request, please check your server timestamp or recv_window param",
            ),
        };
        json(200, envelope(code, msg, json!({}), now_ms))
    }

    fn too_many(&self) -> Response {
        json(429, envelope(10006, "Too many visits!", json!({}), 0))
    }

    fn usage_headers(&self, usage: &Usage, _order: bool, response: &mut Response) {
        set_number(
            response,
            "x-bapi-limit-status",
            u64::from(usage.remaining()),
        );
        set_number(response, "x-bapi-limit", u64::from(usage.limit));
    }

    /// <https://bybit-exchange.github.io/docs/v5/ws/connect>: `wss://stream.bybit.com/v5/private`.
    fn ws_paths(&self) -> &'static [&'static str] {
        &["/v5/private"]
    }

    fn ws_message(&self, ctx: &VenueCtx, conn: &WsConn, message: &Value) -> Option<Value> {
        let req_id = message.get("req_id").cloned().unwrap_or(json!(""));
        match message.get("op").and_then(Value::as_str)? {
            "ping" => {
                Some(json!({"success": true, "ret_msg": "pong", "op": "ping", "req_id": req_id}))
            }
            "auth" => Some(match ctx.verifier.verify_ws(message) {
                Ok(_) => {
                    conn.authenticate();
                    json!({"success": true, "ret_msg": "", "op": "auth", "req_id": req_id, "conn_id": "testnet"})
                }
                Err(err) => {
                    let msg = match err {
                        VerifyError::BadSignature => "Signature verification failed",
                        VerifyError::UnknownKey => "API key is invalid.",
                        VerifyError::Malformed(_) => "Params Error",
                        _ => "Params Error: expires is invalid or expired",
                    };
                    json!({"success": false, "ret_msg": msg, "op": "auth", "req_id": req_id})
                }
            }),
            // The private stream's topics (<https://bybit-exchange.github.io/docs/v5/websocket/private/order>)
            // need an authenticated connection; `order` is pushed each accepted order.
            "subscribe" => Some(if conn.authenticated() {
                let topics = message.get("args").and_then(Value::as_array);
                if topics.is_some_and(|t| t.iter().any(|t| t == "order")) {
                    conn.subscribe_orders();
                }
                json!({"success": true, "ret_msg": "", "op": "subscribe", "req_id": req_id, "conn_id": "testnet"})
            } else {
                json!({"success": false, "ret_msg": "Request not authorized", "op": "subscribe", "req_id": req_id, "conn_id": "testnet"})
            }),
            _ => None,
        }
    }

    /// The `order` topic's push (<https://bybit-exchange.github.io/docs/v5/websocket/private/order>).
    fn ws_order_push(&self, e: &Echo) -> Option<Value> {
        Some(json!({
            "id": format!("testnet-{}", e.id),
            "topic": "order",
            "creationTime": e.now_ms,
            "data": [{
                "category": e.field("category"),
                "symbol": e.field("symbol"),
                "orderId": e.id,
                "orderLinkId": link_id(e),
                "side": e.field("side"),
                "orderType": e.field("orderType"),
                "qty": e.field("qty"),
                "price": e.field("price"),
                "orderStatus": "New",
                "createdTime": e.now_ms.to_string(),
                "updatedTime": e.now_ms.to_string(),
            }],
        }))
    }
}
