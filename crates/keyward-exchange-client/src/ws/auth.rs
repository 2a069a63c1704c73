//! WebSocket authentication, as each venue's descriptor declares it: the message to send
//! (built by [`Signer::ws_auth`](keyward_signing::Signer::ws_auth), wrapped as the venue
//! expects) and how to read the venue's answer: success, rejection, or a message that is not
//! the answer. The wrapping and the answer's shapes live in the venue's module
//! (`crate::venue`); this file holds what all venues share.

use keyward_signing::{Request, Scheme, SignOptions, Signer};
use secrecy::SecretString;
use serde_json::{Map, Value};
use url::Url;

use super::error::{AuthFailure, WsError};
use crate::venue::{Ack, Venue, WsAuthBy, WsMessage};

/// Whether keyward can authenticate a WebSocket for `venue`.
pub(crate) fn supports(venue: Venue) -> bool {
    venue.ws_auth().is_some()
}

/// Refuses, before any connection, a signer whose kind of key the venue's WebSocket auth does
/// not take (Coinbase Advanced signs its WebSocket subscribe with CDP keys only).
pub(crate) fn check_key(venue: Venue, signer: &Signer) -> Result<(), WsError> {
    if venue.ws_auth() != Some(WsAuthBy::Message) || signer.signs_ws() {
        return Ok(());
    }
    Err(WsError::Unsupported {
        venue: venue.scheme,
        key: Some(signer.key_kind()),
    })
}

/// Whether `venue` authenticates by signing the handshake request's headers (the service
/// schemes without a WebSocket auth message) rather than with a message.
pub(crate) fn by_handshake(venue: Venue) -> bool {
    venue.ws_auth() == Some(WsAuthBy::Handshake)
}

/// The signed headers for the handshake `GET` of `url`.
pub(crate) fn handshake_headers(
    signer: &Signer,
    url: &Url,
) -> Result<Vec<(String, String)>, WsError> {
    let request = Request::get(url.path()).with_query(url.query().unwrap_or_default());
    signer
        .sign(request, &SignOptions::default())
        .map(|signed| signed.headers)
        .map_err(|source| WsError::Signing {
            venue: signer.scheme(),
            source,
        })
}

/// What identifies the venue's answer to one auth message, and what to send once it accepted.
#[derive(Debug, Clone)]
pub(crate) struct Expect {
    venue: Venue,
    id: Value,
    /// The message the venue's module sends after the acceptance, as text.
    pub(crate) then: Option<String>,
}

/// The auth message for one connection to `venue`, as text, and what identifies its answer.
/// `id` is unique per connection; `token` is Kraken's.
pub(crate) fn message(
    venue: Venue,
    signer: &Signer,
    params: &Map<String, Value>,
    id: u64,
    token: Option<&SecretString>,
) -> Result<(String, Expect), WsError> {
    let sign = |params: &Map<String, Value>, method: Option<&str>| {
        let options = SignOptions {
            method: method.map(str::to_owned),
            ..SignOptions::default()
        };
        signer
            .ws_auth(params, &options)
            .map_err(|source| WsError::Signing {
                venue: venue.scheme,
                source,
            })
    };
    let then = venue
        .ws_after_auth(signer.key_kind(), id)
        .map(|m| m.to_string());
    let (msg, id) = venue.ws_message(&WsMessage {
        sign: &sign,
        params,
        id,
        token,
        key: signer.key_kind(),
    })?;
    Ok((msg.to_string(), Expect { venue, id, then }))
}

/// How a message received during authentication reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The venue accepted the credentials.
    Accepted,
    /// The venue refused them.
    Rejected(AuthFailure),
    /// Not the answer to the auth message (a welcome banner, a heartbeat).
    Other,
}

/// Reads `msg` as the venue's answer to the auth message described by `expect`.
pub(crate) fn classify(expect: &Expect, msg: &Value) -> Verdict {
    match expect.venue.ws_ack(&expect.id, msg) {
        Ack::Accepted => Verdict::Accepted,
        Ack::Refused { code, message } => Verdict::Rejected(AuthFailure::new(
            expect.venue.scheme,
            code,
            message.as_deref().unwrap_or(""),
        )),
        Ack::Other => Verdict::Other,
    }
}

