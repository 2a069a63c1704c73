//! Step 6 of the Upstox login, the token exchange, and the profile endpoint that accepts the
//! token. Tokens are HS256 JWTs under a key of this testnet, shaped as Upstox's (`sub`, `jti`,
//! `iat`, `iss`, `exp`), that expire at the first 03:30 Asia/Kolkata after they are issued, on
//! the listener's clock (moved by `clock_offset_ms`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use keyward_core_crypto::ct::ct_eq;
use keyward_signing::secrecy::ExposeSecret as _;
use serde_json::{Value, json};
use sha2::Sha256;

use super::{Upstox, api_error, random_hex};
use crate::reply;

/// Asia/Kolkata's offset from UTC, in seconds: +05:30 all year (India has kept no daylight
/// saving time since 1945).
const KOLKATA_OFFSET_S: u64 = 5 * 3600 + 30 * 60;
/// The daily cutoff, in seconds after local midnight: 03:30.
const CUTOFF_S: u64 = 3 * 3600 + 30 * 60;
/// The largest bearer token read.
const MAX_TOKEN_LEN: usize = 4096;

/// The first 03:30 Asia/Kolkata strictly after `now_s` (Unix seconds).
pub(crate) fn next_cutoff(now_s: u64) -> u64 {
    let local = now_s + KOLKATA_OFFSET_S;
    let mut cutoff = local - local % 86_400 + CUTOFF_S;
    if cutoff <= local {
        cutoff += 86_400;
    }
    cutoff - KOLKATA_OFFSET_S
}

fn mac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length: this cannot fail.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

/// A fresh access token for the account.
fn issue(u: &Upstox) -> String {
    let now_s = u.now_ms() / 1000;
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = json!({
        "sub": u.user_id,
        "jti": random_hex(12),
        "isMultiClient": false,
        "iat": now_s,
        "iss": "udapi-gateway-service",
        "exp": next_cutoff(now_s),
        "keyward_epoch": u.faults.token_epoch(),
    });
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signed = format!("{header}.{payload}");
    let signature = URL_SAFE_NO_PAD.encode(mac(&u.jwt_key, signed.as_bytes()));
    format!("{signed}.{signature}")
}

/// Whether `token` is one of this listener's, unexpired on its clock and not expired by the
/// `expire_tokens` fault.
fn valid(u: &Upstox, token: &str) -> bool {
    if token.len() > MAX_TOKEN_LEN {
        return false;
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else {
        return false;
    };
    let expected = mac(&u.jwt_key, format!("{header}.{payload}").as_bytes());
    if !ct_eq(&signature, &expected) {
        return false;
    }
    let Some(claims) = URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|p| serde_json::from_slice::<Value>(&p).ok())
    else {
        return false;
    };
    let exp = claims.get("exp").and_then(Value::as_u64).unwrap_or(0);
    let epoch = claims
        .get("keyward_epoch")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    exp > u.now_ms() / 1000
        && epoch >= u.faults.token_epoch()
        && claims.get("sub").and_then(Value::as_str) == Some(u.user_id.as_str())
}

/// The account's fields, shared by the token answer and the profile.
fn account(u: &Upstox) -> serde_json::Map<String, Value> {
    let Value::Object(map) = json!({
        "email": "keyward-testnet@example.invalid",
        "exchanges": ["NSE", "NFO", "BSE", "CDS", "BFO", "BCD"],
        "products": ["D", "I", "CO", "MTF"],
        "broker": "UPSTOX",
        "user_id": u.user_id,
        "user_name": "Keyward Testnet",
        "order_types": ["MARKET", "LIMIT", "SL", "SL-M"],
        "user_type": "individual",
        "poa": false,
        "ddpi": false,
        "is_active": true,
    }) else {
        return serde_json::Map::new();
    };
    map
}

/// Step 6, `POST /api/v2/login/authorization/token` with the form body `code`, `client_id`,
/// `client_secret`, `redirect_uri`, `grant_type=authorization_code`: the account and its
/// `access_token`, flat (no `status` wrapper), every field of the SDK's `AccessTokenData`.
pub(crate) async fn exchange(
    State(u): State<Arc<Upstox>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form {
        return api_error(
            415,
            "UDAPI10000",
            "The token request takes Content-Type: application/x-www-form-urlencoded",
        );
    }
    let fields: std::collections::HashMap<String, String> =
        form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| fields.get(name).map(String::as_str).unwrap_or_default();
    if field("grant_type") != "authorization_code" {
        return api_error(400, "UDAPI100038", "Invalid grant_type");
    }
    if field("client_id") != u.creds.client_id || field("redirect_uri") != u.creds.redirect_uri {
        return api_error(
            400,
            "UDAPI100068",
            "Check your 'client_id' and 'redirect_uri'; one or both are incorrect.",
        );
    }
    if !ct_eq(
        field("client_secret").as_bytes(),
        u.creds.client_secret.expose_secret().as_bytes(),
    ) {
        return api_error(401, "UDAPI100016", "Invalid Credentials");
    }
    let now = u.now_ms();
    let fresh = {
        let mut flows = u.flows();
        Upstox::prune(&mut flows, now);
        flows.codes.remove(field("code")).is_some()
    };
    if !fresh {
        return api_error(400, "UDAPI100016", "Invalid Credentials");
    }
    let mut answer = account(&u);
    answer.insert("access_token".to_owned(), Value::String(issue(&u)));
    answer.insert("extended_token".to_owned(), Value::Null);
    reply::json(200, Value::Object(answer))
}

/// `GET /api/v2/user/profile` with `Authorization: Bearer <token>`: the account, or 401
/// `UDAPI100050` for a missing, unknown or expired token.
pub(crate) async fn profile(State(u): State<Arc<Upstox>>, headers: HeaderMap) -> Response {
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !valid(&u, token) {
        return api_error(401, "UDAPI100050", "Invalid token used to access API");
    }
    reply::json(200, json!({"status": "success", "data": account(&u)}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cutoff_is_the_next_0330_in_kolkata() {
        // 2024-01-15 10:00 IST = 04:30 UTC -> 2024-01-16 03:30 IST = 2024-01-15 22:00 UTC.
        assert_eq!(next_cutoff(1_705_293_000), 1_705_356_000);
        // 02:00 IST -> 03:30 IST the same day.
        assert_eq!(next_cutoff(1_705_356_000 - 5400), 1_705_356_000);
        // Exactly 03:30 IST -> the next day's.
        assert_eq!(next_cutoff(1_705_356_000), 1_705_356_000 + 86_400);
    }
}
