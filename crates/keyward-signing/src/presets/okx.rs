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
//!
//! Verifying: the timestamp within 30 s of the server's time, either way (error 50102
//! "Timestamp request expired"), on REST and WebSocket. A REST timestamp must be in the
//! documented form (ISO 8601 with milliseconds), which is what the signature covers.

use serde_json::{Map, Value, json};

use crate::descriptor::{Descriptor, Rest, Timing, WindowRule, Ws};
use crate::error::Result;
use crate::options::SignOptions;
use crate::scheme::Scheme;
use crate::signature::Encoding;
use crate::signer::Signer;
use crate::timestamp::TimeForm;
use crate::timestamp_method_path::{Layout, Login};
use crate::verify::Window;

/// 30 s either way, as OKX documents.
const WINDOW: WindowRule = WindowRule::Documented(Window {
    past_ms: 30_000,
    future_ms: 30_000,
});

const LAYOUT: Layout = Layout {
    key: "OK-ACCESS-KEY",
    sign: "OK-ACCESS-SIGN",
    timestamp: "OK-ACCESS-TIMESTAMP",
    passphrase: Some("OK-ACCESS-PASSPHRASE"),
    encoding: Encoding::Base64,
    signs_query: true,
};

const LOGIN: Login = Login {
    object: "/args/0",
    key: "apiKey",
    sign: "sign",
    passphrase: "passphrase",
    timestamp: "timestamp",
    signature_at: "/args/0/sign",
};

pub(crate) static DESCRIPTOR: Descriptor = Descriptor {
    rest: Some(Rest::claimed(
        |s, req, o| LAYOUT.sign(s, req, o),
        |req, ctx| LAYOUT.claim(req, ctx),
        Timing::new(TimeForm::Iso8601Millis, WINDOW),
    )),
    ws: Some(Ws::new(
        ws_login,
        |message, ctx| LOGIN.claim(message, ctx),
        Timing::new(TimeForm::Seconds, WINDOW),
    )),
    ..Descriptor::hmac_sha256(Scheme::Okx, "okx")
};

fn ws_login(s: &Signer, _: &Map<String, Value>, o: &SignOptions) -> Result<Value> {
    let (passphrase, ts, sign) = LAYOUT.login(s, o)?;
    Ok(json!({"op": "login", "args": [{
        "apiKey": s.api_key, "passphrase": passphrase, "timestamp": ts, "sign": sign
    }]}))
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