/// The answer to a rejected handshake: its status and the body's `error` (or the body).
pub(crate) fn handshake_rejection(venue: Scheme, status: u16, body: Option<&[u8]>) -> AuthFailure {
    let body = body.unwrap_or_default();
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let kind = parsed
        .as_ref()
        .and_then(|v| v.get("error"))
        .map(crate::venue::value_text)
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    AuthFailure::new(venue, Some(status.to_string()), &kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn expect(venue: Scheme, id: Value) -> Expect {
        Expect {
            venue: Venue::new(venue),
            id,
            then: None,
        }
    }

    fn verdict(venue: Scheme, id: Value, msg: &str) -> Verdict {
        classify(&expect(venue, id), &serde_json::from_str(msg).unwrap())
    }

    fn rejected(code: Option<&str>, message: &str) -> impl Fn(Verdict) -> bool {
        let (code, message) = (code.map(str::to_owned), message.to_owned());
        move |v| matches!(v, Verdict::Rejected(f) if f.code == code && f.message == message)
    }

    #[test]
    fn every_venue_success_shape() {
        use Scheme::*;
        let cases = [
            (
                Binance,
                json!("keyward-auth-1"),
                r#"{"id":"keyward-auth-1","status":200,"result":{}}"#,
            ),
            (
                Bybit,
                Value::Null,
                r#"{"op":"auth","success":true,"ret_msg":"","conn_id":"x"}"#,
            ),
            (HmacConcat, Value::Null, r#"{"op":"auth","success":true}"#),
            (
                Okx,
                Value::Null,
                r#"{"event":"login","code":"0","msg":"","connId":"a"}"#,
            ),
            (
                CoinbaseExchange,
                Value::Null,
                r#"{"type":"subscriptions","channels":[]}"#,
            ),
            (
                Kraken,
                json!(3),
                r#"{"method":"subscribe","success":true,"req_id":3,"result":{}}"#,
            ),
            (
                Kraken,
                json!(3),
                r#"{"event":"subscriptionStatus","status":"subscribed"}"#,
            ),
            (
                Bitmex,
                Value::Null,
                r#"{"success":true,"request":{"op":"authKeyExpires"}}"#,
            ),
            (
                Deribit,
                json!(7),
                r#"{"jsonrpc":"2.0","id":7,"result":{"access_token":"t"}}"#,
            ),
            (Bitmart, Value::Null, r#"{"event":"login"}"#),
        ];
        for (venue, id, msg) in cases {
            assert_eq!(verdict(venue, id, msg), Verdict::Accepted, "{venue}: {msg}");
        }
    }

    #[test]
    fn every_venue_failure_shape() {
        use Scheme::*;
        let cases = [
            (
                Binance,
                json!("keyward-auth-1"),
                r#"{"id":"keyward-auth-1","status":401,"error":{"code":-1022,"msg":"Signature for this request is not valid."}}"#,
                Some("-1022"),
                "Signature for this request is not valid.",
            ),
            (
                Bybit,
                Value::Null,
                r#"{"op":"auth","success":false,"ret_msg":"Params Error"}"#,
                None,
                "Params Error",
            ),
            (
                HmacConcat,
                Value::Null,
                r#"{"op":"auth","success":false,"error":"bad_signature"}"#,
                Some("bad_signature"),
                "bad_signature",
            ),
            (
                Okx,
                Value::Null,
                r#"{"event":"error","code":"60009","msg":"Login failed."}"#,
                Some("60009"),
                "Login failed.",
            ),
            (
                CoinbaseExchange,
                Value::Null,
                r#"{"type":"error","message":"Authentication Failed","reason":"invalid signature"}"#,
                None,
                "Authentication Failed: invalid signature",
            ),
            (
                Kraken,
                json!(3),
                r#"{"method":"subscribe","success":false,"error":"EAccount:Invalid permissions","req_id":3}"#,
                Some("EAccount"),
                "EAccount:Invalid permissions",
            ),
            (
                Bitmex,
                Value::Null,
                r#"{"status":401,"error":"Signature not valid.","meta":{}}"#,
                Some("401"),
                "Signature not valid.",
            ),
            (
                Deribit,
                json!(7),
                r#"{"jsonrpc":"2.0","id":7,"error":{"code":13004,"message":"invalid_credentials"}}"#,
                Some("13004"),
                "invalid_credentials",
            ),
            (
                Bitmart,
                Value::Null,
                r#"{"event":"login","errorCode":30004,"errorMessage":"invalid sign"}"#,
                Some("30004"),
                "invalid sign",
            ),
        ];
        for (venue, id, msg, code, text) in cases {
            let v = verdict(venue, id, msg);
            assert!(rejected(code, text)(v.clone()), "{venue}: {v:?}");
        }
    }

    #[test]
    fn other_messages_are_not_the_answer() {
        use Scheme::*;
        let cases = [
            (
                Bitmex,
                Value::Null,
                r#"{"info":"Welcome to the BitMEX Realtime API."}"#,
            ),
            (
                Binance,
                json!("keyward-auth-2"),
                r#"{"id":"other","status":200}"#,
            ),
            (Deribit, json!(2), r#"{"jsonrpc":"2.0","id":9,"result":{}}"#),
            (Okx, Value::Null, r#"{"event":"subscribe"}"#),
            (Kraken, json!(1), r#"{"channel":"heartbeat"}"#),
            (
                Kraken,
                json!(1),
                r#"{"event":"subscriptionStatus","status":"subscribed","reqid":2}"#,
            ),
            (Bitmex, Value::Null, r#"{"error":"unsupported message"}"#),
            (Bybit, Value::Null, r#"{"op":"pong"}"#),
            (Bitmart, Value::Null, r#"{"event":"subscribe"}"#),
        ];
        for (venue, id, msg) in cases {
            assert_eq!(verdict(venue, id, msg), Verdict::Other, "{venue}: {msg}");
        }
    }

    #[test]
    fn messages_are_wrapped_as_each_venue_expects() {
        let creds = keyward_signing::Credentials::new("key1", "c2VjcmV0".into())
            .with_passphrase("pass".into());
        for venue in [
            Scheme::Binance,
            Scheme::Deribit,
            Scheme::CoinbaseExchange,
            Scheme::Kraken,
        ] {
            let signer = Signer::new(venue, &creds).unwrap();
            let token = SecretString::from("tok");
            let (text, expect) =
                message(Venue::new(venue), &signer, &Map::new(), 5, Some(&token)).unwrap();
            let msg: Value = serde_json::from_str(&text).unwrap();
            match venue {
                Scheme::Binance => {
                    assert_eq!(msg["method"], "userDataStream.subscribe.signature");
                    assert_eq!(msg["id"], expect.id);
                    assert_eq!(msg["params"]["apiKey"], "key1");
                }
                Scheme::Deribit => assert_eq!(msg["id"], 5),
                Scheme::CoinbaseExchange => assert_eq!(msg["channels"], json!(["user"])),
                _ => {
                    assert_eq!(msg["event"], "subscribe");
                    assert_eq!(msg["subscription"]["token"], "tok");
                    assert_eq!(msg["subscription"]["name"], "ownTrades");
                    assert_eq!(msg["reqid"], 5);
                }
            }
        }
    }

    /// The Binance auth message for `secret`, parsed, and the follow-up message if any.
    fn binance_auth(secret: &str) -> (Value, Option<Value>) {
        let creds = keyward_signing::Credentials::new("key1", secret.into());
        let signer = Signer::new(Scheme::Binance, &creds).unwrap();
        let (text, expect) =
            message(Venue::new(Scheme::Binance), &signer, &Map::new(), 3, None).unwrap();
        let then = expect.then.map(|t| serde_json::from_str(&t).unwrap());
        (serde_json::from_str(&text).unwrap(), then)
    }

    #[test]
    fn binance_logs_on_with_an_ed25519_key_and_subscribes_after() {
        use keyward_signing::keys::{KeyKind, generate};
        use secrecy::ExposeSecret as _;
        let key = generate(KeyKind::Ed25519).unwrap();
        let (msg, then) = binance_auth(key.private_pem().expose_secret());
        assert_eq!(msg["method"], "session.logon");
        assert_eq!(msg["id"], "keyward-auth-3");
        assert_eq!(msg["params"]["apiKey"], "key1");
        // Ed25519 signatures are base64 (64 bytes: 88 characters), not hex.
        let sig = msg["params"]["signature"].as_str().unwrap();
        assert_eq!(sig.len(), 88, "{sig}");
        assert_eq!(
            then,
            Some(json!({"id": "keyward-subscribe-3", "method": "userDataStream.subscribe"}))
        );
        // The logon's answer is read as the subscribe's was.
        let accepted = r#"{"id":"keyward-auth-3","status":200,"result":{"apiKey":"key1","authorizedSince":1,"connectedSince":1,"returnRateLimits":false,"serverTime":1,"userDataStream":false}}"#;
        assert_eq!(
            verdict(Scheme::Binance, json!("keyward-auth-3"), accepted),
            Verdict::Accepted
        );
    }

    #[test]
    fn coinbase_advanced_subscribes_with_a_cdp_jwt() {
        use keyward_signing::keys::{KeyKind, generate};
        use secrecy::ExposeSecret as _;
        let key = generate(KeyKind::P256).unwrap();
        let creds = keyward_signing::Credentials::new(
            "organizations/o/apiKeys/k",
            key.private_pem().expose_secret().into(),
        );
        let signer = Signer::new(Scheme::CoinbaseAdvanced, &creds).unwrap();
        let venue = Venue::new(Scheme::CoinbaseAdvanced);
        let (text, expect) = message(venue, &signer, &Map::new(), 1, None).unwrap();
        let msg: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            (msg["type"].as_str(), msg["channel"].as_str()),
            (Some("subscribe"), Some("user"))
        );
        assert_eq!(msg["jwt"].as_str().unwrap().split('.').count(), 3);
        assert!(expect.then.is_none());
        let ok = r#"{"channel":"subscriptions","client_id":"","timestamp":"2023-02-09T20:32:21Z","sequence_num":0,"events":[{"subscriptions":{"user":["x"]}}]}"#;
        assert_eq!(
            verdict(Scheme::CoinbaseAdvanced, Value::Null, ok),
            Verdict::Accepted
        );
        let refused = r#"{"type":"error","message":"authentication failure"}"#;
        assert!(rejected(None, "authentication failure")(verdict(
            Scheme::CoinbaseAdvanced,
            Value::Null,
            refused
        )));
        let other = r#"{"channel":"heartbeats","events":[]}"#;
        assert_eq!(
            verdict(Scheme::CoinbaseAdvanced, Value::Null, other),
            Verdict::Other
        );
        // A legacy HMAC key has no WebSocket auth: the signer refuses it, typed.
        let hmac = Signer::new(
            Scheme::CoinbaseAdvanced,
            &keyward_signing::Credentials::new("k", "legacy-secret".into()),
        )
        .unwrap();
        let err = message(venue, &hmac, &Map::new(), 1, None).unwrap_err();
        assert!(matches!(err, WsError::Signing { .. }), "{err:?}");
        assert!(err.to_string().contains("HMAC"), "{err}");
        // ... and a session configuration with it is refused before any connection.
        let err = check_key(venue, &hmac).unwrap_err();
        assert!(
            matches!(
                err,
                WsError::Unsupported {
                    key: Some(KeyKind::Hmac),
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "coinbase-advanced has no WebSocket authentication keyward can perform with an HMAC key"
        );
        check_key(venue, &signer).unwrap();
    }

    #[test]
    fn binance_subscribes_with_a_signature_for_an_hmac_key() {
        let (msg, then) = binance_auth("an-hmac-secret");
        assert_eq!(msg["method"], "userDataStream.subscribe.signature");
        let sig = msg["params"]["signature"].as_str().unwrap();
        assert!(
            sig.len() == 64 && sig.bytes().all(|b| b.is_ascii_hexdigit()),
            "{sig}"
        );
        assert_eq!(then, None);
    }

    #[test]
    fn handshake_rejection_reads_the_error_kind() {
        let f = handshake_rejection(Scheme::KeywardV1, 401, Some(br#"{"error":"expired"}"#));
        assert_eq!(
            (f.code.as_deref(), f.message.as_str()),
            (Some("401"), "expired")
        );
    }
}
