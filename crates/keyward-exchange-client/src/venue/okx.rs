//! OKX v5: JSON writes, `{"code":"50113","msg":...}` errors, per-order `sCode` in `data`.
//! Codes: <https://www.okx.com/docs-v5/en/#error-code>.

use serde_json::{Value, json};

use super::order_id::{IdForm, OrderIdRule};
use super::{Call, Found, Kind, by_text, lookup, text};
use crate::order::{CancelRequest, OrderRequest, Side};
use crate::params::Params;

/// `clOrdId`: 1 to 32 case-sensitive letters and digits
/// (<https://www.okx.com/docs-v5/en/#order-book-trading-trade-post-place-order>).
pub(super) const ORDER_ID: OrderIdRule = OrderIdRule {
    field: "clOrdId",
    form: IdForm::Token {
        max_len: 32,
        allowed: |c| c.is_ascii_alphanumeric(),
    },
};

pub(super) fn place(o: &OrderRequest) -> Call {
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
    Call::new("POST", "/api/v5/trade/order", Params::Json(body))
}

pub(super) fn cancel(c: &CancelRequest) -> Call {
    let body = json!({"instId": c.symbol, "ordId": c.order_id});
    Call::new("POST", "/api/v5/trade/cancel-order", Params::Json(body))
}

pub(super) fn classify(_status: u16, v: &Value) -> Option<Found> {
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
        "50111" | "50113" | "50112" | "50114" | "50105" | "50100" => Kind::Auth,
        "50030" | "50120" | "50110" => Kind::Permission,
        "50102" | "50101" => Kind::Timestamp,
        "50011" | "50061" => Kind::RateLimited,
        "51008" | "51131" => Kind::Funds,
        _ => by_text(&msg).unwrap_or(Kind::Rejected),
    };
    Some(Found::new(kind, Some(code), &msg))
}

/// The WebSocket `login` refusal codes that may succeed later (OKX API v5, "WebSocket error
/// codes"): 60004 invalid timestamp, 60006 timestamp request expired, 60014 requests too
/// frequent.
pub(super) fn ws_auth_refusal(code: &str) -> Option<Kind> {
    match code {
        "60004" | "60006" => Some(Kind::Timestamp),
        "60014" => Some(Kind::RateLimited),
        _ => None,
    }
}
