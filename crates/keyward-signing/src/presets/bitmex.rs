//! BitMEX: REST and WebSocket `authKeyExpires`.
//!
//! REST (<https://www.bitmex.com/app/apiKeysUsage>):
//! `api-signature = hex(HMAC-SHA256(secret, VERB || path[?query] || expires || body))`, the
//! query exactly as sent and `expires` in Unix seconds. Headers `api-expires`, `api-key`,
//! `api-signature`. Build queries with [`crate::QueryEncoding::Form`] to match what BitMEX's own
//! examples send.
//!
//! WebSocket (<https://www.bitmex.com/app/wsAPI#Authentication>):
//! `{"op":"authKeyExpires","args":[apiKey, expires, signature]}` with
//! `signature = hex(HMAC-SHA256(secret, "GET/realtime" || expires))`.
//!
//! Verifying: `api-expires` must lie in the future. BitMEX documents no largest distance, so the
//! verifier accepts an expiry at most its window's `past_ms` ahead (default 300 s, at most
//! [`Window::MAX`](crate::verify::Window::MAX), 1 hour): an expiry in 2100 is refused, and no
//! request is remembered for longer.

use serde_json::{Map, Value, json};

use crate::descriptor::{Context, Descriptor, Rest, Timing, WindowRule, Ws};
use crate::error::Result;
use crate::options::SignOptions;
use crate::request::Request;
use crate::scheme::Scheme;
use crate::signature::Encoding;
use crate::signer::Signer;
use crate::timestamp::{TimeForm, secs};
use crate::verify::{
    Claim, Resign, SignatureAt, TimeRule, VerifyError, WsClaim, key_time_signature, parse_u64,
    required_header, whole, without_header,
};

/// How long a signature stays valid when no expiry is given, in seconds.
const VALIDITY_SECS: u64 = 60;

/// `expires` in Unix seconds, at most the verifier's past window ahead.
const TIME: Timing = Timing::new(TimeForm::Seconds, WindowRule::Configured);

pub(crate) static DESCRIPTOR: Descriptor = Descriptor {
    rest: Some(Rest::claimed(sign, claim, TIME)),
    ws: Some(Ws::new(ws_auth, ws_claim, TIME)),
    ..Descriptor::hmac_sha256(Scheme::Bitmex, "bitmex")
};

fn expires(s: &Signer, o: &SignOptions) -> u64 {
    o.expires
        .unwrap_or_else(|| secs(s.timestamp_ms(o)).saturating_add(VALIDITY_SECS))
}

fn sign(s: &Signer, mut req: Request, o: &SignOptions) -> Result<Request> {
    let expires = expires(s, o).to_string();
    let [path, mark, query] = req.url_parts();
    let sig = s.key.text(
        &[
            req.method.as_bytes(),
            path,
            mark,
            query,
            expires.as_bytes(),
            &req.body,
        ],
        Encoding::Hex,
    )?;
    req.set_header("api-expires", expires);
    req.set_header("api-key", s.api_key.clone());
    req.set_header("api-signature", sig);
    Ok(req)
}

fn ws_auth(s: &Signer, _: &Map<String, Value>, o: &SignOptions) -> Result<Value> {
    let expires = expires(s, o);
    let sig = s.key.text(
        &[b"GET/realtime", expires.to_string().as_bytes()],
        Encoding::Hex,
    )?;
    Ok(json!({"op": "authKeyExpires", "args": [s.api_key, expires, sig]}))
}

/// BitMEX's acceptance rule: `api-expires` (Unix seconds) must be in the future, and no
/// further ahead than the verifier's past window (default 300 s), so a signature cannot be made
/// to last for ever.
fn claim(req: &Request, ctx: &Context<'_>) -> Result<Claim, VerifyError> {
    let expires = parse_u64("header api-expires", required_header(req, "api-expires")?)?;
    let expires_ms = ctx.time_number("header api-expires", expires)?;
    Ok(Claim {
        key_id: Some(required_header(req, "api-key")?.to_owned()),
        provided: required_header(req, "api-signature")?.to_owned(),
        passphrase: None,
        time: TimeRule::Expires {
            expires_ms,
            max_ahead_ms: ctx.window.past_ms,
        },
        unsigned: without_header(req, "api-signature"),
        options: SignOptions {
            expires: Some(expires),
            ..SignOptions::default()
        },
        signature_at: SignatureAt::Header("api-signature"),
        replay_basis: None,
    })
}

/// `{"op":"authKeyExpires","args":[key, expires, signature]}`: the same rule as REST.
fn ws_claim(message: &Value, ctx: &Context<'_>) -> Result<WsClaim, VerifyError> {
    let (key, expires, sig) = key_time_signature(message)?;
    let expires = whole(Some(expires), "args[1]")?;
    let time = TimeRule::Expires {
        expires_ms: ctx.time_number("args[1]", expires)?,
        max_ahead_ms: ctx.window.past_ms,
    };
    let mut claim = WsClaim::new(key, sig, time, Resign::Rebuilt("/args/2"));
    claim.options.expires = Some(expires);
    Ok(claim)
}

#[cfg(test)]
mod tests {
    use crate::test_support::{hmac256_hex, signer};
    use crate::{QueryEncoding, Request, Scheme, SignOptions, build_query};

    fn at_expiry(expires: u64) -> SignOptions {
        SignOptions {
            expires: Some(expires),
            ..Default::default()
        }
    }

    #[test]
    fn get_with_form_encoded_query() {
        let s = signer(Scheme::Bitmex, None);
        let q = build_query(
            [("filter", r#"{"side": "Buy", "text": "ü"}"#)],
            QueryEncoding::Form,
        );
        let out = s
            .sign(
                Request::get("/api/v1/order").with_query(q.clone()),
                &at_expiry(1_600_000_000),
            )
            .unwrap();
        assert_eq!(out.query, q);
        assert_eq!(
            out.header("api-signature").unwrap(),
            hmac256_hex(&format!("GET/api/v1/order?{q}1600000000"))
        );
        assert_eq!(out.header("api-expires"), Some("1600000000"));
    }

    #[test]
    fn post_body_and_default_expiry() {
        let s = signer(Scheme::Bitmex, None);
        let body = r#"{"symbol":"XBTUSD","orderQty":1}"#;
        let out = s
            .sign(
                Request::post("/api/v1/order").with_body(body),
                &SignOptions::default(),
            )
            .unwrap();
        // The fixed clock is at 1_700_000_000 s; signatures last 60 s by default.
        assert_eq!(out.header("api-expires"), Some("1700000060"));
        assert_eq!(
            out.header("api-signature").unwrap(),
            hmac256_hex(&format!("POST/api/v1/order1700000060{body}"))
        );
        let out = s.sign(Request::get("/api/v1/user"), &at_expiry(5)).unwrap();
        assert_eq!(
            out.header("api-signature").unwrap(),
            hmac256_hex("GET/api/v1/user5")
        );
    }

    #[test]
    fn ws_auth_key_expires() {
        let s = signer(Scheme::Bitmex, None);
        let msg = s
            .ws_auth(&Default::default(), &at_expiry(1_700_000_030))
            .unwrap();
        assert_eq!(msg["op"], "authKeyExpires");
        assert_eq!(msg["args"][0], "test-key");
        assert_eq!(msg["args"][1], 1_700_000_030u64);
        assert_eq!(msg["args"][2], hmac256_hex("GET/realtime1700000030"));
    }
}
