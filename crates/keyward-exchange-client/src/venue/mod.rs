//! Per-venue knowledge: endpoint paths (those of `docs/TESTNET.md`, the venues' own), how order
//! parameters are spelt, where the server time is, and how error answers map to [`Error`] kinds.
//! One module per venue; this one holds what they share.

mod binance;
mod bitmex;
mod bybit;
mod coinbase;
mod deribit;
mod kraken;
mod okx;
mod order_id;
mod service;
mod ws_refusal;

use std::time::Duration;

use keyward_resilience::RequestClass;
use keyward_signing::{QueryEncoding, Scheme};
use serde_json::Value;

use crate::error::{Error, ErrorKind, VenueDetail};
use crate::order::{CancelRequest, OrderRequest};
use crate::params::Params;
use order_id::OrderIdRule;

pub(crate) use ws_refusal::WsRefusal;

/// One call to make: method, path (below the base URL), parameters, class and rate costs.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) method: &'static str,
    pub(crate) path: String,
    pub(crate) params: Params,
    pub(crate) class: RequestClass,
    /// Units charged to the rate limiter: request weight and orders placed (inline, so a
    /// call allocates nothing for them).
    pub(crate) weight: u32,
    pub(crate) orders: u32,
    pub(crate) signed: bool,
    /// The client order id an order placement carries, to name in an unknown outcome.
    pub(crate) client_order_id: Option<String>,
}

impl Call {
    pub(crate) fn new(method: &'static str, path: impl Into<String>, params: Params) -> Self {
        Self {
            method,
            path: path.into(),
            params,
            class: RequestClass::Read,
            weight: 1,
            orders: 0,
            signed: true,
            client_order_id: None,
        }
    }

    pub(crate) fn class(mut self, class: RequestClass) -> Self {
        self.class = class;
        self
    }

    pub(crate) fn weight(mut self, weight: u32) -> Self {
        self.weight = weight;
        self
    }

    pub(crate) fn orders(mut self, orders: u32) -> Self {
        self.orders = orders;
        self
    }

    /// The rate-limiter costs, as (unit, amount); a zero amount charges nothing.
    pub(crate) fn costs(&self) -> [(&'static str, u32); 2] {
        [("weight", self.weight), ("orders", self.orders)]
    }

    fn public(mut self) -> Self {
        self.signed = false;
        self
    }
}

/// An error kind a venue answer maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Auth,
    Permission,
    RateLimited,
    Timestamp,
    Nonce,
    Funds,
    Rejected,
}

/// A venue error found in an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    pub(crate) kind: Kind,
    pub(crate) code: Option<String>,
    pub(crate) message: String,
}

impl Found {
    fn new(kind: Kind, code: Option<String>, message: &str) -> Self {
        Self {
            kind,
            code,
            message: message.to_owned(),
        }
    }
}

/// The venue a scheme talks to, as far as the client cares.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Venue {
    pub(crate) scheme: Scheme,
}

