//! Binance spot: REST and WebSocket API.
//!
//! REST (<https://developers.binance.com/docs/binance-spot-api-docs/rest-api/request-security>):
//! `signature = hex(HMAC-SHA256(secret, query || body))`, the query string and the form body
//! concatenated without a separator, exactly as sent. `timestamp` (ms) is required, `recvWindow`
//! optional; both, and then `signature`, are appended to the part that carries the signed
//! parameters: the form body when there is one, else the query. The key goes in `X-MBX-APIKEY`.
//! Non-ASCII values must be percent-encoded (UTF-8) before signing: build queries with
//! [`crate::build_query`] and [`crate::QueryEncoding::Rfc3986`].
//!
//! WebSocket API (<https://developers.binance.com/docs/binance-spot-api-docs/websocket-api/request-security>):
//! the request parameters, `apiKey` included, sorted by name, joined as `name=value` with `&`,
//! values as raw UTF-8 (not percent-encoded); `signature` is added to the parameters.
//!
//! Keys (same pages): HMAC, RSA and Ed25519. An HMAC signature is lowercase hex; an RSA
//! (RSASSA-PKCS1-v1_5 with SHA-256) or Ed25519 signature of the same payload is standard
//! base64, percent-encoded where it travels in a query or form body (`+`, `/` and `=` are not
//! safe there) and sent as is in a WebSocket API request. `session.logon`
//! (<https://developers.binance.com/docs/binance-spot-api-docs/websocket-api/session-authentication>)
//! takes Ed25519 keys only: any other key is [`Error::KeyNotAccepted`] before signing.
//!
//! Verifying: `timestamp` at most 1000 ms ahead of the server and no older than `recvWindow`
//! (default 5000 ms). Binance documents 60000 ms as the largest `recvWindow` and refuses a larger
//! one; so does the verifier, on REST and on the WebSocket API.

use std::borrow::Cow;

