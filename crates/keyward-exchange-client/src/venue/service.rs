//! The service schemes (`hmac-newline-v0`, `hmac-concat`, `keyward-v1`) as keyward's own
//! verifier answers them: 401 with `{"error": KIND}`, KIND one of the verifier's documented
//! refusals (`keyward_signing::verify`). No time endpoint, no order calls.

use serde_json::Value;

use super::rules::VenueRules;
use super::ws_auth::{Ack, WsAuthBy};
use super::{Found, text};
use crate::error::ErrorKind;

/// `hmac-newline-v0`: signs the WebSocket handshake over a time in whole seconds; its
/// verifiers keep a replay cache, so the same auth within a second is refused.
pub(super) struct HmacNewlineV0;

/// `hmac-concat`: a WebSocket `{"op":"auth"}` message, answered as Bybit answers it.
pub(super) struct HmacConcat;

/// `keyward-v1`: signs the WebSocket handshake.
pub(super) struct KeywardV1;

/// The verifier's refusal kinds: a stale time is refused before anything is processed.
fn classify(status: u16, v: &Value) -> Option<Found> {
    if status < 400 {
        return None;
    }
    let kind_name = text(v, "error")?;
    let kind = match kind_name.as_str() {
        "unknown_key" | "bad_signature" => ErrorKind::Authentication,
        "expired" => ErrorKind::Timestamp,
        "replayed" => ErrorKind::Nonce,
        _ => ErrorKind::Rejected,
    };
    Some(Found::new(kind, Some(kind_name.clone()), &kind_name))
}

impl VenueRules for HmacNewlineV0 {
    fn classify(&self, status: u16, v: &Value) -> Option<Found> {
        classify(status, v)
    }

    fn ws_auth(&self) -> Option<WsAuthBy> {
        Some(WsAuthBy::Handshake)
    }

    fn ws_auth_repeat_refused_within_a_second(&self) -> bool {
        true
    }
}

impl VenueRules for HmacConcat {
    fn classify(&self, status: u16, v: &Value) -> Option<Found> {
        classify(status, v)
    }

    fn ws_auth(&self) -> Option<WsAuthBy> {
        Some(WsAuthBy::Message)
    }

    fn ws_ack(&self, _id: &Value, msg: &Value) -> Ack {
        super::bybit::op_auth_ack(msg)
    }
}

impl VenueRules for KeywardV1 {
    fn classify(&self, status: u16, v: &Value) -> Option<Found> {
        classify(status, v)
    }

    fn ws_auth(&self) -> Option<WsAuthBy> {
        Some(WsAuthBy::Handshake)
    }
}
