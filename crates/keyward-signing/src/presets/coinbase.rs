//! Coinbase: Exchange (REST and WebSocket subscribe auth) and Advanced Trade legacy HMAC keys.
//!
//! Exchange REST (<https://docs.cdp.coinbase.com/exchange/rest-api/authentication>):
//! `CB-ACCESS-SIGN = base64(HMAC-SHA256(base64decode(secret), timestamp || METHOD ||
//! requestPath || body))`, the timestamp in Unix seconds and the request path with its query.
//! Headers `CB-ACCESS-KEY`, `CB-ACCESS-SIGN`, `CB-ACCESS-TIMESTAMP`, `CB-ACCESS-PASSPHRASE`.
//!
//! Exchange WebSocket (<https://docs.cdp.coinbase.com/exchange/websocket-feed/authentication>):
//! the subscribe message carries `signature`, `key`, `passphrase` and `timestamp`, signed as a
//! `GET /users/self/verify` request.
//!
//! Advanced Trade with legacy API keys
//! (<https://docs.cdp.coinbase.com/advanced-trade/docs/rest-api-auth#legacy-api-keys>):
//! `CB-ACCESS-SIGN = hex(HMAC-SHA256(secret, timestamp || METHOD || path || body))` in lowercase
//! hex, the timestamp in Unix seconds, and the path without its query string.
//!
//! Advanced Trade with CDP API keys
//! (<https://docs.cdp.coinbase.com/advanced-trade/docs/rest-api-auth>): `Authorization: Bearer
//! <JWT>`, a fresh token per request whose `uri` claim is `METHOD host/path` (the path without
//! its query), signed with the key's EC P-256 (ES256) or Ed25519 (EdDSA) private key; the
//! WebSocket `subscribe` message carries a token with no `uri` in its `jwt` field
//! (<https://docs.cdp.coinbase.com/advanced-trade/docs/ws-auth>). See [`crate::jwt`] for the
//! token. The key's kind picks the form: an HMAC secret signs the legacy way.
//!
//! Verifying: the timestamp (whole Unix seconds) within 30 s of the server's time, either way;
//! for Exchange, the passphrase must match the key's. A CDP token: its signature with the
//! public key `kid` names; `nbf` at most 30 s ahead, and the time before `exp`; its `uri` the
//! request's method and path under the request's `Host` or a configured origin.

use serde_json::{Map, Value};

use crate::descriptor::{Context, Descriptor, Keys, Rest, SecretEncoding, Timing, WindowRule, Ws};
use crate::error::Result;
use crate::jwt;
use crate::key::KeyKind;
use crate::options::SignOptions;
use crate::request::Request;
use crate::scheme::Scheme;
use crate::signature::Encoding;
use crate::signer::Signer;
use crate::timestamp::TimeForm;
use crate::timestamp_method_path::{Layout, Login};
use crate::verify::{Claim, Resign, SignatureAt, TimeRule, VerifyError, Window, WsClaim};

/// Whole Unix seconds, within 30 s either way, as Coinbase documents.
const TIME: Timing = Timing::new(
    TimeForm::Seconds,
    WindowRule::Documented(Window {
        past_ms: 30_000,
        future_ms: 30_000,
    }),
);

const EXCHANGE_LAYOUT: Layout = Layout {
    key: "CB-ACCESS-KEY",
    sign: "CB-ACCESS-SIGN",
    timestamp: "CB-ACCESS-TIMESTAMP",
    passphrase: Some("CB-ACCESS-PASSPHRASE"),
    encoding: Encoding::Base64,
    signs_query: true,
};

const ADVANCED_LAYOUT: Layout = Layout {
    passphrase: None,
    encoding: Encoding::Hex,
    signs_query: false,
    ..EXCHANGE_LAYOUT
};

const SUBSCRIBE: Login = Login {
    object: "",
    key: "key",
    sign: "signature",
    passphrase: "passphrase",
    timestamp: "timestamp",
    signature_at: "/signature",
};

/// Coinbase Exchange.
pub(crate) static EXCHANGE: Descriptor = Descriptor {
    secret: SecretEncoding::Base64,
    rest: Some(Rest::claimed(
        |s, req, o| EXCHANGE_LAYOUT.sign(s, req, o),
        |req, ctx| EXCHANGE_LAYOUT.claim(req, ctx),
        TIME,
    )),
    ws: Some(Ws::new(
        ws_subscribe,
        |message, ctx| SUBSCRIBE.claim(message, ctx),
        TIME,
    )),
    ..Descriptor::hmac_sha256(Scheme::CoinbaseExchange, "coinbase-exchange")
};

/// Where Advanced Trade's REST API lives, when the caller names no origin.
const ADVANCED_ORIGIN: &str = "https://api.coinbase.com";