use percent_encoding::{NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde_json::{Map, Value};

use crate::descriptor::{Context, Descriptor, Keys, ReceiveWindow, Rest, Timing, WindowRule, Ws};
use crate::error::{Error, Result};
use crate::key::KeyKind;
use crate::options::SignOptions;
use crate::params::{append_number, append_param, has_params, raw_param};
use crate::request::Request;
use crate::scheme::Scheme;
use crate::signature::{Encoding, SignatureText};
use crate::signer::Signer;
use crate::timestamp::TimeForm;
use crate::verify::{
    Claim, Resign, SignatureAt, TimeRule, VerifyError, WsClaim, key_signature_time, parse_u64,
    required_header,
};

/// Binance's receive window, on REST and the WebSocket API: 5000 ms unless the request names
/// one, at most 60000 ms, and a timestamp at most 1000 ms ahead of the server.
const RECEIVE: ReceiveWindow = ReceiveWindow {
    default_ms: 5000,
    max_ms: 60_000,
    future_ms: 1000,
};

/// `timestamp` in milliseconds, within the receive window.
const TIME: Timing = Timing::new(TimeForm::Millis, WindowRule::Receive(RECEIVE));

/// HMAC, RSA and Ed25519 keys, on REST and the WebSocket API.
const KEYS: &[KeyKind] = &[KeyKind::Hmac, KeyKind::Ed25519, KeyKind::Rsa];

/// The WebSocket API method that takes Ed25519 keys only.
const LOGON: &str = "session.logon";

pub(crate) static DESCRIPTOR: Descriptor = Descriptor {
    keys: Keys {
        rest: KEYS,
        ws: KEYS,
    },
    rest: Some(Rest::claimed(sign, claim, TIME)),
    ws: Some(Ws::new(ws_params, ws_claim, TIME)),
    ..Descriptor::hmac_sha256(Scheme::Binance, "binance")
};

fn sign(s: &Signer, mut req: Request, o: &SignOptions) -> Result<Request> {
    const NAMES: [&str; 3] = ["signature", "recvWindow", "timestamp"];
    // The signed parameters (and the signature) go into the body when there is one. The part
    // that carries them is taken out of the request and extended in place: it is the prehash
    // (after the query, for a body) and then the text sent, with no copy in between.
    let body_carries = !req.body.is_empty();
    let mut carrier = if body_carries {
        String::from_utf8(std::mem::take(&mut req.body))
            .map_err(|_| Error::InvalidRequest("the body is not valid UTF-8".into()))?
    } else {
        std::mem::take(&mut req.query)
    };
    let in_carrier = has_params(&carrier, NAMES);
    let in_query = if body_carries {
        has_params(&req.query, NAMES)
    } else {
        [false; 3]
    };
    let [has_signature, has_recv, has_ts] = [0, 1, 2].map(|i| in_carrier[i] || in_query[i]);
    if has_signature {
        return Err(Error::InvalidRequest(
            "it already carries a signature parameter".into(),
        ));
    }
    let add_recv = o.recv_window_ms.filter(|_| !has_recv);
    let add_ts = (!has_ts).then(|| s.timestamp_ms(o));
    // Room for what is appended, with an HMAC signature (a base64 one, longer, may grow it once
    // more). A text without that room is copied into a new one of the exact size rather than
    // grown: glibc's `realloc` bypasses its per-thread cache, and costs about three times an
    // allocation and a copy of a few hundred bytes (callgrind, `benches/signing.rs`).
    let room = add_recv.map_or(0, |_| APPENDED_NUMBER)
        + add_ts.map_or(0, |_| APPENDED_NUMBER)
        + APPENDED_HEX_SIGNATURE;
    if carrier.capacity() - carrier.len() < room {
        let mut roomy = String::with_capacity(carrier.len() + room);
        roomy.push_str(&carrier);
        carrier = roomy;
    }
    if let Some(recv) = add_recv {
        append_number(&mut carrier, "recvWindow", recv);
    }
    if let Some(ts) = add_ts {
        append_number(&mut carrier, "timestamp", ts);
    }
    let prehash: [&[u8]; 2] = if body_carries {
        [req.query.as_bytes(), carrier.as_bytes()]
    } else {
        [carrier.as_bytes(), b""]
    };
    let signature = s.key.text_buf(&prehash, Encoding::Hex)?;
    append_param(&mut carrier, "signature", "");
    if let SignatureText::Mac(_) = signature {
        // Hex is sent as it is.
        carrier.push_str(signature.as_str());
    } else {
        // Base64's `+`, `/` and `=` are escaped.
        carrier.extend(utf8_percent_encode(signature.as_str(), NON_ALPHANUMERIC));
    }
    if body_carries {
        req.body = carrier.into_bytes();
    } else {
        req.query = carrier;
    }
    req.default_header("X-MBX-APIKEY", s.api_key.as_str());
    Ok(req)
}

/// The most `&recvWindow=` or `&timestamp=` and a `u64` add to the signed parameters.
const APPENDED_NUMBER: usize = "&recvWindow=".len() + 20;

/// What `&signature=` and an HMAC-SHA256 in hex add.
const APPENDED_HEX_SIGNATURE: usize = "&signature=".len() + 64;

fn ws_params(s: &Signer, params: &Map<String, Value>, o: &SignOptions) -> Result<Value> {
    if o.method.as_deref() == Some(LOGON) {
        s.check_kind(&[KeyKind::Ed25519], LOGON)?;
    }
    let mut params = params.clone();
    if params.contains_key("signature") {
        return Err(Error::InvalidParams(
            "they already carry a signature".into(),
        ));
    }
    params
        .entry("apiKey")
        .or_insert_with(|| Value::from(s.api_key.clone()));
    if let Some(recv) = o.recv_window_ms {
        params
            .entry("recvWindow")
            .or_insert_with(|| Value::from(recv));
    }
    params
        .entry("timestamp")
        .or_insert_with(|| Value::from(s.timestamp_ms(o)));
    let mut pairs = Vec::with_capacity(params.len());
    for (name, value) in &params {
        pairs.push((name.as_str(), scalar_text(name, value)?));
    }
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    let payload = pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let signature = s.key.text(&[payload.as_bytes()], Encoding::Hex)?;
    params.insert("signature".into(), Value::from(signature));
    Ok(Value::Object(params))
}

/// A parameter value as Binance signs it: strings raw, numbers and booleans as JSON prints them.
fn scalar_text(name: &str, value: &Value) -> Result<String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(Error::InvalidParams(format!(
            "parameter {name:?} must be a string, number or boolean"
        ))),
    }
}

