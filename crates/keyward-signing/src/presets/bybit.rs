//! Bybit v5: REST and WebSocket `auth`.
//!
//! REST (<https://bybit-exchange.github.io/docs/v5/guide#authentication>):
//! `X-BAPI-SIGN = hex(HMAC-SHA256(secret, timestamp || apiKey || recvWindow || payload))`, where
//! the payload is the query string for GET and the raw JSON body otherwise. Headers
//! `X-BAPI-API-KEY`, `X-BAPI-TIMESTAMP` (ms), `X-BAPI-RECV-WINDOW` (always sent, 5000 unless
//! given) and `X-BAPI-SIGN`.
//!
//! WebSocket (<https://bybit-exchange.github.io/docs/v5/ws/connect#authentication>):
//! `{"op":"auth","args":[apiKey, expires, signature]}` with `expires` in milliseconds and
//! `signature = hex(HMAC-SHA256(secret, "GET/realtime" || expires))`.
//!
//! Keys (<https://bybit-exchange.github.io/docs/v5/guide#create-a-request>): HMAC, or a
//! self-generated RSA key whose signature (RSASSA-PKCS1-v1_5 with SHA-256) over the same
//! prehash is sent in standard base64, on REST and in the WebSocket `auth` message.
//!
//! Verifying: Bybit's rule is `server_time - recv_window <= timestamp < server_time + 1000`.
//! Bybit documents no largest `X-BAPI-RECV-WINDOW`, so the verifier caps it at
//! `MAX_RECV_WINDOW_MS` (60 s, Binance's documented maximum; Bybit's own SDK sends 5000 and
//! adds 2500 per retry): a larger value is still signed as sent, but the request is judged by
//! the 60 s window, so no request can ask to be remembered for longer. A WebSocket `expires` may
//! lie no further ahead than the verifier's window (default 300 s, at most
//! [`Window::MAX`](crate::verify::Window::MAX)).

use serde_json::{Map, Value, json};

use crate::descriptor::{Context, Descriptor, Keys, ReceiveWindow, Rest, Timing, WindowRule, Ws};
use crate::error::Result;
use crate::key::KeyKind;
use crate::options::SignOptions;
use crate::request::Request;
use crate::scheme::Scheme;
use crate::signature::Encoding;
use crate::signer::Signer;
use crate::timestamp::TimeForm;
use crate::verify::{
    Claim, Resign, SignatureAt, TimeRule, VerifyError, WsClaim, key_time_signature, number_text,
    parse_u64, required_header, whole, without_header,
};

/// Bybit's receive window: 5000 ms unless the request names one, honoured up to
/// [`MAX_RECV_WINDOW_MS`], and a timestamp less than 1000 ms ahead of the server.
const RECEIVE: ReceiveWindow = ReceiveWindow {
    default_ms: 5000,
    max_ms: MAX_RECV_WINDOW_MS,
    future_ms: 999,
};
/// The largest receive window the verifier honours, in milliseconds (Bybit documents none; see
/// the module docs).
const MAX_RECV_WINDOW_MS: u64 = 60_000;
/// How long a WebSocket auth message stays valid when no expiry is given.
const WS_VALIDITY_MS: u64 = 10_000;

/// HMAC and RSA keys, on REST and WebSocket.
const KEYS: &[KeyKind] = &[KeyKind::Hmac, KeyKind::Rsa];

pub(crate) static DESCRIPTOR: Descriptor = Descriptor {
    keys: Keys {
        rest: KEYS,
        ws: KEYS,
    },
    rest: Some(Rest::claimed(
        sign,
        claim,
        Timing::new(TimeForm::Millis, WindowRule::Receive(RECEIVE)),
    )),
    // `expires` in milliseconds, at most the verifier's past window ahead.
    ws: Some(Ws::new(
        ws_auth,
        ws_claim,
        Timing::new(TimeForm::Millis, WindowRule::Configured),
    )),
    ..Descriptor::hmac_sha256(Scheme::Bybit, "bybit")
};

fn sign(s: &Signer, mut req: Request, o: &SignOptions) -> Result<Request> {
    let ts = s.rest_timestamp(o)?;
    let recv = o.recv_window_ms.unwrap_or(RECEIVE.default_ms).to_string();
    let payload: &[u8] = if req.method == "GET" {
        req.query.as_bytes()
    } else {
        &req.body
    };
    let sig = s.key.text(
        &[
            ts.as_bytes(),
            s.api_key.as_bytes(),
            recv.as_bytes(),
            payload,
        ],
        Encoding::Hex,
    )?;
    req.set_header("X-BAPI-API-KEY", s.api_key.clone());
    req.set_header("X-BAPI-TIMESTAMP", ts);
    req.set_header("X-BAPI-RECV-WINDOW", recv);
    req.set_header("X-BAPI-SIGN", sig);
    Ok(req)
}

fn ws_auth(s: &Signer, _: &Map<String, Value>, o: &SignOptions) -> Result<Value> {
    let expires = match o.expires {
        Some(secs) => secs.saturating_mul(1000),
        None => s.timestamp_ms(o).saturating_add(WS_VALIDITY_MS),
    };
    let signature = ws_signature(s, &expires.to_string())?;
    Ok(json!({"op": "auth", "args": [s.api_key, expires, signature]}))
}