/// A CDP token's time: `nbf` at most 30 s ahead (the clock tolerance Coinbase documents for
/// its timestamps) and no older than the token's lifetime; `exp` bounds it too.
const JWT_WINDOW: Window = Window {
    past_ms: jwt::LIFETIME_SECS * 1000,
    future_ms: 30_000,
};

/// Coinbase Advanced Trade: CDP keys (JWT) and legacy HMAC keys.
pub(crate) static ADVANCED: Descriptor = Descriptor {
    keys: Keys {
        rest: &[KeyKind::Hmac, KeyKind::P256, KeyKind::Ed25519],
        ws: &[KeyKind::P256, KeyKind::Ed25519],
    },
    signs_host: true,
    rest: Some(Rest::claimed(advanced_sign, advanced_claim, TIME)),
    ws: Some(Ws::new(advanced_subscribe, advanced_ws_claim, TIME)),
    ..Descriptor::hmac_sha256(Scheme::CoinbaseAdvanced, "coinbase-advanced")
};

/// A legacy HMAC key signs headers; a CDP key signs a JWT for `METHOD host/path`.
fn advanced_sign(s: &Signer, mut req: Request, o: &SignOptions) -> Result<Request> {
    if s.key_kind() == KeyKind::Hmac {
        return ADVANCED_LAYOUT.sign(s, req, o);
    }
    let origin = o.origin.as_deref().unwrap_or(ADVANCED_ORIGIN);
    let uri = format!("{} {}{}", req.method, jwt::host(origin), req.path);
    let token = jwt::sign(s, Some(&uri), o)?;
    req.set_header("Authorization", format!("Bearer {token}"));
    Ok(req)
}

/// The caller's subscribe fields, `type` `subscribe` and a token with no `uri`.
fn advanced_subscribe(s: &Signer, params: &Map<String, Value>, o: &SignOptions) -> Result<Value> {
    let token = jwt::sign(s, None, o)?;
    let mut msg = params.clone();
    msg.entry("type").or_insert_with(|| "subscribe".into());
    msg.insert("jwt".into(), token.into());
    Ok(Value::Object(msg))
}

/// A bearer token is a CDP key's; anything else is read as a legacy HMAC request.
fn advanced_claim(req: &Request, ctx: &Context<'_>) -> Result<Claim, VerifyError> {
    let Some(auth) = req.header("Authorization") else {
        return ADVANCED_LAYOUT.claim(req, ctx);
    };
    let token = auth
        .strip_prefix("Bearer ")
        .ok_or_else(|| VerifyError::malformed("header Authorization is not a Bearer token"))?;
    let token = jwt::read(token)?;
    let uri = token
        .uri
        .as_deref()
        .ok_or_else(|| VerifyError::malformed("the JWT has no uri claim"))?;
    let (method, target) = uri
        .split_once(' ')
        .ok_or_else(|| VerifyError::malformed("the JWT's uri is not METHOD host/path"))?;
    let hosts = req
        .header("Host")
        .into_iter()
        .chain(ctx.origins.iter().map(|o| jwt::host(o)));
    let matches = hosts
        .into_iter()
        .any(|host| target.strip_prefix(host) == Some(req.path.as_str()));
    if method != req.method || !matches {
        return Err(VerifyError::malformed(
            "the JWT's uri names another method, host or path than the request",
        ));
    }
    Ok(Claim {
        key_id: Some(token.key_name),
        provided: token.signature,
        passphrase: None,
        time: jwt_time(token.not_before_ms, token.expires_ms),
        unsigned: req.clone(),
        options: SignOptions::default(),
        signature_at: SignatureAt::Covers(token.signing_input, Encoding::Base64Url),
        replay_basis: None,
    })
}

/// A subscribe message's token: no `uri` (a REST token is not accepted on the WebSocket).
fn advanced_ws_claim(message: &Value, _: &Context<'_>) -> Result<WsClaim, VerifyError> {
    let token = message
        .get("jwt")
        .and_then(Value::as_str)
        .ok_or_else(|| VerifyError::malformed("jwt is missing"))?;
    let token = jwt::read(token)?;
    if token.uri.is_some() {
        return Err(VerifyError::malformed(
            "the JWT has a uri claim, which WebSocket tokens do not carry",
        ));
    }
    let input = String::from_utf8(token.signing_input)
        .map_err(|_| VerifyError::malformed("the JWT is not ASCII"))?;
    let resign = Resign::Computed(|s, claim| {
        let input = claim.params.get("signing_input")?.as_str()?;
        s.key.text(&[input.as_bytes()], Encoding::Base64Url).ok()
    });
    let time = jwt_time(token.not_before_ms, token.expires_ms);
    let mut claim = WsClaim::new(&token.key_name, &token.signature, time, resign);
    claim.params.insert("signing_input".into(), input.into());
    Ok(claim)
}

