//! BitMart: server time over REST and the WebSocket `login`; no signed REST endpoints.

use axum::response::Response;
use keyward_signing::Scheme;
use keyward_signing::verify::VerifyError;
use serde_json::{Value, json};

use super::{Echo, Endpoint, Rules, VenueCtx};
use crate::reply::json;
use crate::ws::WsConn;

pub(crate) struct Bitmart;

impl Rules for Bitmart {
    fn name(&self) -> &'static str {
        "bitmart"
    }

    fn scheme(&self) -> Scheme {
        Scheme::Bitmart
    }

    fn needs_passphrase(&self) -> bool {
        true
    }

    fn endpoint(&self, method: &str, path: &str) -> Option<Endpoint> {
        (method == "GET" && path == "/system/time").then_some(Endpoint::Time)
    }

    fn time(&self, now_ms: u64) -> Response {
        json(
            200,
            json!({"code": 1000, "trace": "testnet", "message": "OK",
            "data": {"server_time": now_ms}}),
        )
    }

    fn success(&self, _endpoint: Endpoint, _echo: &Echo) -> Response {
        self.not_found()
    }

    fn reject(&self, _err: &VerifyError, _now_ms: u64) -> Response {
        self.not_found()
    }

    fn too_many(&self) -> Response {
        json(
            429,
            json!({"code": 30013, "message": "Request too many requests", "trace": "testnet", "data": {}}),
        )
    }

    fn not_found(&self) -> Response {
        json(
            404,
            json!({"code": 30000, "message": "Not found", "trace": "testnet", "data": {}}),
        )
    }

    fn ws_message(&self, ctx: &VenueCtx, _conn: &WsConn, message: &Value) -> Option<Value> {
        if message.get("op").and_then(Value::as_str)? != "login" {
            return None;
        }
        Some(match ctx.verifier.verify_ws(message) {
            Ok(_) => json!({"event": "login"}),
            Err(err) => {
                let (code, msg) = match err {
                    VerifyError::UnknownKey => ("30002", "Header X-BM-KEY is wrong"),
                    VerifyError::BadSignature => ("30005", "Header X-BM-SIGN is wrong"),
                    VerifyError::Malformed(_) => ("30000", "Invalid login message"),
                    _ => ("30008", "Header X-BM-TIMESTAMP range. Within a minute"),
                };
                json!({"event": "login", "errorCode": code, "errorMessage": msg})
            }
        })
    }
}