/// Binance's acceptance rules: `timestamp` no more than 1000 ms ahead of the server and no
/// older than `recvWindow` (default 5000 ms, at most 60000 ms, up to three decimals).
fn claim(req: &Request, ctx: &Context<'_>) -> Result<Claim, VerifyError> {
    let key = required_header(req, "X-MBX-APIKEY")?.to_owned();
    let body = std::str::from_utf8(&req.body)
        .map_err(|_| VerifyError::malformed("the body is not valid UTF-8"))?;
    // The query and the body without the signature parameter: what the client signed.
    let (query, body, provided) = if let Some((rest, sig)) = split_signature(&req.query) {
        (Cow::Owned(rest), Cow::Borrowed(body), sig)
    } else if let Some((rest, sig)) = split_signature(body) {
        (Cow::Borrowed(req.query.as_str()), Cow::Owned(rest), sig)
    } else {
        return Err(VerifyError::malformed("parameter signature is missing"));
    };
    let provided = unescape(provided)
        .ok_or_else(|| VerifyError::malformed("parameter signature is not valid UTF-8"))?;
    let param = |name: &str| raw_param(&query, name).or_else(|| raw_param(&body, name));
    let timestamp = param("timestamp")
        .ok_or_else(|| VerifyError::malformed("parameter timestamp is missing"))
        .and_then(|t| ctx.time("parameter timestamp", t))?;
    let recv_window = param("recvWindow")
        .map(|r| recv_window_ms("parameter recvWindow", r))
        .transpose()?;
    let time = TimeRule::at(timestamp, RECEIVE.window(recv_window));
    let [again_in_query] = has_params(&query, ["signature"]);
    let [again_in_body] = has_params(&body, ["signature"]);
    if again_in_query || again_in_body {
        // A second `signature` parameter: `sign` refuses to sign such a request, so the
        // re-signing path refuses it (as a bad signature, after the key lookup).
        let mut unsigned = req.clone();
        unsigned.query = query.into_owned();
        unsigned.body = body.into_owned().into_bytes();
        return Ok(Claim {
            key_id: Some(key),
            provided,
            passphrase: None,
            time,
            unsigned,
            options: SignOptions::default(),
            signature_at: SignatureAt::Read(|r| {
                let body = std::str::from_utf8(&r.body).unwrap_or_default();
                raw_param(&r.query, "signature")
                    .or_else(|| raw_param(body, "signature"))
                    .and_then(unescape)
            }),
            replay_basis: None,
        });
    }
    // `sign` MACs the query and the body concatenated, exactly as sent without the signature
    // (the timestamp is present, so nothing is added): the verifier MACs those bytes directly
    // with the prepared key and compares the hex (or checks an asymmetric signature over them),
    // with no copy of the request and no re-signing.
    let mut covered = Vec::with_capacity(query.len() + body.len());
    covered.extend_from_slice(query.as_bytes());
    covered.extend_from_slice(body.as_bytes());
    Ok(Claim {
        key_id: Some(key),
        provided,
        passphrase: None,
        time,
        unsigned: Request::default(),
        options: SignOptions::default(),
        signature_at: SignatureAt::Covers(covered, Encoding::Hex),
        replay_basis: None,
    })
}

/// `text` without its first `signature` parameter, and that parameter's value: exactly
/// `params::remove_param(text, "signature")` (a test holds them equal), in one pass over the
/// pair separators and one allocation, as it runs on every verification.
fn split_signature(text: &str) -> Option<(String, &str)> {
    const NAME: &str = "signature";
    let mut start = 0;
    loop {
        let end = text[start..].find('&').map_or(text.len(), |i| start + i);
        let pair = &text[start..end];
        let name = pair.split_once('=').map_or(pair, |(k, _)| k);
        if name == NAME {
            let value = pair.get(NAME.len() + 1..).unwrap_or_default();
            let rest = if start == 0 {
                text.get(end + 1..).unwrap_or_default().to_owned()
            } else {
                let mut rest = String::with_capacity(text.len() - pair.len());
                rest.push_str(&text[..start - 1]);
                rest.push_str(&text[end..]);
                rest
            };
            return Some((rest, value));
        }
        if end == text.len() {
            return None;
        }
        start = end + 1;
    }
}