fn jwt_time(not_before_ms: u64, expires_ms: u64) -> TimeRule {
    TimeRule::Window {
        timestamp_ms: not_before_ms,
        window: JWT_WINDOW,
        expires_ms: Some(expires_ms),
    }
}

fn ws_subscribe(s: &Signer, params: &Map<String, Value>, o: &SignOptions) -> Result<Value> {
    let (passphrase, ts, sig) = EXCHANGE_LAYOUT.login(s, o)?;
    let mut msg = params.clone();
    msg.entry("type").or_insert_with(|| "subscribe".into());
    msg.insert("signature".into(), sig.into());
    msg.insert("key".into(), s.api_key.clone().into());
    msg.insert("passphrase".into(), passphrase.into());
    msg.insert("timestamp".into(), ts.into());
    Ok(Value::Object(msg))
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    use crate::test_support::{SECRET, hmac256_b64, hmac256_hex, signer};
    use crate::{Credentials, Error, Request, Scheme, SignOptions, Signer};

    const TS: u64 = 1_700_000_000_999;

    #[test]
    fn exchange_get_with_query_uses_the_decoded_secret() {
        let s = signer(Scheme::CoinbaseExchange, Some("pp"));
        let out = s
            .sign(
                Request::get("/orders").with_query("status=open"),
                &SignOptions::at(TS),
            )
            .unwrap();
        assert_eq!(out.header("CB-ACCESS-TIMESTAMP"), Some("1700000000"));
        assert_eq!(
            out.header("CB-ACCESS-SIGN").unwrap(),
            hmac256_b64("1700000000GET/orders?status=open")
        );
        assert_eq!(out.header("CB-ACCESS-PASSPHRASE"), Some("pp"));
    }

    #[test]
    fn exchange_post_body_and_empty_body() {
        let s = signer(Scheme::CoinbaseExchange, Some("pp"));
        let body =
            r#"{"product_id":"BTC-USD","side":"buy","price":"1.0","size":"1","client_oid":"ñ"}"#;
        let out = s
            .sign(
                Request::post("/orders").with_body(body),
                &SignOptions::at(TS),
            )
            .unwrap();
        assert_eq!(
            out.header("CB-ACCESS-SIGN").unwrap(),
            hmac256_b64(&format!("1700000000POST/orders{body}"))
        );
        let out = s
            .sign(Request::get("/accounts"), &SignOptions::at(TS))
            .unwrap();
        assert_eq!(
            out.header("CB-ACCESS-SIGN").unwrap(),
            hmac256_b64("1700000000GET/accounts")
        );
    }

    #[test]
    fn exchange_secret_must_be_base64() {
        let creds = Credentials::new("k", "not base64!".into()).with_passphrase("p".into());
        let err = Signer::new(Scheme::CoinbaseExchange, &creds).unwrap_err();
        assert!(matches!(err, Error::InvalidSecret { .. }));
        assert!(!err.to_string().contains("not base64!"));
        assert_eq!(
            STANDARD.decode(STANDARD.encode(SECRET)).unwrap(),
            SECRET.as_bytes()
        );
    }

    #[test]
    fn exchange_ws_subscribe_keeps_the_callers_fields() {
        let s = signer(Scheme::CoinbaseExchange, Some("pp"));
        let params = serde_json::json!({"product_ids": ["BTC-USD"], "channels": ["full"]});
        let msg = s
            .ws_auth(params.as_object().unwrap(), &SignOptions::at(TS))
            .unwrap();
        assert_eq!(msg["type"], "subscribe");
        assert_eq!(msg["channels"][0], "full");
        assert_eq!(
            msg["signature"],
            hmac256_b64("1700000000GET/users/self/verify")
        );
        assert_eq!(msg["key"], "test-key");
        assert_eq!(msg["timestamp"], "1700000000");
    }

    #[test]
    fn advanced_legacy_signs_hex_without_the_query() {
        let s = signer(Scheme::CoinbaseAdvanced, None);
        let out = s
            .sign(
                Request::get("/api/v3/brokerage/orders/historical/batch").with_query("limit=10"),
                &SignOptions::at(TS),
            )
            .unwrap();
        assert_eq!(
            out.header("CB-ACCESS-SIGN").unwrap(),
            hmac256_hex("1700000000GET/api/v3/brokerage/orders/historical/batch")
        );
        let body = r#"{"product_id":"BTC-USD","note":"ü"}"#;
        let out = s
            .sign(
                Request::post("/api/v3/brokerage/orders").with_body(body),
                &SignOptions::at(TS),
            )
            .unwrap();
        assert_eq!(
            out.header("CB-ACCESS-SIGN").unwrap(),
            hmac256_hex(&format!("1700000000POST/api/v3/brokerage/orders{body}"))
        );
        assert!(
            s.ws_auth(&Default::default(), &SignOptions::at(TS))
                .is_err()
        );
    }
}
