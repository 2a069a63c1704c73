//! `hmac-concat`: `prehash = timestamp-ms || METHOD || path || body` (the path without its query),
//! signature = hex(HMAC-SHA256(secret, prehash)); headers `API-KEY`, `API-SIGN`,
//! `API-TIMESTAMP`. The WebSocket auth message is `{"op":"auth","args":[key, ts, sig]}` with
//! `sig = hex(HMAC-SHA256(secret, ts || "GET/realtime"))`. Bitvavo's WebSocket authentication
//! is this scheme's prehash for `GET /v2/websocket`. See [`crate::schemes`] for why this
//! scheme is weaker than `keyward-v1`.

use serde_json::{Value, json};

use crate::error::Result;
use crate::options::SignOptions;
use crate::request::Request;
use crate::signer::Signer;
use crate::verify::{
    Claim, TimeRule, VerifyError, Window, parse_u64, required_header, without_header,
};

pub(crate) fn sign(s: &Signer, mut req: Request, o: &SignOptions) -> Result<Request> {
    let ts = s.timestamp_ms(o).to_string();
    let sig = s.mac.hex(&[
        ts.as_bytes(),
        req.method.as_bytes(),
        req.path.as_bytes(),
        &req.body,
    ]);
    req.set_header("API-KEY", s.api_key.clone());
    req.set_header("API-SIGN", sig);
    req.set_header("API-TIMESTAMP", ts);
    Ok(req)
}

pub(crate) fn ws_auth(s: &Signer, o: &SignOptions) -> Result<Value> {
    let ts = s.timestamp_ms(o);
    let sig = s.mac.hex(&[ts.to_string().as_bytes(), b"GET/realtime"]);
    Ok(json!({"op": "auth", "args": [s.api_key, ts, sig]}))
}

/// `API-TIMESTAMP` (milliseconds) within the verifier's window.
pub(crate) fn claim(req: &Request, window: Window) -> Result<Claim, VerifyError> {
    let timestamp = parse_u64(
        "header API-TIMESTAMP",
        required_header(req, "API-TIMESTAMP")?,
    )?;
    Ok(Claim {
        key_id: Some(required_header(req, "API-KEY")?.to_owned()),
        provided: required_header(req, "API-SIGN")?.to_owned(),
        passphrase: None,
        time: TimeRule::Window {
            timestamp_ms: timestamp,
            window,
            expires_ms: None,
        },
        unsigned: without_header(req, "API-SIGN"),
        options: SignOptions::at(timestamp),
        signature_of: |r| r.header("API-SIGN").map(str::to_owned),
        replay_basis: None,
    })
}

#[cfg(test)]
mod tests {
    use crate::test_support::{hmac256_hex, signer};
    use crate::{Request, Scheme, SignOptions};

    const TS: u64 = 1_700_000_000_321;

    #[test]
    fn path_without_query_and_body() {
        let s = signer(Scheme::HmacConcat, None);
        let out = s
            .sign(
                Request::get("/svc/hmac-concat/items").with_query("a=1"),
                &SignOptions::at(TS),
            )
            .unwrap();
        assert_eq!(
            out.header("API-SIGN").unwrap(),
            hmac256_hex(&format!("{TS}GET/svc/hmac-concat/items"))
        );
        assert_eq!(out.header("API-TIMESTAMP"), Some("1700000000321"));
        let body = r#"{"x":"ü"}"#;
        let out = s
            .sign(Request::post("/o").with_body(body), &SignOptions::at(TS))
            .unwrap();
        assert_eq!(
            out.header("API-SIGN").unwrap(),
            hmac256_hex(&format!("{TS}POST/o{body}"))
        );
        assert_eq!(out.header("API-KEY"), Some("test-key"));
    }

    #[test]
    fn ws_auth_message() {
        let s = signer(Scheme::HmacConcat, None);
        let msg = s
            .ws_auth(&Default::default(), &SignOptions::at(TS))
            .unwrap();
        assert_eq!(msg["op"], "auth");
        assert_eq!(msg["args"][1], TS);
        assert_eq!(msg["args"][2], hmac256_hex(&format!("{TS}GET/realtime")));
    }
}
