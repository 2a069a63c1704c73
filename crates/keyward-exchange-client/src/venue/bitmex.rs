//! BitMEX: JSON writes, `{"error":{"message":...,"name":"HTTPError"}}` errors without codes,
//! WebSocket `authKeyExpires`. BitMEX documents HTTP statuses (401 for a bad or expired
//! signature, 403, 429) and its messages; the two whose meaning keyward acts on are matched
//! by their fixed start, never searched for a word
//! (<https://www.bitmex.com/app/apiKeysUsage>, BitMEX's own connectors
//! <https://github.com/BitMEX/api-connectors>).

use std::time::Duration;

use keyward_resilience::limiter::Limit;
use keyward_signing::QueryEncoding;
use serde_json::{Value, json};

use super::order_id::{IdForm, OrderIdRule};
use super::rules::VenueRules;
use super::time::{ServerTime, TimeUnit};
use super::ws_auth::{Ack, WsAuthBy, field_text, value_text};
use super::{Call, Found, text};
use crate::error::ErrorKind;
use crate::order::{CancelRequest, OrderRequest, Side};
use crate::params::Params;

/// BitMEX.
pub(super) struct Bitmex;

/// `clOrdID`: the client's own id, echoed on the order and its executions, up to 36 characters
/// (<https://www.bitmex.com/api/explorer/#!/Order/Order_new>).
const ORDER_ID: OrderIdRule = OrderIdRule {
    field: "clOrdID",
    form: IdForm::Token {
        max_len: 36,
        allowed: |c| c.is_ascii_graphic(),
    },
};

/// BitMEX's messages keyward acts on, by their fixed start (the rest names a time or an
/// amount): an `api-expires` in the past is refused before the request is processed.
const MESSAGES: &[(&str, ErrorKind)] = &[
    (
        "This request has expired - `expires` is in the past.",
        ErrorKind::Timestamp,
    ),
    (
        "Account has insufficient Available Balance,",
        ErrorKind::InsufficientFunds,
    ),
];

impl VenueRules for Bitmex {
    fn production_origin(&self) -> Option<&'static str> {
        Some("https://www.bitmex.com")
    }

    fn query_encoding(&self) -> QueryEncoding {
        QueryEncoding::Form
    }

    /// `GET /api/v1`: `{"name":"BitMEX API",..,"timestamp":1700000000123}`, milliseconds.
    fn server_time(&self) -> Option<ServerTime> {
        Some(ServerTime {
            path: "/api/v1",
            field: "timestamp",
            unit: TimeUnit::Millis,
        })
    }

    fn balance(&self) -> Option<Call> {
        Some(Call::new("GET", "/api/v1/user/wallet", Params::None))
    }

    fn order_id(&self) -> Option<OrderIdRule> {
        Some(ORDER_ID)
    }

    /// The answer is the order, named by `orderID`.
    fn place(&self, o: &OrderRequest) -> Option<Call> {
        let mut body = json!({
            "symbol": o.symbol,
            "side": match o.side { Side::Buy => "Buy", Side::Sell => "Sell" },
            "orderQty": o.quantity,
            "ordType": if o.price().is_some() { "Limit" } else { "Market" },
        });
        if let Some(price) = o.price() {
            body["price"] = json!(price);
        }
        if let Some(id) = &o.client_order_id {
            body[ORDER_ID.field] = json!(id);
        }
        Some(Call::new("POST", "/api/v1/order", Params::Json(body)).answer_order_id("orderID"))
    }

    /// The answer is the list of cancelled orders.
    fn cancel(&self, c: &CancelRequest) -> Option<Call> {
        Some(
            Call::new(
                "DELETE",
                "/api/v1/order",
                Params::query([("orderID", c.order_id.as_str())]),
            )
            .answer_order_id("0.orderID"),
        )
    }

    fn classify(&self, status: u16, v: &Value) -> Option<Found> {
        if status < 400 {
            return None;
        }
        let msg = text(v, "error.message")?;
        let kind = MESSAGES
            .iter()
            .find(|(start, _)| msg.starts_with(start))
            .map_or(
                match status {
                    401 => ErrorKind::Authentication,
                    403 => ErrorKind::Permission,
                    _ => ErrorKind::Rejected,
                },
                |(_, kind)| *kind,
            );
        Some(Found::new(kind, text(v, "error.name"), &msg))
    }

    /// BitMEX's documented REST limit
    /// (<https://www.bitmex.com/app/restAPI#Request-Rate-Limits>): 120 requests per minute per
    /// account, reported as what is left in `x-ratelimit-remaining`. Every request costs 1
    /// `weight`.
    fn default_limits(&self) -> Vec<Limit> {
        vec![
            Limit::new("requests/1m", "weight", 120, Duration::from_secs(60))
                .with_remaining_header("x-ratelimit-remaining"),
        ]
    }

    fn ws_auth(&self) -> Option<WsAuthBy> {
        Some(WsAuthBy::Message)
    }

    /// `{"success":true,"request":{"op":"authKeyExpires"}}`, or an `error` with a `status`
    /// (or the `request`).
    fn ws_ack(&self, _id: &Value, msg: &Value) -> Ack {
        if msg.get("success").and_then(Value::as_bool) == Some(true) {
            return Ack::Accepted;
        }
        match msg
            .get("error")
            .filter(|_| msg.get("status").is_some() || msg.get("request").is_some())
        {
            Some(err) => {
                let message = err
                    .get("message")
                    .map(value_text)
                    .unwrap_or_else(|| value_text(err));
                Ack::refused(field_text(msg, "status"), Some(message))
            }
            None => Ack::Other,
        }
    }

    /// The error carries an HTTP-like `status`: 429, rate limited. An expired `expires` is a
    /// 401, as a bad signature is, so no timestamp status is declared.
    fn ws_auth_refusal(&self, code: &str) -> Option<ErrorKind> {
        (code == "429").then_some(ErrorKind::RateLimited)
    }
}
