//! Binance spot: form-encoded writes, `{"code":-1022,"msg":...}` errors, request weights.
//! Codes: <https://developers.binance.com/docs/binance-spot-api-docs/errors>.

use serde_json::Value;

use super::order_id::{IdForm, OrderIdRule, alnum_and};
use super::{Call, Found, Kind, by_text, text};
use crate::order::{CancelRequest, OrderRequest, Side};
use crate::params::Params;

/// `newClientOrderId`: 1 to 36 characters of `[.A-Za-z:/0-9_-]`, the range Binance's error
/// -1100 names (<https://developers.binance.com/docs/binance-spot-api-docs/rest-api/trading-endpoints>).
pub(super) const ORDER_ID: OrderIdRule = OrderIdRule {
    field: "newClientOrderId",
    form: IdForm::Token {
        max_len: 36,
        allowed: |c| alnum_and(c, "._:/-"),
    },
};

pub(super) fn balance() -> Call {
    Call::new("GET", "/api/v3/account", Params::None).weight(20)
}

pub(super) fn place(o: &OrderRequest) -> Call {
    let side = match o.side {
        Side::Buy => "BUY",
        Side::Sell => "SELL",
    };
    let mut p = vec![
        ("symbol", o.symbol.as_str()),
        ("side", side),
        ("quantity", o.quantity.as_str()),
    ];
    match o.price() {
        None => p.push(("type", "MARKET")),
        Some(price) => p.extend([("type", "LIMIT"), ("timeInForce", "GTC"), ("price", price)]),
    }
    if let Some(id) = &o.client_order_id {
        p.push((ORDER_ID.field, id));
    }
    Call::new("POST", "/api/v3/order", Params::form(p)).orders(1)
}

pub(super) fn cancel(c: &CancelRequest) -> Call {
    Call::new(
        "DELETE",
        "/api/v3/order",
        Params::query([
            ("symbol", c.symbol.as_str()),
            ("orderId", c.order_id.as_str()),
        ]),
    )
}

pub(super) fn classify(status: u16, v: &Value) -> Option<Found> {
    if status < 400 {
        return None;
    }
    let code = text(v, "code")?;
    let msg = text(v, "msg").unwrap_or_default();
    let kind = match code.as_str() {
        "-1022" | "-2014" | "-2015" | "-1002" => Kind::Auth,
        "-1021" => Kind::Timestamp,
        "-1003" | "-1015" => Kind::RateLimited,
        "-2010" if msg.to_ascii_lowercase().contains("insufficient") => Kind::Funds,
        _ => by_text(&msg).unwrap_or(Kind::Rejected),
    };
    Some(Found::new(kind, Some(code), &msg))
}

/// The WebSocket API's refusal codes for a `session.logon` that may succeed later (Binance's
/// "Error codes" page): -1021 INVALID_TIMESTAMP (outside `recvWindow`), -1003 TOO_MANY_REQUESTS.
pub(super) fn ws_auth_refusal(code: &str) -> Option<Kind> {
    match code {
        "-1021" => Some(Kind::Timestamp),
        "-1003" => Some(Kind::RateLimited),
        _ => None,
    }
}
