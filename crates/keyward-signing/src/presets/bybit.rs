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
//! Verifying: Bybit's rule is `server_time - recv_window <= timestamp < server_time + 1000`.
//! Bybit documents no largest `X-BAPI-RECV-WINDOW`, so the verifier caps it at
//! [`MAX_RECV_WINDOW_MS`] (60 s, Binance's documented maximum; Bybit's own SDK sends 5000 and
//! adds 2500 per retry): a larger value is still signed as sent, but the request is judged by
//! the 60 s window, so no request can ask to be remembered for longer. A WebSocket `expires` may
//! lie no further ahead than the verifier's window (default 300 s, at most
//! [`Window::MAX`](crate::verify::Window::MAX)).

use serde_json::{Value, json};

use crate::error::Result;
use crate::options::SignOptions;
use crate::request::Request;
use crate::signer::Signer;
use crate::verify::{
    Claim, TimeRule, VerifyError, Window, parse_u64, required_header, without_header,
};

/// Bybit's default receive window, in milliseconds.
pub(crate) const DEFAULT_RECV_WINDOW_MS: u64 = 5000;
/// The largest receive window the verifier honours, in milliseconds (Bybit documents none; see
/// the module docs).
pub(crate) const MAX_RECV_WINDOW_MS: u64 = 60_000;
/// How long a WebSocket auth message stays valid when no expiry is given.
const WS_VALIDITY_MS: u64 = 10_000;

pub(crate) fn sign(s: &Signer, mut req: Request, o: &SignOptions) -> Result<Request> {
    let ts = s.timestamp_ms(o).to_string();
    let recv = o
        .recv_window_ms
        .unwrap_or(DEFAULT_RECV_WINDOW_MS)
        .to_string();
    let payload: &[u8] = if req.method == "GET" {
        req.query.as_bytes()
    } else {
        &req.body
    };
    let sig = s.mac.hex(&[
        ts.as_bytes(),
        s.api_key.as_bytes(),
        recv.as_bytes(),
        payload,
    ]);
    req.set_header("X-BAPI-API-KEY", s.api_key.clone());
    req.set_header("X-BAPI-TIMESTAMP", ts);
    req.set_header("X-BAPI-RECV-WINDOW", recv);
    req.set_header("X-BAPI-SIGN", sig);
    Ok(req)
}

pub(crate) fn ws_auth(s: &Signer, o: &SignOptions) -> Result<Value> {
    let expires = match o.expires {
        Some(secs) => secs.saturating_mul(1000),
        None => s.timestamp_ms(o).saturating_add(WS_VALIDITY_MS),
    };
    let sig = s
        .mac
        .hex(&[b"GET/realtime", expires.to_string().as_bytes()]);
    Ok(json!({"op": "auth", "args": [s.api_key, expires, sig]}))
}

/// Bybit's acceptance rule: `server_time - recv_window <= timestamp < server_time + 1000`, with
/// `recv_window` capped at [`MAX_RECV_WINDOW_MS`].
pub(crate) fn claim(req: &Request) -> Result<Claim, VerifyError> {
    let key = required_header(req, "X-BAPI-API-KEY")?.to_owned();
    let timestamp = parse_u64(
        "header X-BAPI-TIMESTAMP",
        required_header(req, "X-BAPI-TIMESTAMP")?,
    )?;
    let recv_window = match req.header("X-BAPI-RECV-WINDOW") {
        Some(r) => parse_u64("header X-BAPI-RECV-WINDOW", r)?,
        None => DEFAULT_RECV_WINDOW_MS,
    };
    Ok(Claim {
        key_id: Some(key),
        provided: required_header(req, "X-BAPI-SIGN")?.to_owned(),
        passphrase: None,
        time: TimeRule::Window {
            timestamp_ms: timestamp,
            window: Window {
                past_ms: recv_window.min(MAX_RECV_WINDOW_MS),
                future_ms: 999,
            },
            expires_ms: None,
        },
        unsigned: without_header(req, "X-BAPI-SIGN"),
        options: SignOptions {
            timestamp_ms: Some(timestamp),
            recv_window_ms: Some(recv_window),
            ..SignOptions::default()
        },
        signature_of: |r| r.header("X-BAPI-SIGN").map(str::to_owned),
        replay_basis: None,
    })
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
