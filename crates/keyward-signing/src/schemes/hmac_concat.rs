//! `hmac-concat`: `prehash = timestamp-ms || METHOD || path || body` (the path without its query),
//! signature = hex(HMAC-SHA256(secret, prehash)); headers `API-KEY`, `API-SIGN`,
//! `API-TIMESTAMP`. The WebSocket auth message is `{"op":"auth","args":[key, ts, sig]}` with
//! `sig = hex(HMAC-SHA256(secret, ts || "GET/realtime"))`. Bitvavo's WebSocket authentication
//! is this scheme's prehash for `GET /v2/websocket`. Verifying: the timestamp (milliseconds)
//! within the verifier's window. See [`crate::schemes`] for why this scheme is weaker than
//! `keyward-v1`.

use serde_json::{Map, Value, json};

use crate::descriptor::{Descriptor, Rest, Timing, WindowRule, Ws};
use crate::error::Result;
use crate::options::SignOptions;
use crate::scheme::Scheme;
use crate::signature::Encoding;
use crate::signer::Signer;
use crate::timestamp::TimeForm;
use crate::timestamp_method_path::Layout;
use crate::verify::timestamped_claim;

const LAYOUT: Layout = Layout {
    key: "API-KEY",
    sign: "API-SIGN",
    timestamp: "API-TIMESTAMP",
    passphrase: None,
    encoding: Encoding::Hex,
    signs_query: false,
};

/// Milliseconds, within the verifier's window.
const TIME: Timing = Timing::new(TimeForm::Millis, WindowRule::Configured);

pub(crate) static DESCRIPTOR: Descriptor = Descriptor {
    rest: Some(Rest::claimed(
        |s, req, o| LAYOUT.sign(s, req, o),
        |req, ctx| LAYOUT.claim(req, ctx),
        TIME,
    )),
    ws: Some(Ws::new(ws_auth, timestamped_claim, TIME)),
    ..Descriptor::hmac_sha256(Scheme::HmacConcat, "hmac-concat")
};

fn ws_auth(s: &Signer, _: &Map<String, Value>, o: &SignOptions) -> Result<Value> {
    let ts = s.timestamp_ms(o);
    let sig = s
        .key
        .text(&[ts.to_string().as_bytes(), b"GET/realtime"], Encoding::Hex)?;
    Ok(json!({"op": "auth", "args": [s.api_key, ts, sig]}))
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
