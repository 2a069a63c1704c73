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
//! Verifying: the timestamp (whole Unix seconds) within 30 s of the server's time, either way;
//! for Exchange, the passphrase must match the key's.

use serde_json::{Map, Value};

use crate::descriptor::{Descriptor, Rest, SecretEncoding, Timing, WindowRule, Ws};
use crate::error::Result;
use crate::options::SignOptions;
use crate::scheme::Scheme;
use crate::signer::Signer;
use crate::timestamp::TimeForm;
use crate::timestamp_method_path::{Encoding, Layout, Login};
use crate::verify::Window;

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

/// Coinbase Advanced Trade with legacy HMAC keys.
pub(crate) static ADVANCED: Descriptor = Descriptor {
    rest: Some(Rest::claimed(
        |s, req, o| ADVANCED_LAYOUT.sign(s, req, o),
        |req, ctx| ADVANCED_LAYOUT.claim(req, ctx),
        TIME,
    )),
    ..Descriptor::hmac_sha256(Scheme::CoinbaseAdvanced, "coinbase-advanced")
};

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
