//! Kraken spot: every private call is a form-encoded POST with a nonce; errors come with HTTP 200
//! as `{"error":["EAPI:Invalid key"]}`. Codes: <https://docs.kraken.com/api/docs/guides/spot-errors>.

use serde_json::Value;

use super::order_id::{IdForm, OrderIdRule, alnum_and};
use super::{Call, Found, Kind, by_text};
use crate::order::{CancelRequest, OrderRequest, Side};
use crate::params::Params;

/// `cl_ord_id`: a UUID with hyphens (36) or without (32 hex digits), or up to 18 characters of
/// free text (<https://docs.kraken.com/api/docs/guides/spot-clordid>). keyward checks the
/// characters and the 36 limit and generates the 32-digit form; Kraken itself refuses free
/// text over 18.
pub(super) const ORDER_ID: OrderIdRule = OrderIdRule {
    field: "cl_ord_id",
    form: IdForm::Token {
        max_len: 36,
        allowed: |c| alnum_and(c, "-"),
    },
};

pub(super) fn balance() -> Call {
    Call::new("POST", "/0/private/Balance", Params::Form(Vec::new()))
}

pub(super) fn place(o: &OrderRequest) -> Call {
    let mut p = vec![
        ("pair", o.symbol.as_str()),
        (
            "type",
            match o.side {
                Side::Buy => "buy",
                Side::Sell => "sell",
            },
        ),
        ("volume", o.quantity.as_str()),
    ];
    match o.price() {
        None => p.push(("ordertype", "market")),
        Some(price) => p.extend([("ordertype", "limit"), ("price", price)]),
    }
    if let Some(id) = &o.client_order_id {
        p.push((ORDER_ID.field, id));
    }
    Call::new("POST", "/0/private/AddOrder", Params::form(p))
}

pub(super) fn cancel(c: &CancelRequest) -> Call {
    Call::new(
        "POST",
        "/0/private/CancelOrder",
        Params::form([("txid", c.order_id.as_str())]),
    )
}

pub(super) fn classify(_status: u16, v: &Value) -> Option<Found> {
    let first = v.get("error")?.as_array()?.first()?.as_str()?;
    let kind = match first {
        "EAPI:Invalid key" | "EAPI:Invalid signature" | "EAPI:Bad request" => Kind::Auth,
        "EAPI:Invalid nonce" => Kind::Nonce,
        "EAPI:Rate limit exceeded"
        | "EOrder:Rate limit exceeded"
        | "EGeneral:Too many requests" => Kind::RateLimited,
        "EGeneral:Permission denied" => Kind::Permission,
        "EOrder:Insufficient funds" => Kind::Funds,
        other => by_text(other).unwrap_or(Kind::Rejected),
    };
    Some(Found::new(kind, Some(first.to_owned()), first))
}
