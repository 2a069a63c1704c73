//! Kraken spot: every private call is a form-encoded POST with a nonce; errors come with HTTP
//! 200 as `{"error":["EAPI:Invalid key"]}`, the string being the code. WebSocket: a token from
//! REST in a `subscribe`. Codes: <https://docs.kraken.com/api/docs/guides/spot-errors>.

use keyward_resilience::RequestClass;
use keyward_signing::QueryEncoding;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use super::order_id::{IdForm, OrderIdRule, alnum_and};
use super::relay::{Endpoint, RelayRules, WsRelay};
use super::rules::VenueRules;
use super::time::{ServerTime, TimeUnit};
use super::ws_auth::{Ack, WsAuthBy, WsMessage, WsToken, field_text, str_field};
use super::{Call, Found};
use crate::error::ErrorKind;
use crate::order::{CancelRequest, OrderRequest, Side};
use crate::params::Params;
use crate::ws::WsError;

/// Kraken spot.
pub(super) struct Kraken;

/// `cl_ord_id`: a UUID with hyphens (36) or without (32 hex digits), or up to 18 characters of
/// free text (<https://docs.kraken.com/api/docs/guides/spot-clordid>). keyward checks the
/// characters and the 36 limit and generates the 32-digit form; Kraken itself refuses free
/// text over 18.
const ORDER_ID: OrderIdRule = OrderIdRule {
    field: "cl_ord_id",
    form: IdForm::Token {
        max_len: 36,
        allowed: |c| alnum_and(c, "-"),
    },
};

/// The error strings of the spot errors page keyward acts on. Kraken's errors read
/// `<severity><category>:<message>[:<additional text>]`: a string matches a code when it is the
/// code, or the code followed by `:` and more.
const ERRORS: &[(&str, ErrorKind)] = &[
    ("EAPI:Invalid key", ErrorKind::Authentication),
    ("EAPI:Invalid signature", ErrorKind::Authentication),
    ("EAPI:Bad request", ErrorKind::Authentication),
    ("EAPI:Invalid nonce", ErrorKind::Nonce),
    ("EAPI:Rate limit exceeded", ErrorKind::RateLimited),
    ("EOrder:Rate limit exceeded", ErrorKind::RateLimited),
    ("EGeneral:Too many requests", ErrorKind::RateLimited),
    ("EGeneral:Permission denied", ErrorKind::Permission),
    ("EOrder:Insufficient funds", ErrorKind::InsufficientFunds),
];

/// The kind of Kraken error string `error`: a documented code's, else Rejected.
fn kind_of(error: &str) -> ErrorKind {
    ERRORS
        .iter()
        .find(|(code, _)| {
            error
                .strip_prefix(code)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(':'))
        })
        .map_or(ErrorKind::Rejected, |(_, kind)| *kind)
}

/// The first error of a Kraken answer (`{"error":["EAPI:Invalid key"]}`).
fn first_error(v: &Value) -> Option<&str> {
    v.get("error")?.as_array()?.first()?.as_str()
}

/// The signing proxy's rules (<https://docs.kraken.com/api/docs/guides/spot-rest-auth>):
/// `/0/public/` is public; `API-Key` and `API-Sign` are a client's own signing, and the signer
/// sets `nonce` (the proxy's one nonce sequence is what keeps several bots from "Invalid
/// nonce"). Every private endpoint is a POST: the reads are listed as reads.
const RELAY: RelayRules = RelayRules {
    public: &["/0/public/"],
    endpoints: &[
        Endpoint {
            method: "POST",
            path: "/0/private/AddOrder",
            class: RequestClass::NonIdempotentWrite,
            weight: 1,
            orders: 1,
        },
        Endpoint {
            method: "POST",
            path: "/0/private/CancelOrder",
            class: RequestClass::IdempotentWrite,
            weight: 1,
            orders: 0,
        },
        Endpoint {
            method: "POST",
            path: "/0/private/Balance",
            class: RequestClass::Read,
            weight: 1,
            orders: 0,
        },
        Endpoint {
            method: "POST",
            path: "/0/private/BalanceEx",
            class: RequestClass::Read,
            weight: 1,
            orders: 0,
        },
        Endpoint {
            method: "POST",
            path: "/0/private/TradeBalance",
            class: RequestClass::Read,
            weight: 1,
            orders: 0,
        },
        Endpoint {
            method: "POST",
            path: "/0/private/OpenOrders",
            class: RequestClass::Read,
            weight: 1,
            orders: 0,
        },
        Endpoint {
            method: "POST",
            path: "/0/private/ClosedOrders",
            class: RequestClass::Read,
            weight: 1,
            orders: 0,
        },
        Endpoint {
            method: "POST",
            path: "/0/private/QueryOrders",
            class: RequestClass::Read,
            weight: 1,
            orders: 0,
        },
        Endpoint {
            method: "POST",
            path: "/0/private/TradesHistory",
            class: RequestClass::Read,
            weight: 1,
            orders: 0,
        },
    ],
    credential_params: &[],
    credential_headers: &["api-key", "api-sign"],
    generated_params: &["nonce"],
    answer_headers: &[],
    // Kraken's private channels take a token in each subscribe, from
    // `POST /0/private/GetWebSocketsToken`, which the proxy relays.
    ws: WsRelay::NotNeeded(
        "Kraken's private channels need no auth message: get a token with POST /0/private/GetWebSocketsToken through this proxy and subscribe on the venue's stream with it",
    ),
};

