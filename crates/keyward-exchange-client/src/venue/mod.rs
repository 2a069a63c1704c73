//! Per-venue knowledge, one module per venue, each declaring a [`VenueRules`] descriptor:
//! endpoint paths (those of `docs/TESTNET.md`, the venues' own), how order parameters are
//! spelt, where the server time is and in which unit, the error codes the venue documents,
//! the field of its answers that names the order id, how it takes a WebSocket authentication,
//! and its default rate limits. [`rules_of`] is the one place that picks a descriptor for a
//! [`Scheme`]; a [`Venue`] holds it from the moment a client or session is built. This module
//! holds what the venues share: reading an answer into a value or an [`Error`].
//!
//! Classification is from facts only: a venue's documented codes (and, for the venues that
//! answer without codes, their documented messages, matched whole), then HTTP's own meaning
//! of 401, 403 and 429. A message's words are never searched: an unknown code or message is
//! [`ErrorKind::Rejected`].

mod binance;
mod bitmart;
mod bitmex;
mod bybit;
mod call;
mod coinbase;
mod deribit;
mod kraken;
mod limit_scope;
mod okx;
mod order_id;
mod relay;
mod rules;
mod service;
mod time;
mod ws_auth;
mod ws_refusal;

use std::fmt;
use std::time::Duration;

use keyward_resilience::RequestClass;
use keyward_resilience::limiter::Limit;
use keyward_signing::{QueryEncoding, Scheme};
use serde_json::Value;

use crate::error::{Error, ErrorKind, VenueDetail};
use crate::order::{CancelRequest, OrderRequest};
use crate::params::Params;

pub(crate) use call::Call;
pub use limit_scope::LimitScope;
use order_id::OrderIdRule;
pub(crate) use relay::RelayRules;
#[cfg(feature = "proxy")]
pub(crate) use relay::WsRelay;
use rules::VenueRules;
pub(crate) use ws_auth::{Ack, WsAuthBy, WsMessage, WsToken, value_text};
pub(crate) use ws_refusal::WsRefusal;

/// The descriptor of `scheme`'s venue: the one place that matches on a [`Scheme`].
fn rules_of(scheme: Scheme) -> &'static dyn VenueRules {
    match scheme {
        Scheme::Binance => &binance::Binance,
        Scheme::Bybit => &bybit::Bybit,
        Scheme::Okx => &okx::Okx,
        Scheme::CoinbaseExchange => &coinbase::Exchange,
        Scheme::CoinbaseAdvanced => &coinbase::Advanced,
        Scheme::Kraken => &kraken::Kraken,
        Scheme::Bitmex => &bitmex::Bitmex,
        Scheme::Deribit => &deribit::Deribit,
        Scheme::Bitmart => &bitmart::Bitmart,
        Scheme::HmacNewlineV0 => &service::HmacNewlineV0,
        Scheme::HmacConcat => &service::HmacConcat,
        Scheme::KeywardV1 => &service::KeywardV1,
        _ => &rules::Undescribed,
    }
}

/// The production REST origin of `scheme`'s venue (`https://api.binance.com`), from the
/// venue's API documentation; None for the service schemes and for venues keyward signs no
/// REST request to (BitMart).
pub fn production_origin(scheme: Scheme) -> Option<&'static str> {
    rules_of(scheme).production_origin()
}

/// Whose budget `limit` counts at `scheme`'s venue (per IP, per account, per endpoint group of
/// an account), as the venue's module declares it from the venue's documentation. A fleet's
/// shared budget (`fleet::SharedBudget`, feature `redis`) keys
/// each limit by it.
pub fn limit_scope(scheme: Scheme, limit: &Limit) -> LimitScope {
    rules_of(scheme).limit_scope(limit)
}

/// A venue error found in an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    pub(crate) kind: ErrorKind,
    pub(crate) code: Option<String>,
    pub(crate) message: String,
}

impl Found {
    fn new(kind: ErrorKind, code: Option<String>, message: &str) -> Self {
        Self {
            kind,
            code,
            message: message.to_owned(),
        }
    }
}

/// The venue a client or session talks to: its scheme and its descriptor, resolved once.
#[derive(Clone, Copy)]
pub(crate) struct Venue {
    pub(crate) scheme: Scheme,
    rules: &'static dyn VenueRules,
}

impl fmt::Debug for Venue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Venue").field(&self.scheme).finish()
    }
}

impl Venue {
    /// `scheme`'s venue, its descriptor resolved.
    pub(crate) fn new(scheme: Scheme) -> Self {
        Self {
            scheme,
            rules: rules_of(scheme),
        }
    }

