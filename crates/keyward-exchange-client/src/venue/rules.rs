//! [`VenueRules`]: everything the client knows about one venue, declared by that venue's
//! module and resolved once (by [`super::rules_of`]) when a client or session is built.
//! Nothing else in the crate asks which venue it talks to.

use std::time::Duration;

use keyward_resilience::limiter::Limit;
use keyward_signing::QueryEncoding;
use keyward_signing::keys::KeyKind;
use serde_json::Value;

use super::Found;
use super::LimitScope;
use super::call::Call;
use super::order_id::OrderIdRule;
use super::time::ServerTime;
use super::ws_auth::{Ack, WsAuthBy, WsMessage, WsToken};
use crate::error::ErrorKind;
use crate::order::{CancelRequest, OrderRequest};
use crate::ws::WsError;

/// One venue's facts, from its documentation. The defaults are "the venue has none of this".
pub(crate) trait VenueRules: Sync {
    // -- REST -------------------------------------------------------------------------------

    /// The production REST origin, from the venue's API documentation; None where keyward
    /// signs no REST request.
    fn production_origin(&self) -> Option<&'static str> {
        None
    }

    /// How query strings and form bodies are encoded.
    fn query_encoding(&self) -> QueryEncoding {
        QueryEncoding::Rfc3986
    }

    /// Whether requests carry a nonce that must reach the venue in increasing order.
    fn uses_nonces(&self) -> bool {
        false
    }

    /// The public time endpoint, its field and the field's unit; None if there is none.
    fn server_time(&self) -> Option<ServerTime> {
        None
    }

    /// The balance call.
    fn balance(&self) -> Option<Call> {
        None
    }

    /// Where the venue takes a client order id, and in which form; None if it takes none.
    fn order_id(&self) -> Option<OrderIdRule> {
        None
    }

    /// The order placement call for an order that carries its client order id (if the venue
    /// takes one), with the field of the answer that names the order id.
    fn place(&self, _order: &OrderRequest) -> Option<Call> {
        None
    }

    /// The cancel call, with the field of the answer that names the order id.
    fn cancel(&self, _cancel: &CancelRequest) -> Option<Call> {
        None
    }

    /// The venue's own error in an answer, from the codes and shapes it documents; None if
    /// the answer carries none (a success, or an HTTP error the venue gave no code).
    fn classify(&self, status: u16, answer: &Value) -> Option<Found>;

    /// The header (name, value) the venue documents for sending a REST request to its demo
    /// trading environment with the production origin; None if it documents none.
    /// The signing proxy's rules (see [`super::relay`]); None: the proxy does not serve it.
    fn relay(&self) -> Option<&'static super::RelayRules> {
        None
    }

    fn demo_header(&self) -> Option<(&'static str, &'static str)> {
        None
    }

    /// The rate limits a client starts with when given none.
    fn default_limits(&self) -> Vec<Limit> {
        vec![Limit::new(
            "requests/1s",
            "weight",
            10,
            Duration::from_secs(1),
        )]
    }

    /// Whose budget `limit` counts (per IP, per account, per endpoint group of an account):
    /// by default the account's, the scope most venues document for signed requests.
    fn limit_scope(&self, _limit: &Limit) -> LimitScope {
        LimitScope::Account
    }

    // -- WebSocket --------------------------------------------------------------------------

    /// How a WebSocket session authenticates; None if keyward cannot authenticate one.
    fn ws_auth(&self) -> Option<WsAuthBy> {
        None
    }

    /// Where the REST token comes from, for [`WsAuthBy::Token`].
    fn ws_token(&self) -> Option<WsToken> {
        None
    }

    /// The auth message (for [`WsAuthBy::Message`] and [`WsAuthBy::Token`]) and the id its
    /// answer carries (`Null` when the answer carries none): by default the signed parameters
    /// as they are.
    fn ws_message(&self, m: &WsMessage<'_>) -> Result<(Value, Value), WsError> {
        Ok(((m.sign)(m.params, None)?, Value::Null))
    }

    /// A message sent once the venue accepted the auth message (its answer arrives as an
    /// ordinary message), for a connection whose auth message id is `id`, signed with a key of
    /// kind `key`; None if there is none.
    fn ws_after_auth(&self, _key: KeyKind, _id: u64) -> Option<Value> {
        None
    }

    /// Reads a message received while waiting for the answer to the auth message whose id is
    /// `id`.
    fn ws_ack(&self, _id: &Value, _msg: &Value) -> Ack {
        Ack::Other
    }

    /// What a refusal of the WebSocket authentication with `code` means, where the venue
    /// documents it as transient: [`ErrorKind::Timestamp`] (outside the venue's window) or
    /// [`ErrorKind::RateLimited`]; None (the credentials were refused) for any other code.
    fn ws_auth_refusal(&self, _code: &str) -> Option<ErrorKind> {
        None
    }

    /// The age at which the venue closes a connection (keyward reconnects just before).
    fn ws_max_age(&self) -> Option<Duration> {
        None
    }

    /// Whether a WebSocket authentication signed again within the same second is refused as
    /// a replay.
    fn ws_auth_repeat_refused_within_a_second(&self) -> bool {
        false
    }
}

/// A scheme added to keyward-signing that no module here describes yet: no calls, no
/// WebSocket, every error answer read by its HTTP status only.
pub(super) struct Undescribed;

impl VenueRules for Undescribed {
    fn classify(&self, _status: u16, _answer: &Value) -> Option<Found> {
        None
    }
}
