//! BitMEX: JSON writes, `{"error":{"message":...,"name":"HTTPError"}}` errors without codes.

use serde_json::{Value, json};

use super::order_id::{IdForm, OrderIdRule};
use super::{Call, Found, Kind, by_text, text};
use crate::order::{CancelRequest, OrderRequest, Side};
use crate::params::Params;

/// `clOrdID`: the client's own id, echoed on the order and its executions, up to 36 characters
/// (<https://www.bitmex.com/api/explorer/#!/Order/Order_new>).
pub(super) const ORDER_ID: OrderIdRule = OrderIdRule {
    field: "clOrdID",
    form: IdForm::Token {
        max_len: 36,
        allowed: |c| c.is_ascii_graphic(),
    },
};

pub(super) fn place(o: &OrderRequest) -> Call {
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
    Call::new("POST", "/api/v1/order", Params::Json(body))
}

pub(super) fn cancel(c: &CancelRequest) -> Call {
    Call::new(
        "DELETE",
        "/api/v1/order",
        Params::query([("orderID", c.order_id.as_str())]),
    )
}

pub(super) fn classify(status: u16, v: &Value) -> Option<Found> {
    if status < 400 {
        return None;
    }
    let msg = text(v, "error.message")?;
    let kind = by_text(&msg).unwrap_or(match status {
        401 => Kind::Auth,
        403 => Kind::Permission,
        _ => Kind::Rejected,
    });
    Some(Found::new(kind, text(v, "error.name"), &msg))
}

/// The `authKeyExpires` refusal statuses that may succeed later (BitMEX's WebSocket API: the
/// error carries an HTTP-like `status`): 429, rate limited. An expired `expires` is a 401, as
/// a bad signature is, so no timestamp status is declared.
pub(super) fn ws_auth_refusal(code: &str) -> Option<Kind> {
    (code == "429").then_some(Kind::RateLimited)
}
