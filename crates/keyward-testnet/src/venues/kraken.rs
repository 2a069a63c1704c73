//! Kraken spot: errors in the body of an HTTP 200 (`{"error":["EAPI:Invalid signature"]}`),
//! nonces strictly increasing per key, WebSocket `subscribe` with a token from
//! `POST /0/private/GetWebSocketsToken`.
//!
//! Messages as Kraken lists them (<https://docs.kraken.com/exchange/guides/general/errors>):
//! "EAPI:Invalid key", "EAPI:Invalid signature", "EAPI:Invalid nonce" (a nonce not above the
//! key's last), "EGeneral:Invalid arguments", "EAPI:Rate limit exceeded". `krakenex` reads them
//! the same way (tests/sdk).

use axum::response::Response;
use keyward_signing::Scheme;
use keyward_signing::verify::VerifyError;
use serde_json::{Value, json};

use super::{Echo, Endpoint, Rules, SecretForm, VenueCtx};
use crate::reply::json;
use crate::ws::WsConn;

pub(crate) struct Kraken;

impl Rules for Kraken {
    fn name(&self) -> &'static str {
        "kraken"
    }

    fn scheme(&self) -> Scheme {
        Scheme::Kraken
    }

    fn secret_form(&self) -> SecretForm {
        SecretForm::Base64
    }

    fn endpoint(&self, method: &str, path: &str) -> Option<Endpoint> {
        match (method, path) {
            ("GET", "/0/public/Time") => Some(Endpoint::Time),
            ("POST", "/0/private/Balance") => Some(Endpoint::Balance),
            ("POST", "/0/private/AddOrder") => Some(Endpoint::Place),
            ("POST", "/0/private/CancelOrder") => Some(Endpoint::Cancel),
            ("POST", "/0/private/GetWebSocketsToken") => Some(Endpoint::WsToken),
            _ => None,
        }
    }

    fn time(&self, now_ms: u64) -> Response {
        json(
            200,
            json!({"error": [], "result": {"unixtime": now_ms / 1000,
            "rfc1123": crate::reply::rfc1123(now_ms)}}),
        )
    }

    fn success(&self, endpoint: Endpoint, e: &Echo) -> Response {
        let result = match endpoint {
            Endpoint::Balance => json!({"ZUSD": "10000.0000", "XXBT": "1.0000000000"}),
            Endpoint::Cancel => json!({"count": 1}),
            Endpoint::WsToken => json!({"token": e.id, "expires": 900}),
            _ => {
                json!({"descr": {"order": format!("{} {} {} @ {}", e.field("type").as_str().unwrap_or(""),
                    e.field("volume").as_str().unwrap_or(""), e.field("pair").as_str().unwrap_or(""),
                    e.field("ordertype").as_str().unwrap_or(""))},
                "txid": [format!("OTESTN-{:05}-{}", e.id.parse::<u64>().unwrap_or(0), "KWTEST")]})
            }
        };
        json(200, json!({"error": [], "result": result}))
    }

    fn reject(&self, err: &VerifyError, _now_ms: u64) -> Response {
        let code = match err {
            VerifyError::Malformed(_) => "EGeneral:Invalid arguments",
            VerifyError::UnknownKey => "EAPI:Invalid key",
            VerifyError::BadSignature => "EAPI:Invalid signature",
            VerifyError::CacheFull => "EService:Unavailable",
            _ => "EAPI:Invalid nonce",
        };
        json(200, json!({"error": [code]}))
    }

    fn too_many(&self) -> Response {
        json(429, json!({"error": ["EAPI:Rate limit exceeded"]}))
    }

    fn ws_message(&self, ctx: &VenueCtx, _conn: &WsConn, message: &Value) -> Option<Value> {
        let reqid = message.get("reqid").cloned();
        let mut reply = match message.get("event").and_then(Value::as_str)? {
            "ping" => json!({"event": "pong"}),
            "subscribe" => {
                let name = message
                    .pointer("/subscription/name")
                    .cloned()
                    .unwrap_or(Value::Null);
                let token = message
                    .pointer("/subscription/token")
                    .and_then(Value::as_str);
                if token.is_some_and(|t| ctx.token_valid(t)) {
                    json!({"event": "subscriptionStatus", "channelName": name, "status": "subscribed",
                        "subscription": {"name": name}})
                } else {
                    json!({"event": "subscriptionStatus", "status": "error",
                        "errorMessage": "ESession:Invalid session", "subscription": {"name": name}})
                }
            }
            _ => return None,
        };
        if let (Some(id), Some(obj)) = (reqid, reply.as_object_mut()) {
            obj.insert("reqid".into(), id);
        }
        Some(reply)
    }
}
