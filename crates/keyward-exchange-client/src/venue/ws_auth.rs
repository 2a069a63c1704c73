//! What a venue's module says about WebSocket authentication: how it is done ([`WsAuthBy`]),
//! the message to send ([`WsMessage`]) and how the answer reads ([`Ack`]).

use keyward_signing::keys::KeyKind;
use secrecy::SecretString;
use serde_json::{Map, Value};

use crate::ws::WsError;

/// How a venue authenticates a WebSocket session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WsAuthBy {
    /// With a message signed by [`Signer::ws_auth`](keyward_signing::Signer::ws_auth).
    Message,
    /// By signing the handshake request's headers (no auth message).
    Handshake,
    /// With a token obtained over REST, sent in a message (Kraken).
    Token,
}

/// Signs WebSocket auth parameters ([`Signer::ws_auth`](keyward_signing::Signer::ws_auth)),
/// for the method named (Binance's `session.logon`, which the signer refuses for any key but
/// Ed25519), or None.
pub(crate) type SignParams<'a> =
    dyn Fn(&Map<String, Value>, Option<&str>) -> Result<Value, WsError> + 'a;

/// Where a venue that authenticates WebSocket sessions with a REST token
/// ([`WsAuthBy::Token`]) gets one: a signed form `POST` of `path`, the token at `field` of the
/// answer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WsToken {
    pub(crate) path: &'static str,
    /// A dotted path in the answer.
    pub(crate) field: &'static str,
    /// The venue's error in an answer, if it carries one: its text, and whether it refuses the
    /// credentials (final) rather than something worth another attempt.
    pub(crate) error: fn(&Value) -> Option<(String, bool)>,
}

/// What an auth message is made from.
pub(crate) struct WsMessage<'a> {
    /// Signs auth parameters.
    pub(crate) sign: &'a SignParams<'a>,
    /// The caller's auth parameters.
    pub(crate) params: &'a Map<String, Value>,
    /// Unique per connection.
    pub(crate) id: u64,
    /// The REST token, for [`WsAuthBy::Token`].
    pub(crate) token: Option<&'a SecretString>,
    /// The kind of key the signer holds: a venue may authenticate differently by kind
    /// (Binance: `session.logon` with an Ed25519 key).
    pub(crate) key: KeyKind,
}

/// How a message received during authentication reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ack {
    /// The venue accepted the credentials.
    Accepted,
    /// The venue refused them, with its code and message where it gives them.
    Refused {
        code: Option<String>,
        message: Option<String>,
    },
    /// Not the answer to the auth message (a welcome banner, a heartbeat).
    Other,
}

impl Ack {
    pub(crate) fn refused(code: Option<String>, message: Option<String>) -> Self {
        Self::Refused { code, message }
    }
}

/// A top-level string field.
pub(crate) fn str_field<'v>(msg: &'v Value, key: &str) -> Option<&'v str> {
    msg.get(key).and_then(Value::as_str)
}

/// A top-level field as text: strings without their quotes, anything else as JSON.
pub(crate) fn field_text(msg: &Value, key: &str) -> Option<String> {
    msg.get(key).map(value_text)
}

/// A JSON value as text: strings without their quotes, anything else as JSON.
pub(crate) fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Whether `msg` carries no `id`, or `id`.
pub(crate) fn same_id(msg: &Value, id: &Value) -> bool {
    msg.get("id").is_none_or(|got| got == id)
}