impl Venue {
    pub(crate) fn name(self) -> &'static str {
        self.scheme.name()
    }

    /// Whether requests carry a nonce that must reach the venue in increasing order.
    pub(crate) fn uses_nonces(self) -> bool {
        matches!(self.scheme, Scheme::Kraken)
    }

    /// Whether a WebSocket authentication signed again within the same second is refused as a
    /// replay. Only keyward's own `hmac-newline-v0` is: its signed upgrade covers a time in whole
    /// seconds and its verifiers keep a replay cache. The venues' only guard is their freshness
    /// window (OKX, Coinbase Exchange and BitMEX sign whole seconds too, and take the same auth
    /// again), so re-authenticating with them never waits.
    pub(crate) fn ws_auth_repeat_refused_within_a_second(self) -> bool {
        matches!(self.scheme, Scheme::HmacNewlineV0)
    }

    /// Whether signatures carry a timestamp the venue checks against its clock.
    pub(crate) fn uses_timestamps(self) -> bool {
        self.time_path().is_some() && !self.uses_nonces()
    }

    /// How query strings and form bodies are encoded.
    pub(crate) fn query_encoding(self) -> QueryEncoding {
        match self.scheme {
            Scheme::Kraken | Scheme::Bitmex => QueryEncoding::Form,
            _ => QueryEncoding::Rfc3986,
        }
    }

    /// The public server-time endpoint; None for the service schemes.
    pub(crate) fn time_path(self) -> Option<&'static str> {
        Some(match self.scheme {
            Scheme::Binance => "/api/v3/time",
            Scheme::Bybit => "/v5/market/time",
            Scheme::Okx => "/api/v5/public/time",
            Scheme::CoinbaseExchange => "/time",
            Scheme::CoinbaseAdvanced => "/api/v3/brokerage/time",
            Scheme::Kraken => "/0/public/Time",
            Scheme::Bitmex => "/api/v1",
            Scheme::Deribit => "/api/v2/public/get_time",
            Scheme::Bitmart => "/system/time",
            _ => return None,
        })
    }

    pub(crate) fn time_call(self) -> Option<Call> {
        self.time_path()
            .map(|p| Call::new("GET", p, Params::None).public())
    }

    /// Server time in milliseconds from the time endpoint's answer.
    pub(crate) fn parse_time(self, v: &Value) -> Option<u64> {
        let paths: &[&str] = match self.scheme {
            Scheme::Binance => &["serverTime"],
            Scheme::Bybit => &["time", "result.timeSecond", "result.timeNano"],
            Scheme::Okx => &["data.0.ts"],
            Scheme::CoinbaseExchange => &["epoch"],
            Scheme::CoinbaseAdvanced => &["epochMillis", "epochSeconds"],
            Scheme::Kraken => &["result.unixtime"],
            Scheme::Bitmex => &["timestamp"],
            Scheme::Deribit => &["result"],
            _ => &["serverTime", "time", "timestamp"],
        };
        paths.iter().find_map(|p| lookup(v, p).and_then(as_millis))
    }

    /// The balance call.
    pub(crate) fn balance(self) -> Option<Call> {
        let (method, path) = match self.scheme {
            Scheme::Binance => return Some(binance::balance()),
            Scheme::Bybit => return Some(bybit::balance()),
            Scheme::Okx => ("GET", "/api/v5/account/balance"),
            Scheme::CoinbaseExchange => ("GET", "/accounts"),
            Scheme::CoinbaseAdvanced => ("GET", "/api/v3/brokerage/accounts"),
            Scheme::Kraken => return Some(kraken::balance()),
            Scheme::Bitmex => ("GET", "/api/v1/user/wallet"),
            Scheme::Deribit => return Some(deribit::balance()),
            _ => return None,
        };
        Some(Call::new(method, path, Params::None))
    }

    /// Where the venue takes a client order id, and in which form; None if it takes none.
    pub(crate) fn order_id(self) -> Option<OrderIdRule> {
        Some(match self.scheme {
            Scheme::Binance => binance::ORDER_ID,
            Scheme::Bybit => bybit::ORDER_ID,
            Scheme::Okx => okx::ORDER_ID,
            Scheme::CoinbaseExchange => coinbase::EXCHANGE_ORDER_ID,
            Scheme::CoinbaseAdvanced => coinbase::ADVANCED_ORDER_ID,
            Scheme::Kraken => kraken::ORDER_ID,
            Scheme::Bitmex => bitmex::ORDER_ID,
            Scheme::Deribit => deribit::ORDER_ID,
            _ => return None,
        })
    }

    /// `o` ready to place: with the caller's client order id checked against the venue's
    /// form, or a fresh one where the venue takes one.
    pub(crate) fn prepare_order(self, o: &OrderRequest) -> Result<OrderRequest, Error> {
        match self.order_id() {
            Some(rule) => rule.apply(self.name(), o),
            None => Ok(o.clone()),
        }
    }

    /// The order placement call (a non-idempotent write) for an order made ready by
    /// [`Venue::prepare_order`].
    pub(crate) fn place(self, o: &OrderRequest) -> Option<Call> {
        let call = match self.scheme {
            Scheme::Binance => binance::place(o),
            Scheme::Bybit => bybit::place(o),
            Scheme::Okx => okx::place(o),
            Scheme::CoinbaseExchange => coinbase::place_exchange(o),
            Scheme::CoinbaseAdvanced => coinbase::place_advanced(o),
            Scheme::Kraken => kraken::place(o),
            Scheme::Bitmex => bitmex::place(o),
            Scheme::Deribit => deribit::place(o),
            _ => return None,
        };
        let mut call = call.class(RequestClass::NonIdempotentWrite);
        call.client_order_id.clone_from(&o.client_order_id);
        Some(call)
    }

    /// The cancel call (an idempotent write: cancelling twice cancels once).
    pub(crate) fn cancel(self, c: &CancelRequest) -> Option<Call> {
        let call = match self.scheme {
            Scheme::Binance => binance::cancel(c),
            Scheme::Bybit => bybit::cancel(c),
            Scheme::Okx => okx::cancel(c),
            Scheme::CoinbaseExchange => coinbase::cancel_exchange(c),
            Scheme::CoinbaseAdvanced => coinbase::cancel_advanced(c),
            Scheme::Kraken => kraken::cancel(c),
            Scheme::Bitmex => bitmex::cancel(c),
            Scheme::Deribit => deribit::cancel(c),
            _ => return None,
        };
        Some(call.class(RequestClass::IdempotentWrite))
    }

    /// The venue's own error in an answer, if it is one.
    fn classify(self, status: u16, v: &Value) -> Option<Found> {
        match self.scheme {
            Scheme::Binance => binance::classify(status, v),
            Scheme::Bybit => bybit::classify(status, v),
            Scheme::Okx => okx::classify(status, v),
            Scheme::CoinbaseExchange | Scheme::CoinbaseAdvanced => coinbase::classify(status, v),
            Scheme::Kraken => kraken::classify(status, v),
            Scheme::Bitmex => bitmex::classify(status, v),
            Scheme::Deribit => deribit::classify(status, v),
            _ => service::classify(status, v),
        }
    }

    /// The answer as a value, or the error it carries.
    pub(crate) fn interpret(
        self,
        endpoint: &str,
        status: u16,
        retry_after: Option<Duration>,
        body: &[u8],
    ) -> Result<Value, Error> {
        let venue = self.scheme;
        let parsed: Option<Value> = if body.iter().all(u8::is_ascii_whitespace) {
            Some(Value::Null)
        } else {
            serde_json::from_slice(body).ok()
        };
        let v = parsed.as_ref().unwrap_or(&Value::Null);
        let found = self.classify(status, v);
        let detail = |found: &Option<Found>| match found {
            Some(f) => VenueDetail::new(status, f.code.clone(), &f.message),
            None => VenueDetail::new(status, None, &generic_message(v)),
        };
        if status == 429 || found.as_ref().is_some_and(|f| f.kind == Kind::RateLimited) {
            return Err(Error::refused(
                ErrorKind::RateLimited,
                venue,
                detail(&found),
                retry_after,
            ));
        }
        if status >= 500 {
            return Err(Error::refused(
                ErrorKind::Server,
                venue,
                detail(&found),
                retry_after,
            ));
        }
        // Only a 2xx is a success: a 1xx or a 3xx (redirects are not followed) read as one
        // would return an order that was never placed as placed.
        if !(200..=299).contains(&status) && status < 400 {
            return Err(Error::UnexpectedStatus {
                venue,
                endpoint: endpoint.to_owned(),
                status,
            });
        }
        if let Some(f) = &found {
            let d = detail(&found);
            let kind = match f.kind {
                Kind::Auth => ErrorKind::Authentication,
                Kind::Permission => ErrorKind::Permission,
                Kind::Timestamp => ErrorKind::Timestamp,
                Kind::Nonce => ErrorKind::Nonce,
                Kind::Funds => ErrorKind::InsufficientFunds,
                Kind::RateLimited | Kind::Rejected => ErrorKind::Rejected,
            };
            return Err(Error::refused(kind, venue, d, None));
        }
        if status >= 400 {
            let d = detail(&found);
            let kind = match by_text(&d.message).or(match status {
                401 => Some(Kind::Auth),
                403 => Some(Kind::Permission),
                _ => None,
            }) {
                Some(Kind::Auth) => ErrorKind::Authentication,
                Some(Kind::Permission) => ErrorKind::Permission,
                Some(Kind::Timestamp) => ErrorKind::Timestamp,
                Some(Kind::Nonce) => ErrorKind::Nonce,
                Some(Kind::Funds) => ErrorKind::InsufficientFunds,
                _ => ErrorKind::Rejected,
            };
            return Err(Error::refused(kind, venue, d, None));
        }
        parsed.ok_or_else(|| Error::Decode {
            venue,
            endpoint: endpoint.to_owned(),
            reason: format!("HTTP {status} with a body that is not JSON"),
        })
    }
}

