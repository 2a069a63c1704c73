//! OKX v5: REST and WebSocket `login`.
//!
//! REST (<https://www.okx.com/docs-v5/en/#overview-rest-authentication-making-requests>):
//! `OK-ACCESS-SIGN = base64(HMAC-SHA256(secret, timestamp || METHOD || requestPath || body))`,
//! where the timestamp is ISO 8601 UTC with milliseconds (`2020-12-08T09:08:57.715Z`) and the
//! request path includes the query string. Headers `OK-ACCESS-KEY`, `OK-ACCESS-SIGN`,
//! `OK-ACCESS-TIMESTAMP`, `OK-ACCESS-PASSPHRASE`.
//!
//! WebSocket (<https://www.okx.com/docs-v5/en/#overview-websocket-login>):
//! `{"op":"login","args":[{"apiKey","passphrase","timestamp","sign"}]}` with the timestamp in
//! Unix seconds and `sign = base64(HMAC-SHA256(secret, timestamp || "GET" || "/users/self/verify"))`.

use serde_json::{Value, json};

use crate::error::Result;
use crate::options::SignOptions;
use crate::presets::{iso8601_ms, secs};
use crate::request::Request;
use crate::signer::Signer;
use crate::verify::{Claim, TimeRule, VerifyError, Window, required_header, without_header};

pub(crate) fn sign(s: &Signer, mut req: Request, o: &SignOptions) -> Result<Request> {
    let passphrase = s.passphrase()?.to_owned();
    let ts = iso8601_ms(s.timestamp_ms(o))?;
    let url = req.url();
    let sig = s.mac.base64(&[
        ts.as_bytes(),
        req.method.as_bytes(),
        url.as_bytes(),
        &req.body,
    ]);
    req.set_header("OK-ACCESS-KEY", s.api_key.clone());
    req.set_header("OK-ACCESS-SIGN", sig);
    req.set_header("OK-ACCESS-TIMESTAMP", ts);
    req.set_header("OK-ACCESS-PASSPHRASE", passphrase);
    Ok(req)
}

pub(crate) fn ws_login(s: &Signer, o: &SignOptions) -> Result<Value> {
    let passphrase = s.passphrase()?;
    let ts = secs(s.timestamp_ms(o)).to_string();
    let sign = s.mac.base64(&[ts.as_bytes(), b"GET/users/self/verify"]);
    Ok(json!({"op": "login", "args": [{
        "apiKey": s.api_key, "passphrase": passphrase, "timestamp": ts, "sign": sign
    }]}))
}

/// OKX's acceptance rule: the timestamp within 30 s of the server's time, either way
/// (error 50102 "Timestamp request expired"). The timestamp must be in the documented form
/// (ISO 8601 with milliseconds), which is what the signature covers.
pub(crate) fn claim(req: &Request) -> Result<Claim, VerifyError> {
    let text = required_header(req, "OK-ACCESS-TIMESTAMP")?;
    let timestamp = parse_iso_ms(text).ok_or_else(|| {
        VerifyError::malformed("header OK-ACCESS-TIMESTAMP is not ISO 8601 UTC with milliseconds")
    })?;
    Ok(Claim {
        key_id: Some(required_header(req, "OK-ACCESS-KEY")?.to_owned()),
        provided: required_header(req, "OK-ACCESS-SIGN")?.to_owned(),
        passphrase: Some(required_header(req, "OK-ACCESS-PASSPHRASE")?.to_owned()),
        time: TimeRule::Window {
            timestamp_ms: timestamp,
            window: VENUE_WINDOW,
            expires_ms: None,
        },
        unsigned: without_header(req, "OK-ACCESS-SIGN"),
        options: SignOptions::at(timestamp),
        signature_of: |r| r.header("OK-ACCESS-SIGN").map(str::to_owned),
        replay_basis: None,
    })
}

/// 30 s either way, as OKX and Coinbase document.
pub(crate) const VENUE_WINDOW: Window = Window {
    past_ms: 30_000,
    future_ms: 30_000,
};

/// `2020-12-08T09:08:57.715Z` as milliseconds since the epoch; None for any other form.
fn parse_iso_ms(text: &str) -> Option<u64> {
    let at =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    let ms = u64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()?;
    (iso8601_ms(ms).ok()? == text).then_some(ms)
}

#[cfg(test)]
mod tests {
    use crate::test_support::{hmac256_b64, signer};
    use crate::{Error, Request, Scheme, SignOptions};

    const TS: u64 = 1_607_418_537_715;
    const ISO: &str = "2020-12-08T09:08:57.715Z";

    #[test]
    fn get_signs_path_with_query() {
        let s = signer(Scheme::Okx, Some("pass"));
        let q = "instId=BTC-USDT&ordId=1";
        let out = s
            .sign(
                Request::get("/api/v5/trade/order").with_query(q),
                &SignOptions::at(TS),
            )
            .unwrap();
        assert_eq!(out.header("OK-ACCESS-TIMESTAMP"), Some(ISO));
        assert_eq!(out.header("OK-ACCESS-PASSPHRASE"), Some("pass"));
        assert_eq!(
            out.header("OK-ACCESS-SIGN").unwrap(),
            hmac256_b64(&format!("{ISO}GET/api/v5/trade/order?{q}"))
        );
    }

    #[test]
    fn post_signs_the_body_including_non_ascii() {
        let s = signer(Scheme::Okx, Some("pass"));
        let body = r#"{"instId":"BTC-USDT","tdMode":"cash","clOrdId":"é","side":"buy","ordType":"market","sz":"1"}"#;
        let out = s
            .sign(
                Request::post("/api/v5/trade/order").with_body(body),
                &SignOptions::at(TS),
            )
            .unwrap();
        assert_eq!(
            out.header("OK-ACCESS-SIGN").unwrap(),
            hmac256_b64(&format!("{ISO}POST/api/v5/trade/order{body}"))
        );
    }

    #[test]
    fn empty_body_and_missing_passphrase() {
        let s = signer(Scheme::Okx, Some("pass"));
        let out = s
            .sign(
                Request::get("/api/v5/account/balance"),
                &SignOptions::at(TS),
            )
            .unwrap();
        assert_eq!(
            out.header("OK-ACCESS-SIGN").unwrap(),
            hmac256_b64(&format!("{ISO}GET/api/v5/account/balance"))
        );
        let no_pass = signer(Scheme::Okx, None);
        assert!(matches!(
            no_pass.sign(Request::get("/x"), &SignOptions::at(TS)),
            Err(Error::MissingPassphrase { scheme: "okx" })
        ));
    }

    #[test]
    fn ws_login_uses_seconds() {
        let s = signer(Scheme::Okx, Some("pass"));
        let msg = s
            .ws_auth(&Default::default(), &SignOptions::at(TS))
            .unwrap();
        let arg = &msg["args"][0];
        assert_eq!(msg["op"], "login");
        assert_eq!(arg["timestamp"], "1607418537");
        assert_eq!(arg["sign"], hmac256_b64("1607418537GET/users/self/verify"));
        assert_eq!(arg["passphrase"], "pass");
    }
}
