//! Deribit: JSON-RPC over HTTP GET with query parameters; errors as
//! `{"jsonrpc":"2.0","error":{"code":13004,"message":"invalid_credentials"}}`.
//! Codes: <https://docs.deribit.com/#rpc-error-codes>.

use serde_json::Value;

use super::order_id::{IdForm, OrderIdRule};
use super::{Call, Found, Kind, by_text, text};
use crate::order::{CancelRequest, OrderRequest, Side};
use crate::params::Params;

/// `label`: a user-defined label of up to 64 characters
/// (<https://docs.deribit.com/#private-buy>), Deribit's client order id.
pub(super) const ORDER_ID: OrderIdRule = OrderIdRule {
    field: "label",
    form: IdForm::Token {
        max_len: 64,
        allowed: |c| c.is_ascii_graphic(),
    },
};

pub(super) fn balance() -> Call {
    Call::new(
        "GET",
        "/api/v2/private/get_account_summary",
        Params::query([("currency", "BTC")]),
    )
}

pub(super) fn place(o: &OrderRequest) -> Call {
    let path = match o.side {
        Side::Buy => "/api/v2/private/buy",
        Side::Sell => "/api/v2/private/sell",
    };
    let mut p = vec![
        ("instrument_name", o.symbol.as_str()),
        ("amount", o.quantity.as_str()),
    ];
    match o.price() {
        None => p.push(("type", "market")),
        Some(price) => p.extend([("type", "limit"), ("price", price)]),
    }
    if let Some(id) = &o.client_order_id {
        p.push((ORDER_ID.field, id));
    }
    Call::new("GET", path, Params::query(p))
}

pub(super) fn cancel(c: &CancelRequest) -> Call {
    Call::new(
        "GET",
        "/api/v2/private/cancel",
        Params::query([("order_id", c.order_id.as_str())]),
    )
}

pub(super) fn classify(_status: u16, v: &Value) -> Option<Found> {
    let code = text(v, "error.code")?;
    let msg = text(v, "error.message").unwrap_or_default();
    // Deribit answers a stale timestamp with 13004 too; its message says which.
    let kind = match code.as_str() {
        _ if by_text(&msg) == Some(Kind::Timestamp) => Kind::Timestamp,
        "13004" | "13009" | "13008" | "13007" => Kind::Auth,
        "13021" | "13020" => Kind::Permission,
        "10028" => Kind::RateLimited,
        "10009" => Kind::Funds,
        _ => by_text(&msg).unwrap_or(Kind::Rejected),
    };
    Some(Found::new(kind, Some(code), &msg))
}

/// The `public/auth` refusal codes that may succeed later (Deribit's "RPC error codes"): 10028
/// too_many_requests. Deribit has no code of its own for a stale timestamp (it answers 13004,
/// as for a bad key), so none is declared.
pub(super) fn ws_auth_refusal(code: &str) -> Option<Kind> {
    (code == "10028").then_some(Kind::RateLimited)
}
