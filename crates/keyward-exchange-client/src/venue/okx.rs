//! OKX v5: JSON writes, `{"code":"50113","msg":...}` errors, per-order `sCode` in `data`,
//! WebSocket `login`. Codes: <https://www.okx.com/docs-v5/en/#error-code>.

use keyward_resilience::RequestClass;
use serde_json::{Value, json};

use super::LimitScope;
use super::order_id::{IdForm, OrderIdRule};
use super::relay::{Endpoint, RelayRules, WsRelay};
use super::rules::VenueRules;
use super::time::{ServerTime, TimeUnit};
use super::ws_auth::{Ack, WsAuthBy, field_text, str_field};
use super::{Call, Found, lookup, text};
use crate::error::ErrorKind;
use crate::order::{CancelRequest, OrderRequest, Side};
use crate::params::Params;
use keyward_resilience::limiter::Limit;

/// OKX v5.
pub(super) struct Okx;

/// `clOrdId`: 1 to 32 case-sensitive letters and digits
/// (<https://www.okx.com/docs-v5/en/#order-book-trading-trade-post-place-order>).
const ORDER_ID: OrderIdRule = OrderIdRule {
    field: "clOrdId",
    form: IdForm::Token {
        max_len: 32,
        allowed: |c| c.is_ascii_alphanumeric(),
    },
};

/// The signing proxy's rules (<https://www.okx.com/docs-v5/en/#overview-rest-authentication>):
/// `/api/v5/public/` and `/api/v5/market/` are public; the `OK-ACCESS-*` headers are a
/// client's own signing. Cancelling an order by id is idempotent.
const RELAY: RelayRules = RelayRules {
    public: &["/api/v5/public/", "/api/v5/market/"],
    endpoints: &[
        Endpoint {
            method: "POST",
            path: "/api/v5/trade/order",
            class: RequestClass::NonIdempotentWrite,
            weight: 1,
            orders: 1,
        },
        Endpoint {
            method: "POST",
            path: "/api/v5/trade/cancel-order",
            class: RequestClass::IdempotentWrite,
            weight: 1,
            orders: 0,
        },
    ],
    credential_params: &[],
    credential_headers: &[
        "ok-access-key",
        "ok-access-sign",
        "ok-access-timestamp",
        "ok-access-passphrase",
    ],
    generated_params: &[],
    answer_headers: &[],
    ws: WsRelay::Served {
        client_auth: ws_client_auth,
    },
};

/// A client's own WebSocket login, `{"op":"login","args":[...]}`, and OKX's acceptance of one
/// (<https://www.okx.com/docs-v5/en/#overview-websocket-login>).
fn ws_client_auth(msg: &Value) -> Option<Value> {
    (str_field(msg, "op") == Some("login"))
        .then(|| json!({"event": "login", "code": "0", "msg": "", "connId": "keyward-proxy"}))
}

impl VenueRules for Okx {
    fn relay(&self) -> Option<&'static RelayRules> {
        Some(&RELAY)
    }

    /// OKX counts the rate limits of private endpoints per user id, and of trading endpoints
    /// per user id too (<https://www.okx.com/docs-v5/en/#overview-rate-limits>: "private REST
    /// API ... based on User ID"): every limit of a signed client is the account's.
    fn limit_scope(&self, _limit: &Limit) -> LimitScope {
        LimitScope::Account
    }

    fn production_origin(&self) -> Option<&'static str> {
        Some("https://www.okx.com")
    }

    /// `GET /api/v5/public/time`: `{"code":"0","data":[{"ts":"1597026383085"}]}`, ms.
    fn server_time(&self) -> Option<ServerTime> {
        Some(ServerTime {
            path: "/api/v5/public/time",
            field: "data.0.ts",
            unit: TimeUnit::Millis,
        })
    }

    fn balance(&self) -> Option<Call> {
        Some(Call::new("GET", "/api/v5/account/balance", Params::None))
    }

    fn order_id(&self) -> Option<OrderIdRule> {
        Some(ORDER_ID)
    }

    /// The answer names the order in `data.0.ordId`.
    fn place(&self, o: &OrderRequest) -> Option<Call> {
        let mut body = json!({
            "instId": o.symbol,
            "tdMode": "cash",
            "side": match o.side { Side::Buy => "buy", Side::Sell => "sell" },
            "ordType": if o.price().is_some() { "limit" } else { "market" },
            "sz": o.quantity,
        });
        if let Some(price) = o.price() {
            body["px"] = json!(price);
        }
        if let Some(id) = &o.client_order_id {
            body[ORDER_ID.field] = json!(id);
        }
        Some(
            Call::new("POST", "/api/v5/trade/order", Params::Json(body))
                .answer_order_id("data.0.ordId"),
        )
    }

    fn cancel(&self, c: &CancelRequest) -> Option<Call> {
        let body = json!({"instId": c.symbol, "ordId": c.order_id});
        Some(
            Call::new("POST", "/api/v5/trade/cancel-order", Params::Json(body))
                .answer_order_id("data.0.ordId"),
        )
    }

    /// 50102 "Timestamp request expired" is a request OKX refused before processing it.
    /// 50101 is "APIKey does not match current environment" and 50112 "Invalid
    /// OK-ACCESS-TIMESTAMP" (a malformed header, which a resync cannot fix): credentials.
    fn classify(&self, _status: u16, v: &Value) -> Option<Found> {
        let code = text(v, "code")?;
        if code == "0" {
            return None;
        }
        // A batch-style answer (code 1) names the real reason per order.
        let (code, msg) = match (text(v, "data.0.sCode"), lookup(v, "data.0.sMsg")) {
            (Some(s), Some(m)) if s != "0" => (s, m.as_str().unwrap_or_default().to_owned()),
            _ => (code, text(v, "msg").unwrap_or_default()),
        };
        let kind = match code.as_str() {
            "50111" | "50113" | "50112" | "50114" | "50105" | "50100" | "50101" => {
                ErrorKind::Authentication
            }
            "50030" | "50120" | "50110" => ErrorKind::Permission,
            "50102" => ErrorKind::Timestamp,
            "50011" | "50061" => ErrorKind::RateLimited,
            "51008" | "51131" => ErrorKind::InsufficientFunds,
            _ => ErrorKind::Rejected,
        };
        Some(Found::new(kind, Some(code), &msg))
    }

    /// "Demo Trading Services": REST requests to the demo environment go to the production
    /// origin with the header `x-simulated-trading: 1`
    /// (<https://www.okx.com/docs-v5/en/#overview-demo-trading-services>).
    fn demo_header(&self) -> Option<(&'static str, &'static str)> {
        Some(("x-simulated-trading", "1"))
    }

    fn ws_auth(&self) -> Option<WsAuthBy> {
        Some(WsAuthBy::Message)
    }

    /// `{"event":"login","code":"0"}`, or a `login`/`error` event with `code` and `msg`.
    fn ws_ack(&self, _id: &Value, msg: &Value) -> Ack {
        match str_field(msg, "event") {
            Some("login") if field_text(msg, "code").is_none_or(|c| c == "0") => Ack::Accepted,
            Some("login" | "error") => {
                Ack::refused(field_text(msg, "code"), field_text(msg, "msg"))
            }
            _ => Ack::Other,
        }
    }

    /// "WebSocket error codes": 60004 invalid timestamp, 60006 timestamp request expired,
    /// 60014 requests too frequent.
    fn ws_auth_refusal(&self, code: &str) -> Option<ErrorKind> {
        match code {
            "60004" | "60006" => Some(ErrorKind::Timestamp),
            "60014" => Some(ErrorKind::RateLimited),
            _ => None,
        }
    }
}