/// A signature parameter as signed: percent-escapes undone (base64 signatures are escaped).
fn unescape(text: &str) -> Option<String> {
    percent_decode_str(text)
        .decode_utf8()
        .ok()
        .map(Cow::into_owned)
}

/// A WebSocket API request (or its `params`): the same rules as REST, the parameters re-signed
/// without their `signature`.
fn ws_claim(message: &Value, ctx: &Context<'_>) -> Result<WsClaim, VerifyError> {
    let fields = message.get("params").unwrap_or(message);
    let params = fields
        .as_object()
        .ok_or_else(|| VerifyError::malformed("params must be an object"))?;
    let (key, provided, timestamp) =
        key_signature_time(fields, "params.", ["apiKey", "signature", "timestamp"], ctx)?;
    let recv_window = match params.get("recvWindow") {
        Some(Value::Number(n)) => Some(recv_window_ms("params.recvWindow", &n.to_string())?),
        Some(Value::String(s)) => Some(recv_window_ms("params.recvWindow", s)?),
        Some(_) => {
            return Err(VerifyError::malformed("params.recvWindow is not a number"));
        }
        None => None,
    };
    let mut claim = WsClaim::new(
        key,
        provided,
        TimeRule::at(timestamp, RECEIVE.window(recv_window)),
        Resign::Rebuilt("/signature"),
    );
    claim.params = params.clone();
    claim.params.remove("signature");
    // A logon is re-signed as a logon, so a key other than Ed25519 cannot verify it.
    if message.get("method").and_then(Value::as_str) == Some(LOGON) {
        claim.options.method = Some(LOGON.into());
    }
    Ok(claim)
}

/// A `recvWindow` as Binance reads it, in whole milliseconds: a decimal number of milliseconds
/// with at most three decimal places, "so that microseconds may be specified" (REST:
/// <https://developers.binance.com/docs/binance-spot-api-docs/rest-api/request-security>;
/// WebSocket API: <https://developers.binance.com/docs/binance-spot-api-docs/websocket-api/authentication-requests>),
/// at most 60000. Timestamps are whole milliseconds, so `now - timestamp <= recvWindow` holds
/// exactly when it holds for the window's whole part: the fraction is dropped.
fn recv_window_ms(what: &str, text: &str) -> Result<u64, VerifyError> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let fraction_ok = fraction.len() <= 3 && fraction.bytes().all(|b| b.is_ascii_digit());
    if !fraction_ok || (text.contains('.') && fraction.is_empty()) {
        return Err(VerifyError::malformed(format!(
            "{what} must be a number with at most three decimal places"
        )));
    }
    let ms = parse_u64(what, whole)?;
    let max = RECEIVE.max_ms;
    if ms > max || (ms == max && fraction.bytes().any(|b| b != b'0')) {
        return Err(VerifyError::malformed(format!(
            "{what} must be at most {max}"
        )));
    }
    Ok(ms)
}

#[cfg(test)]
mod tests {
    use crate::test_support::{hmac256_hex, signer};

    #[test]
    fn split_signature_is_remove_param() {
        for text in [
            "",
            "signature",
            "signature=",
            "signature=abc",
            "a=1&signature=abc",
            "signature=abc&b=2",
            "a=1&signature=x&b=2&signature=y",
            "a&&signature=x",
            "signature=x&&b",
            "&signature=x&",
            "signatures=1&xsignature=2&signature",
            "a=1&b=2",
            "signature=a=b&c",
            "é=1&signature=ü&ß",
        ] {
            let ours = super::split_signature(text).map(|(r, v)| (r, v.to_owned()));
            assert_eq!(
                ours,
                crate::params::remove_param(text, "signature"),
                "{text:?}"
            );
        }
    }
    use crate::{Request, Scheme, SignOptions};