/// A value at a dotted path (`data.0.ts`).
pub(crate) fn lookup<'v>(v: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(v, |v, part| match v {
        Value::Array(items) => items.get(part.parse::<usize>().ok()?),
        Value::Object(map) => map.get(part),
        _ => None,
    })
}

/// A string field, or a number printed.
pub(crate) fn text(v: &Value, path: &str) -> Option<String> {
    match lookup(v, path)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A time in seconds, milliseconds, microseconds or nanoseconds (number or numeric string) as
/// milliseconds.
fn as_millis(v: &Value) -> Option<u64> {
    let f = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    if !f.is_finite() || f <= 0.0 {
        return None;
    }
    let mut ms = if f < 1e11 { f * 1000.0 } else { f };
    while ms >= 1e14 {
        ms /= 1000.0;
    }
    // In range by the loop above: below 1e14, well inside u64.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Some(ms as u64)
}

/// The message of an error answer, whatever the venue calls it.
fn generic_message(v: &Value) -> String {
    [
        "msg",
        "message",
        "retMsg",
        "error.message",
        "error",
        "error.0",
    ]
    .iter()
    .find_map(|p| text(v, p))
    .unwrap_or_default()
}

/// A kind from an error message's words, for answers without a known code.
pub(crate) fn by_text(message: &str) -> Option<Kind> {
    let m = message.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| m.contains(w));
    if has(&["nonce"]) {
        Some(Kind::Nonce)
    } else if has(&["timestamp", "expired", "recvwindow", "recv_window"]) {
        Some(Kind::Timestamp)
    } else if has(&["insufficient", "not_enough_funds", "not enough"]) {
        Some(Kind::Funds)
    } else if has(&["rate limit", "too many", "too_many"]) {
        Some(Kind::RateLimited)
    } else if has(&["permission", "forbidden", "not allowed"]) {
        Some(Kind::Permission)
    } else if has(&[
        "signature",
        "api key",
        "api-key",
        "apikey",
        "invalid key",
        "credential",
        "passphrase",
        "unauthorized",
        "sign",
    ]) {
        Some(Kind::Auth)
    } else {
        None
    }
}

#[cfg(test)]
mod tests;
