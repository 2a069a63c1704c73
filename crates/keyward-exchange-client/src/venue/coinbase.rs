//! Coinbase Exchange and Advanced Trade (legacy HMAC keys): JSON writes, `{"message":...}` errors
//! with no numeric code; the message is the code.

use serde_json::{Value, json};

use super::{Call, Found, Kind, by_text, text};
use crate::order::{CancelRequest, OrderRequest, Side};
use crate::params::Params;

fn side(s: Side) -> &'static str {
    match s {
        Side::Buy => "buy",
        Side::Sell => "sell",
    }
}

pub(super) fn place_exchange(o: &OrderRequest) -> Call {
    let mut body = json!({
        "product_id": o.symbol,
        "side": side(o.side),
        "type": if o.price().is_some() { "limit" } else { "market" },
        "size": o.quantity,
    });
    if let Some(price) = o.price() {
        body["price"] = json!(price);
    }
    if let Some(id) = &o.client_order_id {
        body["client_oid"] = json!(id);
    }
    Call::new("POST", "/orders", Params::Json(body))
}

pub(super) fn cancel_exchange(c: &CancelRequest) -> Call {
    let id: String = c
        .order_id
        .chars()
        .filter(|ch| ch.is_ascii_alphanumeric() || *ch == '-')
        .collect();
    Call::new("DELETE", format!("/orders/{id}"), Params::None)
}

pub(super) fn place_advanced(o: &OrderRequest) -> Call {
    let config = match o.price() {
        None => json!({"market_market_ioc": {"base_size": o.quantity}}),
        Some(price) => {
            json!({"limit_limit_gtc": {"base_size": o.quantity, "limit_price": price}})
        }
    };
    let body = json!({
        "client_order_id": o.client_order_id.clone().unwrap_or_default(),
        "product_id": o.symbol,
        "side": side(o.side).to_ascii_uppercase(),
        "order_configuration": config,
    });
    Call::new("POST", "/api/v3/brokerage/orders", Params::Json(body))
}

pub(super) fn cancel_advanced(c: &CancelRequest) -> Call {
    let body = json!({"order_ids": [c.order_id]});
    Call::new(
        "POST",
        "/api/v3/brokerage/orders/batch_cancel",
        Params::Json(body),
    )
}

pub(super) fn classify(status: u16, v: &Value) -> Option<Found> {
    if status < 400 {
        return None;
    }
    let msg = text(v, "message")
        .or_else(|| text(v, "error_details"))
        .or_else(|| text(v, "error"))?;
    let kind = by_text(&msg).unwrap_or(match status {
        401 => Kind::Auth,
        403 => Kind::Permission,
        _ => Kind::Rejected,
    });
    Some(Found::new(kind, None, &msg))
}
