//! Deribit: JSON-RPC over HTTP GET with query parameters; errors as
//! `{"jsonrpc":"2.0","error":{"code":13004,"message":"invalid_credentials"}}`; WebSocket
//! `public/auth`. Codes: <https://docs.deribit.com/#rpc-error-codes> (the same table at
//! <https://docs.deribit.com/articles/errors>). Deribit documents no code of its own for a
//! stale timestamp (it answers 13004 `invalid_credentials`, as for a bad key), so none of its
//! refusals is a timestamp refusal: a clock that drifted shows as refused credentials.

use serde_json::Value;

use super::order_id::{IdForm, OrderIdRule};
use super::rules::VenueRules;
use super::time::{ServerTime, TimeUnit};
use super::ws_auth::{Ack, WsAuthBy, WsMessage, field_text, same_id};
use super::{Call, Found, text};
use crate::error::ErrorKind;
use crate::order::{CancelRequest, OrderRequest, Side};
use crate::params::Params;
use crate::ws::WsError;

/// Deribit.
pub(super) struct Deribit;

/// `label`: a user-defined label of up to 64 characters
/// (<https://docs.deribit.com/#private-buy>), Deribit's client order id.
const ORDER_ID: OrderIdRule = OrderIdRule {
    field: "label",
    form: IdForm::Token {
        max_len: 64,
        allowed: |c| c.is_ascii_graphic(),
    },
};

impl VenueRules for Deribit {
    fn production_origin(&self) -> Option<&'static str> {
        Some("https://www.deribit.com")
    }

    /// `GET /api/v2/public/get_time`: `{"jsonrpc":"2.0","result":1550147385946}`, ms.
    fn server_time(&self) -> Option<ServerTime> {
        Some(ServerTime {
            path: "/api/v2/public/get_time",
            field: "result",
            unit: TimeUnit::Millis,
        })
    }

    fn balance(&self) -> Option<Call> {
        Some(Call::new(
            "GET",
            "/api/v2/private/get_account_summary",
            Params::query([("currency", "BTC")]),
        ))
    }

    fn order_id(&self) -> Option<OrderIdRule> {
        Some(ORDER_ID)
    }

    /// The answer names the order in `result.order.order_id`.
    fn place(&self, o: &OrderRequest) -> Option<Call> {
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
        Some(Call::new("GET", path, Params::query(p)).answer_order_id("result.order.order_id"))
    }

    /// The answer is the cancelled order, named in `result.order_id`.
    fn cancel(&self, c: &CancelRequest) -> Option<Call> {
        Some(
            Call::new(
                "GET",
                "/api/v2/private/cancel",
                Params::query([("order_id", c.order_id.as_str())]),
            )
            .answer_order_id("result.order_id"),
        )
    }

    fn classify(&self, _status: u16, v: &Value) -> Option<Found> {
        let code = text(v, "error.code")?;
        let msg = text(v, "error.message").unwrap_or_default();
        let kind = match code.as_str() {
            "13004" | "13009" | "13008" | "13007" => ErrorKind::Authentication,
            "13021" | "13020" => ErrorKind::Permission,
            "10028" => ErrorKind::RateLimited,
            "10009" => ErrorKind::InsufficientFunds,
            _ => ErrorKind::Rejected,
        };
        Some(Found::new(kind, Some(code), &msg))
    }

    fn ws_auth(&self) -> Option<WsAuthBy> {
        Some(WsAuthBy::Message)
    }

    /// The signed `public/auth` request with this connection's `id`.
    fn ws_message(&self, m: &WsMessage<'_>) -> Result<(Value, Value), WsError> {
        let mut msg = (m.sign)(m.params, None)?;
        if let Some(obj) = msg.as_object_mut() {
            obj.insert("id".into(), m.id.into());
        }
        Ok((msg, Value::from(m.id)))
    }

    /// JSON-RPC: `result` or `error: {code, message}` with the request's `id`.
    fn ws_ack(&self, id: &Value, msg: &Value) -> Ack {
        if !same_id(msg, id) {
            return Ack::Other;
        }
        if msg.get("result").is_some() {
            Ack::Accepted
        } else if let Some(err) = msg.get("error") {
            Ack::refused(field_text(err, "code"), field_text(err, "message"))
        } else {
            Ack::Other
        }
    }

    /// 10028 too_many_requests may succeed later; no code names a stale timestamp.
    fn ws_auth_refusal(&self, code: &str) -> Option<ErrorKind> {
        (code == "10028").then_some(ErrorKind::RateLimited)
    }
}
