//! Bybit v5: JSON writes, HTTP 200 answers with `retCode`.
//! Codes: <https://bybit-exchange.github.io/docs/v5/error>.

use serde_json::{Value, json};

use super::order_id::{IdForm, OrderIdRule, alnum_and};
use super::{Call, Found, Kind, by_text, text};
use crate::order::{CancelRequest, OrderRequest, Side};
use crate::params::Params;

/// `orderLinkId`: up to 36 letters, digits, dashes and underscores
/// (<https://bybit-exchange.github.io/docs/v5/order/create-order>).
pub(super) const ORDER_ID: OrderIdRule = OrderIdRule {
    field: "orderLinkId",
    form: IdForm::Token {
        max_len: 36,
        allowed: |c| alnum_and(c, "-_"),
    },
};

pub(super) fn balance() -> Call {
    Call::new(
        "GET",
        "/v5/account/wallet-balance",
        Params::query([("accountType", "UNIFIED")]),
    )
}

pub(super) fn place(o: &OrderRequest) -> Call {
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
    Call::new("POST", "/v5/order/create", Params::Json(body))
}

pub(super) fn cancel(c: &CancelRequest) -> Call {
    let body = json!({"category": "spot", "symbol": c.symbol, "orderId": c.order_id});
    Call::new("POST", "/v5/order/cancel", Params::Json(body))
}

pub(super) fn classify(status: u16, v: &Value) -> Option<Found> {
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
        "10003" | "10004" | "33004" => Kind::Auth,
        "10005" | "10010" => Kind::Permission,
        "10002" => Kind::Timestamp,
        "10006" | "10018" => Kind::RateLimited,
        "110004" | "110007" | "170131" => Kind::Funds,
        _ => by_text(&msg).unwrap_or(Kind::Rejected),
    };
    let _ = status;
    Some(Found::new(kind, Some(code), &msg))
}