impl VenueRules for Kraken {
    fn relay(&self) -> Option<&'static RelayRules> {
        Some(&RELAY)
    }

    fn production_origin(&self) -> Option<&'static str> {
        Some("https://api.kraken.com")
    }

    fn query_encoding(&self) -> QueryEncoding {
        QueryEncoding::Form
    }

    fn uses_nonces(&self) -> bool {
        true
    }

    /// `GET /0/public/Time`: `{"result":{"unixtime":1688669448,"rfc1123":".."}}`, seconds.
    fn server_time(&self) -> Option<ServerTime> {
        Some(ServerTime {
            path: "/0/public/Time",
            field: "result.unixtime",
            unit: TimeUnit::Seconds,
        })
    }

    fn balance(&self) -> Option<Call> {
        Some(Call::new(
            "POST",
            "/0/private/Balance",
            Params::Form(Vec::new()),
        ))
    }

    fn order_id(&self) -> Option<OrderIdRule> {
        Some(ORDER_ID)
    }

    /// The answer names the order in `result.txid`, a list of one.
    fn place(&self, o: &OrderRequest) -> Option<Call> {
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
        Some(
            Call::new("POST", "/0/private/AddOrder", Params::form(p))
                .answer_order_id("result.txid.0"),
        )
    }

    /// The answer (`{"result":{"count":1}}`) names no order.
    fn cancel(&self, c: &CancelRequest) -> Option<Call> {
        Some(Call::new(
            "POST",
            "/0/private/CancelOrder",
            Params::form([("txid", c.order_id.as_str())]),
        ))
    }

    fn classify(&self, _status: u16, v: &Value) -> Option<Found> {
        let first = first_error(v)?;
        Some(Found::new(kind_of(first), Some(first.to_owned()), first))
    }

    fn ws_auth(&self) -> Option<WsAuthBy> {
        Some(WsAuthBy::Token)
    }

    /// `POST /0/private/GetWebSocketsToken` (valid 15 minutes unless used):
    /// `{"result":{"token":..,"expires":900}}`. A refused key or permission is final; anything
    /// else (a rate limit, a nonce out of order) is worth another attempt.
    fn ws_token(&self) -> Option<WsToken> {
        Some(WsToken {
            path: "/0/private/GetWebSocketsToken",
            field: "result.token",
            error: |v| {
                let error = v.get("error")?.as_array()?.first()?;
                let text = error.as_str().unwrap_or("unknown error");
                let refused = matches!(
                    kind_of(text),
                    ErrorKind::Authentication | ErrorKind::Permission
                );
                Some((text.to_owned(), refused))
            },
        })
    }

    /// `{"event":"subscribe","subscription":{"name":"ownTrades","token":..},"reqid":id}`.
    fn ws_message(&self, m: &WsMessage<'_>) -> Result<(Value, Value), WsError> {
        let token = m.token.ok_or(WsError::Token {
            reason: "no token was obtained".into(),
        })?;
        let mut subscription = m.params.clone();
        subscription
            .entry("name")
            .or_insert_with(|| "ownTrades".into());
        subscription.insert("token".into(), token.expose_secret().into());
        Ok((
            json!({"event": "subscribe", "subscription": subscription, "reqid": m.id}),
            Value::from(m.id),
        ))
    }

    /// WebSocket v2 `{"method":"subscribe","success":..,"req_id":..}` or v1
    /// `{"event":"subscriptionStatus","status":"subscribed","reqid":..}`; a refusal's code is
    /// the error's category (`EAccount`).
    fn ws_ack(&self, id: &Value, msg: &Value) -> Ack {
        let refused = |message: Option<String>| {
            let code = message
                .as_deref()
                .and_then(|m| m.split(':').next())
                .map(str::to_owned);
            Ack::refused(code, message)
        };
        if str_field(msg, "method") == Some("subscribe") {
            if msg.get("req_id").is_some_and(|got| got != id) {
                Ack::Other
            } else if msg.get("success").and_then(Value::as_bool) == Some(true) {
                Ack::Accepted
            } else {
                refused(field_text(msg, "error"))
            }
        } else if str_field(msg, "event") == Some("subscriptionStatus") {
            if msg.get("reqid").is_some_and(|got| got != id) {
                return Ack::Other;
            }
            match str_field(msg, "status") {
                Some("subscribed") => Ack::Accepted,
                _ => refused(field_text(msg, "errorMessage")),
            }
        } else {
            Ack::Other
        }
    }
}
