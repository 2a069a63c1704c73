//! The service schemes (`hmac-newline-v0`, `hmac-concat`, `keyward-v1`) as the keyward verifier
//! answers them: 401 with `{"error": KIND}`.

use serde_json::Value;

use super::{Found, Kind, text};

pub(super) fn classify(status: u16, v: &Value) -> Option<Found> {
    if status < 400 {
        return None;
    }
    let kind_name = text(v, "error")?;
    let kind = match kind_name.as_str() {
        "unknown_key" | "bad_signature" => Kind::Auth,
        "expired" => Kind::Timestamp,
        "replayed" => Kind::Nonce,
        _ => Kind::Rejected,
    };
    Some(Found::new(kind, Some(kind_name.clone()), &kind_name))
}