    pub(crate) fn name(self) -> &'static str {
        self.scheme.name()
    }

    /// Whether requests carry a nonce that must reach the venue in increasing order.
    pub(crate) fn uses_nonces(self) -> bool {
        self.rules.uses_nonces()
    }

    /// Whether signatures carry a timestamp the venue checks against its clock.
    pub(crate) fn uses_timestamps(self) -> bool {
        self.time_path().is_some() && !self.uses_nonces()
    }

    /// How query strings and form bodies are encoded.
    pub(crate) fn query_encoding(self) -> QueryEncoding {
        self.rules.query_encoding()
    }

    /// The public server-time endpoint; None for the service schemes.
    pub(crate) fn time_path(self) -> Option<&'static str> {
        self.rules.server_time().map(|t| t.path)
    }

    pub(crate) fn time_call(self) -> Option<Call> {
        self.time_path()
            .map(|p| Call::new("GET", p, Params::None).public())
    }

    /// Server time in milliseconds from the time endpoint's answer, read from the field and
    /// in the unit the venue declares.
    pub(crate) fn parse_time(self, v: &Value) -> Option<u64> {
        self.rules.server_time()?.millis(v)
    }

    /// The balance call.
    pub(crate) fn balance(self) -> Option<Call> {
        self.rules.balance()
    }

    /// Where the venue takes a client order id, and in which form; None if it takes none.
    pub(crate) fn order_id(self) -> Option<OrderIdRule> {
        self.rules.order_id()
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
        let mut call = self.rules.place(o)?.class(RequestClass::NonIdempotentWrite);
        call.client_order_id.clone_from(&o.client_order_id);
        Some(call)
    }

    /// The cancel call (an idempotent write: cancelling twice cancels once).
    pub(crate) fn cancel(self, c: &CancelRequest) -> Option<Call> {
        Some(self.rules.cancel(c)?.class(RequestClass::IdempotentWrite))
    }

    /// The header (name, value) that sends a REST request to the venue's demo trading
    /// environment; None if the venue documents none.
    pub(crate) fn demo_header(self) -> Option<(&'static str, &'static str)> {
        self.rules.demo_header()
    }

    /// The rate limits a client starts with when given none.
    pub(crate) fn default_limits(self) -> Vec<Limit> {
        self.rules.default_limits()
    }

    /// Whose budget `limit` counts at this venue (a shared fleet budget keys it so).
    #[cfg(feature = "redis")]
    pub(crate) fn limit_scope(self, limit: &Limit) -> LimitScope {
        self.rules.limit_scope(limit)
    }

    /// How a WebSocket session authenticates; None if keyward cannot authenticate one.
    /// What the signing proxy needs to know of the venue; None for a venue it does not serve.
    pub(crate) fn relay(self) -> Option<&'static RelayRules> {
        self.rules.relay()
    }

    pub(crate) fn ws_auth(self) -> Option<WsAuthBy> {
        self.rules.ws_auth()
    }

    /// Where the venue's WebSocket token comes from, for [`WsAuthBy::Token`].
    pub(crate) fn ws_token(self) -> Option<WsToken> {
        self.rules.ws_token()
    }

    /// The WebSocket auth message and the id its answer carries.
    pub(crate) fn ws_message(
        self,
        m: &WsMessage<'_>,
    ) -> Result<(Value, Value), crate::ws::WsError> {
        self.rules.ws_message(m)
    }

    /// The message sent once the venue accepted the auth message `id` signed with a `key` key.
    pub(crate) fn ws_after_auth(
        self,
        key: keyward_signing::keys::KeyKind,
        id: u64,
    ) -> Option<Value> {
        self.rules.ws_after_auth(key, id)
    }

    /// Reads a message received while waiting for the answer to the auth message `id`.
    pub(crate) fn ws_ack(self, id: &Value, msg: &Value) -> Ack {
        self.rules.ws_ack(id, msg)
    }

    /// The age at which the venue closes a WebSocket connection.
    pub(crate) fn ws_max_age(self) -> Option<Duration> {
        self.rules.ws_max_age()
    }

    /// Whether a WebSocket authentication signed again within the same second is refused as a
    /// replay. Only keyward's own `hmac-newline-v0` is: its signed upgrade covers a time in whole
    /// seconds and its verifiers keep a replay cache. The venues' only guard is their freshness
    /// window (OKX, Coinbase Exchange and BitMEX sign whole seconds too, and take the same auth
    /// again), so re-authenticating with them never waits.
    pub(crate) fn ws_auth_repeat_refused_within_a_second(self) -> bool {
        self.rules.ws_auth_repeat_refused_within_a_second()
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
        let found = self.rules.classify(status, v);
        // Only a refusal shows the detail: a success (the common answer) neither looks for a
        // message nor copies one.
        let detail = || match &found {
            Some(f) => VenueDetail::new(status, f.code.clone(), &f.message),
            None => VenueDetail::new(status, None, &generic_message(v)),
        };
        if status == 429
            || found
                .as_ref()
                .is_some_and(|f| f.kind == ErrorKind::RateLimited)
        {
            return Err(Error::refused(
                ErrorKind::RateLimited,
                venue,
                detail(),
                retry_after,
            ));
        }
        if status >= 500 {
            return Err(Error::refused(
                ErrorKind::Server,
                venue,
                detail(),
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
        // The venue's documented code first; without one, HTTP's documented meaning of 401
        // and 403; anything else is a plain refusal.
        let kind = match (&found, status) {
            (Some(f), _) => Some(f.kind),
            (None, 401) => Some(ErrorKind::Authentication),
            (None, 403) => Some(ErrorKind::Permission),
            (None, 400..) => Some(ErrorKind::Rejected),
            (None, _) => None,
        };
        if let Some(kind) = kind {
            return Err(Error::refused(kind, venue, detail(), None));
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

/// The message of an error answer without a code the venue documents, whatever the venue
/// calls it: only shown to the user, never classified.
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

#[cfg(test)]
mod tests;