    const TS: u64 = 1_700_000_000_123;

    #[test]
    fn get_with_query_appends_timestamp_then_signature_to_the_query() {
        let s = signer(Scheme::Binance, None);
        let out = s
            .sign(
                Request::get("/api/v3/account").with_query("omitZeroBalances=true"),
                &SignOptions::at(TS),
            )
            .unwrap();
        let signed = format!("omitZeroBalances=true&timestamp={TS}");
        assert_eq!(
            out.query,
            format!("{signed}&signature={}", hmac256_hex(&signed))
        );
        assert!(out.body.is_empty());
        assert_eq!(out.header("X-MBX-APIKEY"), Some("test-key"));
    }

    #[test]
    fn post_with_body_signs_query_and_body_and_extends_the_body() {
        let s = signer(Scheme::Binance, None);
        let opts = SignOptions {
            recv_window_ms: Some(5000),
            ..SignOptions::at(TS)
        };
        let out = s
            .sign(
                Request::post("/api/v3/order")
                    .with_query("symbol=LTCBTC")
                    .with_body("side=BUY"),
                &opts,
            )
            .unwrap();
        let body = format!("side=BUY&recvWindow=5000&timestamp={TS}");
        let sig = hmac256_hex(&format!("symbol=LTCBTC{body}"));
        assert_eq!(out.query, "symbol=LTCBTC");
        assert_eq!(out.body, format!("{body}&signature={sig}").into_bytes());
    }

    #[test]
    fn empty_request_gets_only_timestamp_and_signature() {
        let s = signer(Scheme::Binance, None);
        let out = s
            .sign(Request::get("/api/v3/openOrders"), &SignOptions::at(TS))
            .unwrap();
        let signed = format!("timestamp={TS}");
        assert_eq!(
            out.query,
            format!("{signed}&signature={}", hmac256_hex(&signed))
        );
        // recvWindow only when asked for.
        assert!(!out.query.contains("recvWindow"));
    }

    #[test]
    fn given_timestamp_is_kept_and_percent_encoded_values_are_signed_as_sent() {
        let s = signer(Scheme::Binance, None);
        let q = "symbol=%EF%BC%91&timestamp=5";
        let out = s
            .sign(
                Request::get("/api/v3/x").with_query(q),
                &SignOptions::at(TS),
            )
            .unwrap();
        assert_eq!(out.query, format!("{q}&signature={}", hmac256_hex(q)));
        let again = s.sign(out, &SignOptions::default());
        assert!(again.is_err(), "a signed request is not signed twice");
    }

    #[test]
    fn ws_params_are_sorted_raw_utf8_and_signed() {
        let s = signer(Scheme::Binance, None);
        let params = serde_json::json!({"symbol": "１２", "quantity": "0.1", "newOrderRespType": "ACK", "test": true});
        let out = s
            .ws_auth(params.as_object().unwrap(), &SignOptions::at(TS))
            .unwrap();
        let payload = format!(
            "apiKey=test-key&newOrderRespType=ACK&quantity=0.1&symbol=１２&test=true&timestamp={TS}"
        );
        assert_eq!(out["signature"], hmac256_hex(&payload));
        assert_eq!(out["timestamp"], TS);
        let bad = serde_json::json!({"x": [1]});
        assert!(
            s.ws_auth(bad.as_object().unwrap(), &SignOptions::at(TS))
                .is_err()
        );
    }

    #[test]
    fn recv_window_takes_up_to_three_decimals_and_at_most_60000() {
        use super::recv_window_ms;
        for (text, ms) in [
            ("5000", 5000),
            ("6000.346", 6000),
            ("0.5", 0),
            ("60000.000", 60_000),
        ] {
            assert_eq!(recv_window_ms("w", text), Ok(ms), "{text}");
        }
        for text in [
            "6000.3461",
            "60000.001",
            "60001",
            "1e3",
            ".5",
            "5.",
            "",
            "-1",
            "5,0",
        ] {
            assert!(recv_window_ms("w", text).is_err(), "{text}");
        }
    }
}