/// `hex(HMAC-SHA256(secret, "GET/realtime" || expires))` (base64 for an RSA key).
fn ws_signature(s: &Signer, expires: &str) -> Result<String> {
    s.key
        .text(&[b"GET/realtime", expires.as_bytes()], Encoding::Hex)
}

/// Bybit's acceptance rule: `server_time - recv_window <= timestamp < server_time + 1000`, with
/// `recv_window` capped at [`MAX_RECV_WINDOW_MS`].
fn claim(req: &Request, ctx: &Context<'_>) -> Result<Claim, VerifyError> {
    let key = required_header(req, "X-BAPI-API-KEY")?.to_owned();
    let timestamp = ctx.time(
        "header X-BAPI-TIMESTAMP",
        required_header(req, "X-BAPI-TIMESTAMP")?,
    )?;
    let recv_window = match req.header("X-BAPI-RECV-WINDOW") {
        Some(r) => parse_u64("header X-BAPI-RECV-WINDOW", r)?,
        None => RECEIVE.default_ms,
    };
    Ok(Claim {
        key_id: Some(key),
        provided: required_header(req, "X-BAPI-SIGN")?.to_owned(),
        passphrase: None,
        time: TimeRule::at(
            timestamp,
            RECEIVE.window(Some(recv_window.min(RECEIVE.max_ms))),
        ),
        unsigned: without_header(req, "X-BAPI-SIGN"),
        options: SignOptions {
            timestamp_ms: Some(timestamp),
            recv_window_ms: Some(recv_window),
            ..SignOptions::default()
        },
        signature_at: SignatureAt::Header("X-BAPI-SIGN"),
        replay_basis: None,
    })
}

/// `{"op":"auth","args":[key, expires, signature]}`: `expires` (ms) in the future and at most
/// the verifier's past window ahead. Its signature is recomputed over `expires` exactly as
/// received, which [`SignOptions::expires`] (seconds) cannot carry.
fn ws_claim(message: &Value, ctx: &Context<'_>) -> Result<WsClaim, VerifyError> {
    let (key, expires, sig) = key_time_signature(message)?;
    let expires_ms = ctx.time_number("args[1]", whole(Some(expires), "args[1]")?)?;
    let time = TimeRule::Expires {
        expires_ms,
        max_ahead_ms: ctx.window.past_ms,
    };
    let resign = Resign::Computed(|s, claim| {
        let expires = claim.params.get("expires").map(number_text)?;
        ws_signature(s, &expires).ok()
    });
    let mut claim = WsClaim::new(key, sig, time, resign);
    claim.params.insert("expires".into(), expires.clone());
    Ok(claim)
}

#[cfg(test)]
mod tests {
    use crate::test_support::{hmac256_hex, signer};
    use crate::{Request, Scheme, SignOptions};

    const TS: u64 = 1_700_000_000_123;

    #[test]
    fn get_signs_the_query_and_always_sends_recv_window() {
        let s = signer(Scheme::Bybit, None);
        let q = "category=linear&symbol=BTCUSDT";
        let out = s
            .sign(
                Request::get("/v5/order/realtime").with_query(q),
                &SignOptions::at(TS),
            )
            .unwrap();
        assert_eq!(out.query, q);
        assert_eq!(out.header("X-BAPI-RECV-WINDOW"), Some("5000"));
        assert_eq!(out.header("X-BAPI-TIMESTAMP"), Some("1700000000123"));
        assert_eq!(
            out.header("X-BAPI-SIGN").unwrap(),
            hmac256_hex(&format!("{TS}test-key5000{q}"))
        );
    }

    #[test]
    fn post_signs_the_raw_body() {
        let s = signer(Scheme::Bybit, None);
        let body = r#"{"category":"spot","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"0.1","orderLinkId":"ü"}"#;
        let opts = SignOptions {
            recv_window_ms: Some(20_000),
            ..SignOptions::at(TS)
        };
        let out = s
            .sign(Request::post("/v5/order/create").with_body(body), &opts)
            .unwrap();
        assert_eq!(out.body, body.as_bytes());
        assert_eq!(
            out.header("X-BAPI-SIGN").unwrap(),
            hmac256_hex(&format!("{TS}test-key20000{body}"))
        );
    }

    #[test]
    fn empty_payload() {
        let s = signer(Scheme::Bybit, None);
        let out = s
            .sign(
                Request::get("/v5/account/wallet-balance"),
                &SignOptions::at(TS),
            )
            .unwrap();
        assert_eq!(
            out.header("X-BAPI-SIGN").unwrap(),
            hmac256_hex(&format!("{TS}test-key5000"))
        );
        assert_eq!(out.header("X-BAPI-API-KEY"), Some("test-key"));
    }

    #[test]
    fn ws_auth_message() {
        let s = signer(Scheme::Bybit, None);
        let msg = s
            .ws_auth(
                &Default::default(),
                &SignOptions {
                    expires: Some(1_700_000_100),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(msg["op"], "auth");
        assert_eq!(msg["args"][1], 1_700_000_100_000u64);
        assert_eq!(msg["args"][2], hmac256_hex("GET/realtime1700000100000"));
        let msg = s
            .ws_auth(&Default::default(), &SignOptions::at(TS))
            .unwrap();
        assert_eq!(msg["args"][1], TS + 10_000);
    }
}
