//! Binance spot: form-encoded writes, `{"code":-1022,"msg":...}` errors, request weights, the
//! WebSocket API's `session.logon` (Ed25519 keys) or `userDataStream.subscribe.signature`
//! (HMAC and RSA keys), a 24-hour connection limit.
//! Codes: <https://developers.binance.com/docs/binance-spot-api-docs/errors>.

use std::time::Duration;

use keyward_resilience::RequestClass;
use keyward_resilience::limiter::Limit;
use keyward_signing::keys::KeyKind;
use serde_json::{Value, json};

use super::LimitScope;
use super::order_id::{IdForm, OrderIdRule, alnum_and};
use super::relay::{Endpoint, RelayRules, WsRelay};
use super::rules::VenueRules;
use super::time::{ServerTime, TimeUnit};
use super::ws_auth::{Ack, WsAuthBy, WsMessage, field_text, same_id};
use super::{Call, Found, text};
use crate::error::ErrorKind;
use crate::order::{CancelRequest, OrderRequest, Side};
use crate::params::Params;
use crate::ws::WsError;

/// Binance spot.
pub(super) struct Binance;

/// `newClientOrderId`: 1 to 36 characters of `[.A-Za-z:/0-9_-]`, the range Binance's error
/// -1100 names (<https://developers.binance.com/docs/binance-spot-api-docs/rest-api/trading-endpoints>).
const ORDER_ID: OrderIdRule = OrderIdRule {
    field: "newClientOrderId",
    form: IdForm::Token {
        max_len: 36,
        allowed: |c| alnum_and(c, "._:/-"),
    },
};

/// Binance closes a WebSocket API connection after 24 hours; keyward reconnects five minutes
/// before.
pub(super) const MAX_AGE: Duration = Duration::from_secs(24 * 3600 - 300);

/// The WebSocket API method that authenticates a connection (Ed25519 keys only).
const LOGON: &str = "session.logon";

/// The WebSocket API method that subscribes a logged-on connection to the user data stream.
const SUBSCRIBE: &str = "userDataStream.subscribe";

/// The WebSocket API method that subscribes to the user data stream with a signed request.
const SUBSCRIBE_SIGNED: &str = "userDataStream.subscribe.signature";

/// The one -2010 NEW_ORDER_REJECTED message that means a lack of funds, as the errors page's
/// "Messages for -1010 ERROR_MSG_RECEIVED, -2010 NEW_ORDER_REJECTED, and -2011
/// CANCEL_REJECTED" lists it.
const INSUFFICIENT_BALANCE: &str = "Account has insufficient balance for requested action.";

/// The signing proxy's rules (<https://developers.binance.com/docs/binance-spot-api-docs/rest-api>):
/// market data and `/api/v3/ping`, `/time`, `/exchangeInfo` are public ("NONE" security type);
/// a `signature` parameter and the `X-MBX-APIKEY` header are a client's own signing, and the
/// signer sets `timestamp`. Weights are the documented ones; `X-MBX-USED-WEIGHT-*` and
/// `X-MBX-ORDER-COUNT-*` carry the usage.
const RELAY: RelayRules = RelayRules {
    public: &[
        "/api/v3/ping",
        "/api/v3/time",
        "/api/v3/exchangeInfo",
        "/api/v3/depth",
        "/api/v3/trades",
        "/api/v3/aggTrades",
        "/api/v3/klines",
        "/api/v3/uiKlines",
        "/api/v3/avgPrice",
        "/api/v3/ticker",
    ],
    endpoints: &[
        Endpoint {
            method: "POST",
            path: "/api/v3/order",
            class: RequestClass::NonIdempotentWrite,
            weight: 1,
            orders: 1,
        },
        Endpoint {
            method: "DELETE",
            path: "/api/v3/order",
            class: RequestClass::IdempotentWrite,
            weight: 1,
            orders: 0,
        },
        Endpoint {
            method: "GET",
            path: "/api/v3/account",
            class: RequestClass::Read,
            weight: 20,
            orders: 0,
        },
        Endpoint {
            method: "GET",
            path: "/api/v3/openOrders",
            class: RequestClass::Read,
            weight: 6,
            orders: 0,
        },
    ],
    credential_params: &["signature"],
    credential_headers: &["x-mbx-apikey"],
    generated_params: &["timestamp"],
    answer_headers: &["x-mbx-used-weight", "x-mbx-order-count"],
    // A user data stream needs no auth message: its listenKey comes from
    // `POST /api/v3/userDataStream`, which the proxy relays. The WebSocket API's
    // `session.logon` takes Ed25519 keys only, and its other requests are signed one by one.
    ws: WsRelay::NotNeeded(
        "Binance's private streams need no auth message: get a listenKey with POST /api/v3/userDataStream through this proxy and connect to the venue's stream with it",
    ),
};

