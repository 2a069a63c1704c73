//! Bybit v5: JSON writes, HTTP 200 answers with `retCode`, WebSocket `{"op":"auth"}`.
//! Codes: <https://bybit-exchange.github.io/docs/v5/error>.

use keyward_resilience::RequestClass;
use serde_json::{Value, json};

use super::LimitScope;
use super::order_id::{IdForm, OrderIdRule, alnum_and};
use super::relay::{Endpoint, RelayRules, WsRelay};
use super::rules::VenueRules;
use super::time::{ServerTime, TimeUnit};
use super::ws_auth::{Ack, WsAuthBy, field_text, str_field};
use super::{Call, Found, text};
use crate::error::ErrorKind;
use crate::order::{CancelRequest, OrderRequest, Side};
use crate::params::Params;
use keyward_resilience::limiter::Limit;

/// Bybit v5.
pub(super) struct Bybit;

/// `orderLinkId`: up to 36 letters, digits, dashes and underscores
/// (<https://bybit-exchange.github.io/docs/v5/order/create-order>).
const ORDER_ID: OrderIdRule = OrderIdRule {
    field: "orderLinkId",
    form: IdForm::Token {
        max_len: 36,
        allowed: |c| alnum_and(c, "-_"),
    },
};

/// The signing proxy's rules (<https://bybit-exchange.github.io/docs/v5/guide>): `/v5/market/`
/// is public; the `X-BAPI-*` headers are a client's own signing; `X-Bapi-Limit*` carry the
/// usage. Cancelling an order by id is idempotent.
const RELAY: RelayRules = RelayRules {
    public: &["/v5/market/", "/v5/announcements/"],
    endpoints: &[
        Endpoint {
            method: "POST",
            path: "/v5/order/create",
            class: RequestClass::NonIdempotentWrite,
            weight: 1,
            orders: 1,
        },
        Endpoint {
            method: "POST",
            path: "/v5/order/cancel",
            class: RequestClass::IdempotentWrite,
            weight: 1,
            orders: 0,
        },
    ],
    credential_params: &[],
    credential_headers: &[
        "x-bapi-api-key",
        "x-bapi-sign",
        "x-bapi-sign-type",
        "x-bapi-timestamp",
        "x-bapi-recv-window",
    ],
    generated_params: &[],
    answer_headers: &["x-bapi-limit"],
    ws: WsRelay::Served {
        client_auth: ws_client_auth,
    },
};

/// A client's own WebSocket auth, `{"op":"auth","args":[key, expires, signature]}`, and
/// Bybit's acceptance of one
/// (<https://bybit-exchange.github.io/docs/v5/ws/connect#authentication>), which pybit reads
/// by `op` and `success`.
fn ws_client_auth(msg: &Value) -> Option<Value> {
    (str_field(msg, "op") == Some("auth")).then(|| {
        let mut ack =
            json!({"success": true, "ret_msg": "", "op": "auth", "conn_id": "keyward-proxy"});
        if let Some(id) = msg.get("req_id") {
            ack["req_id"] = id.clone();
        }
        ack
    })
}

impl VenueRules for Bybit {
    fn relay(&self) -> Option<&'static RelayRules> {
        Some(&RELAY)
    }

    /// Bybit counts its API rate limits per UID and per endpoint
    /// (<https://bybit-exchange.github.io/docs/v5/rate-limit>: "rate limit per UID per
    /// endpoint"): order placement, amendment and cancellation (the unit `orders`) count
    /// apart from the account's other requests.
    fn limit_scope(&self, limit: &Limit) -> LimitScope {
        if limit.unit == "orders" {
            LimitScope::AccountGroup("trade")
        } else {
            LimitScope::AccountGroup("other")
        }
    }

    fn production_origin(&self) -> Option<&'static str> {
        Some("https://api.bybit.com")
    }

    /// `GET /v5/market/time`: `{"result":{"timeSecond":"..","timeNano":".."},"time":..}`;
    /// `timeNano` is the finest, in nanoseconds.
    fn server_time(&self) -> Option<ServerTime> {
        Some(ServerTime {
            path: "/v5/market/time",
            field: "result.timeNano",
            unit: TimeUnit::Nanos,
        })
    }

    fn balance(&self) -> Option<Call> {
        Some(Call::new(
            "GET",
            "/v5/account/wallet-balance",
            Params::query([("accountType", "UNIFIED")]),
        ))
    }

    fn order_id(&self) -> Option<OrderIdRule> {
        Some(ORDER_ID)
    }

    /// The answer names the order in `result.orderId`.
    fn place(&self, o: &OrderRequest) -> Option<Call> {
        let mut body = json!({
            "category": "spot",
            "symbol": o.symbol,
            "side": match o.side { Side::Buy => "Buy", Side::Sell => "Sell" },
            "orderType": if o.price().is_some() { "Limit" } else { "Market" },
            "qty": o.quantity,
        });
        if let Some(price) = o.price() {
            body["price"] = json!(price);
        }
        if let Some(id) = &o.client_order_id {
            body[ORDER_ID.field] = json!(id);
        }
        Some(
            Call::new("POST", "/v5/order/create", Params::Json(body))
                .answer_order_id("result.orderId"),
        )
    }

    fn cancel(&self, c: &CancelRequest) -> Option<Call> {
        let body = json!({"category": "spot", "symbol": c.symbol, "orderId": c.order_id});
        Some(
            Call::new("POST", "/v5/order/cancel", Params::Json(body))
                .answer_order_id("result.orderId"),
        )
    }

    /// 10002 "The request time exceeds the time window range" is a request Bybit refused
    /// before processing it.
    fn classify(&self, _status: u16, v: &Value) -> Option<Found> {
        let code = text(v, "retCode")?;
        if code == "0" {
            return None;
        }
        let mut msg = text(v, "retMsg").unwrap_or_default();
        // Bybit's sign errors echo the signed string (key, timestamp, payload): keep the words only.
        if let Some(at) = msg.find("origin_string") {
            msg.truncate(at);
            msg = msg.trim_end().to_owned();
        }
        let kind = match code.as_str() {
            "10003" | "10004" | "33004" => ErrorKind::Authentication,
            "10005" | "10010" => ErrorKind::Permission,
            "10002" => ErrorKind::Timestamp,
            "10006" | "10018" => ErrorKind::RateLimited,
            "110004" | "110007" | "170131" => ErrorKind::InsufficientFunds,
            _ => ErrorKind::Rejected,
        };
        Some(Found::new(kind, Some(code), &msg))
    }

    fn ws_auth(&self) -> Option<WsAuthBy> {
        Some(WsAuthBy::Message)
    }

    /// `{"op":"auth","success":true}`, or `success: false` with `ret_msg`.
    fn ws_ack(&self, _id: &Value, msg: &Value) -> Ack {
        op_auth_ack(msg)
    }
}

/// The `{"op":"auth","success":..}` answer Bybit gives (and keyward's hmac-concat verifier
/// copies).
pub(super) fn op_auth_ack(msg: &Value) -> Ack {
    if str_field(msg, "op") != Some("auth") {
        return Ack::Other;
    }
    if msg.get("success").and_then(Value::as_bool) == Some(true) {
        return Ack::Accepted;
    }
    let code = field_text(msg, "ret_code")
        .or_else(|| field_text(msg, "retCode"))
        .or_else(|| field_text(msg, "error"));
    let message = field_text(msg, "ret_msg").or_else(|| field_text(msg, "error"));
    Ack::refused(code, message)
}
