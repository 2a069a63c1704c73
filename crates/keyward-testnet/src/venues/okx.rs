//! OKX v5: errors 401 `{"code":"50113","msg":"Invalid Sign"}` and friends, WebSocket `op=login`.
//!
//! Codes as OKX lists them (<https://www.okx.com/docs-v5/en/#error-code>): HTTP 401 with 50102
//! "Timestamp request expired", 50103 a missing `OK-ACCESS-KEY`, 50111 "Invalid OK-ACCESS-KEY",
//! 50113 "Invalid Sign"; 429 50011; WebSocket login 60005 key, 60006 timestamp, 60007 sign, 60012
//! malformed. `python-okx` reads them the same way (tests/sdk).

use axum::response::Response;
use keyward_signing::Scheme;
use keyward_signing::verify::VerifyError;
use serde_json::{Value, json};

use super::{Echo, Endpoint, Rules, VenueCtx};
use crate::reply::json;
use crate::ws::WsConn;

pub(crate) struct Okx;

impl Rules for Okx {
    fn name(&self) -> &'static str {
        "okx"
    }

    fn scheme(&self) -> Scheme {
        Scheme::Okx
    }

    fn needs_passphrase(&self) -> bool {
        true
    }

    fn endpoint(&self, method: &str, path: &str) -> Option<Endpoint> {
        match (method, path) {
            ("GET", "/api/v5/public/time") => Some(Endpoint::Time),
            ("GET", "/api/v5/account/balance") => Some(Endpoint::Balance),
            ("POST", "/api/v5/trade/order") => Some(Endpoint::Place),
            ("POST", "/api/v5/trade/cancel-order") => Some(Endpoint::Cancel),
            _ => None,
        }
    }

    fn time(&self, now_ms: u64) -> Response {
        json(
            200,
            json!({"code": "0", "msg": "", "data": [{"ts": now_ms.to_string()}]}),
        )
    }

    fn success(&self, endpoint: Endpoint, e: &Echo) -> Response {
        let data = match endpoint {
            Endpoint::Balance => json!([{"totalEq": "10000", "uTime": e.now_ms.to_string(),
                "details": [{"ccy": "USDT", "availBal": "10000", "eq": "10000"}]}]),
            Endpoint::Cancel => json!([{"ordId": e.field("ordId"), "clOrdId": e.field("clOrdId"),
                "sCode": "0", "sMsg": ""}]),
            _ => json!([{"ordId": e.id, "clOrdId": e.field("clOrdId"), "tag": "",
                "sCode": "0", "sMsg": "Order placed"}]),
        };
        json(200, json!({"code": "0", "msg": "", "data": data}))
    }

    fn reject(&self, err: &VerifyError, _now_ms: u64) -> Response {
        let (status, code, msg) = match err {
            VerifyError::Malformed(_) => (
                401,
                "50103",
                "Request header OK-ACCESS-KEY, OK-ACCESS-SIGN, OK-ACCESS-TIMESTAMP or OK-ACCESS-PASSPHRASE is missing or malformed",
            ),
            VerifyError::UnknownKey => (401, "50111", "Invalid OK-ACCESS-KEY"),
            VerifyError::BadSignature => (401, "50113", "Invalid Sign"),
            VerifyError::CacheFull => (
                503,
                "50001",
                "Service temporarily unavailable. Please try again later",
            ),
            _ => (401, "50102", "Timestamp request expired"),
        };
        json(status, json!({"code": code, "msg": msg}))
    }

    fn too_many(&self) -> Response {
        json(
            429,
            json!({"code": "50011", "msg": "Rate limit reached. Please refer to API documentation and throttle requests accordingly"}),
        )
    }

    /// <https://www.okx.com/docs-v5/en/#overview-production-trading-services>: `wss://ws.okx.com:8443/ws/v5/private`.
    fn ws_paths(&self) -> &'static [&'static str] {
        &["/ws/v5/private"]
    }

    fn ws_message(&self, ctx: &VenueCtx, conn: &WsConn, message: &Value) -> Option<Value> {
        match message.get("op").and_then(Value::as_str)? {
            "login" => Some(match ctx.verifier.verify_ws(message) {
                Ok(_) => {
                    conn.authenticate();
                    json!({"event": "login", "code": "0", "msg": "", "connId": "testnet"})
                }
                Err(err) => {
                    let (code, msg) = match err {
                        VerifyError::UnknownKey => ("60005", "Invalid OK-ACCESS-KEY"),
                        VerifyError::BadSignature => ("60007", "Invalid sign"),
                        VerifyError::Malformed(_) => ("60012", "Invalid request"),
                        _ => ("60006", "Timestamp request expired"),
                    };
                    json!({"event": "error", "code": code, "msg": msg, "connId": "testnet"})
                }
            }),
            // The private channels (<https://www.okx.com/docs-v5/en/#order-book-trading-trade-ws-order-channel>)
            // need a logged-in connection (60011 "Please log in"); `orders` is pushed each
            // accepted order.
            "subscribe" => {
                let arg = message
                    .get("args")
                    .and_then(Value::as_array)
                    .and_then(|a| a.first())
                    .cloned()
                    .unwrap_or(Value::Null);
                Some(if !conn.authenticated() {
                    json!({"event": "error", "code": "60011", "msg": "Please log in", "connId": "testnet"})
                } else {
                    if arg.get("channel").and_then(Value::as_str) == Some("orders") {
                        conn.subscribe_orders();
                    }
                    json!({"event": "subscribe", "arg": arg, "connId": "testnet"})
                })
            }
            _ => None,
        }
    }

    /// The `orders` channel's push (<https://www.okx.com/docs-v5/en/#order-book-trading-trade-ws-order-channel>).
    fn ws_order_push(&self, e: &Echo) -> Option<Value> {
        Some(json!({
            "arg": {"channel": "orders", "instType": "ANY"},
            "data": [{
                "instId": e.field("instId"),
                "ordId": e.id,
                "clOrdId": e.field("clOrdId"),
                "side": e.field("side"),
                "ordType": e.field("ordType"),
                "sz": e.field("sz"),
                "px": e.field("px"),
                "state": "live",
                "cTime": e.now_ms.to_string(),
                "uTime": e.now_ms.to_string(),
            }],
        }))
    }
}