impl VenueRules for Binance {
    fn relay(&self) -> Option<&'static RelayRules> {
        Some(&RELAY)
    }

    fn production_origin(&self) -> Option<&'static str> {
        Some("https://api.binance.com")
    }

    /// `GET /api/v3/time`: `{"serverTime": 1499827319559}`, milliseconds.
    fn server_time(&self) -> Option<ServerTime> {
        Some(ServerTime {
            path: "/api/v3/time",
            field: "serverTime",
            unit: TimeUnit::Millis,
        })
    }

    fn balance(&self) -> Option<Call> {
        Some(Call::new("GET", "/api/v3/account", Params::None).weight(20))
    }

    fn order_id(&self) -> Option<OrderIdRule> {
        Some(ORDER_ID)
    }

    /// The answer names the order in `orderId`.
    fn place(&self, o: &OrderRequest) -> Option<Call> {
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
        Some(
            Call::new("POST", "/api/v3/order", Params::form(p))
                .orders(1)
                .answer_order_id("orderId"),
        )
    }

    fn cancel(&self, c: &CancelRequest) -> Option<Call> {
        Some(
            Call::new(
                "DELETE",
                "/api/v3/order",
                Params::query([
                    ("symbol", c.symbol.as_str()),
                    ("orderId", c.order_id.as_str()),
                ]),
            )
            .answer_order_id("orderId"),
        )
    }

    /// -1021 INVALID_TIMESTAMP ("outside of the recvWindow", "ahead of the server's time") is
    /// a request Binance refused before processing it.
    fn classify(&self, status: u16, v: &Value) -> Option<Found> {
        if status < 400 {
            return None;
        }
        let code = text(v, "code")?;
        let msg = text(v, "msg").unwrap_or_default();
        let kind = match code.as_str() {
            "-1022" | "-2014" | "-2015" | "-1002" => ErrorKind::Authentication,
            "-1021" => ErrorKind::Timestamp,
            "-1003" | "-1015" => ErrorKind::RateLimited,
            "-2010" if msg == INSUFFICIENT_BALANCE => ErrorKind::InsufficientFunds,
            _ => ErrorKind::Rejected,
        };
        Some(Found::new(kind, Some(code), &msg))
    }
    /// Binance counts request weight per IP address and orders per account
    /// (<https://developers.binance.com/docs/binance-spot-api-docs/rest-api/limits>: "REQUEST_WEIGHT
    /// ... based on IP addresses", "ORDERS ... based on the account").
    fn limit_scope(&self, limit: &Limit) -> LimitScope {
        if limit.unit == "orders" {
            LimitScope::Account
        } else {
            LimitScope::Ip
        }
    }

    /// Binance spot's documented limits
    /// (<https://developers.binance.com/docs/binance-spot-api-docs/rest-api/limits>): 6,000
    /// request weight per minute (`X-MBX-USED-WEIGHT-1M`), 50 orders per 10 s
    /// (`X-MBX-ORDER-COUNT-10S`) and 160,000 orders per day (`X-MBX-ORDER-COUNT-1D`). An order
    /// costs its weight on `weight` and 1 on `orders`.
    fn default_limits(&self) -> Vec<Limit> {
        vec![
            Limit::new("weight/1m", "weight", 6_000, Duration::from_secs(60))
                .with_usage_header("X-MBX-USED-WEIGHT-1M"),
            Limit::new("orders/10s", "orders", 50, Duration::from_secs(10))
                .with_usage_header("X-MBX-ORDER-COUNT-10S"),
            Limit::new("orders/1d", "orders", 160_000, Duration::from_secs(86_400))
                .with_usage_header("X-MBX-ORDER-COUNT-1D"),
        ]
    }

    fn ws_auth(&self) -> Option<WsAuthBy> {
        Some(WsAuthBy::Message)
    }

    /// With an Ed25519 key, `session.logon`
    /// (<https://developers.binance.com/docs/binance-spot-api-docs/websocket-api/session-authentication>):
    /// it authenticates the connection, and takes Ed25519 keys only (an HMAC key is answered
    /// -1022). With an HMAC or RSA key, `userDataStream.subscribe.signature`, which takes a
    /// signed request from any key type
    /// (<https://developers.binance.com/en/docs/catalog/core-trading-spot-trading/api/ws-api/user-data-stream#user-data-stream-subscribe-signature>).
    fn ws_message(&self, m: &WsMessage<'_>) -> Result<(Value, Value), WsError> {
        let id = Value::from(format!("keyward-auth-{}", m.id));
        let (method, signed_for) = if m.key == KeyKind::Ed25519 {
            (LOGON, Some(LOGON))
        } else {
            (SUBSCRIBE_SIGNED, None)
        };
        let params = (m.sign)(m.params, signed_for)?;
        Ok((json!({"id": id, "method": method, "params": params}), id))
    }

    /// After `session.logon`, `userDataStream.subscribe` (unsigned: the session is logged on)
    /// subscribes the connection to the user data stream, as
    /// `userDataStream.subscribe.signature` does for the other keys; its answer
    /// (`{"id":..,"status":200,"result":{"subscriptionId":0}}`) arrives as a message.
    fn ws_after_auth(&self, key: KeyKind, id: u64) -> Option<Value> {
        (key == KeyKind::Ed25519)
            .then(|| json!({"id": format!("keyward-subscribe-{id}"), "method": SUBSCRIBE}))
    }

    /// `{"id":..,"status":200,"result":..}`, or a `status` with `error: {code, msg}`.
    fn ws_ack(&self, id: &Value, msg: &Value) -> Ack {
        if msg.get("status").is_none() || !same_id(msg, id) {
            return Ack::Other;
        }
        if msg.get("status").and_then(Value::as_u64) == Some(200) {
            return Ack::Accepted;
        }
        let err = msg.get("error").unwrap_or(&Value::Null);
        Ack::refused(field_text(err, "code"), field_text(err, "msg"))
    }

    /// -1021 INVALID_TIMESTAMP (outside `recvWindow`), -1003 TOO_MANY_REQUESTS.
    fn ws_auth_refusal(&self, code: &str) -> Option<ErrorKind> {
        match code {
            "-1021" => Some(ErrorKind::Timestamp),
            "-1003" => Some(ErrorKind::RateLimited),
            _ => None,
        }
    }

    fn ws_max_age(&self) -> Option<Duration> {
        Some(MAX_AGE)
    }
}
