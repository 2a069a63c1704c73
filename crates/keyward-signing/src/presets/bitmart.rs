//! BitMart WebSocket `login`.
//!
//! <https://developer-pro.bitmart.com/en/spot/#private-login>:
//! `{"op":"login","args":[apiKey, timestamp, sign]}` with the timestamp in milliseconds and
//! `sign = hex(HMAC-SHA256(secret, timestamp || "#" || memo || "#" || "bitmart.WebSocket"))`;
//! the memo is the credentials' passphrase. BitMart signs no REST requests here. Verifying: the
//! timestamp within the verifier's window (BitMart documents none).

use serde_json::{Map, Value, json};

use crate::descriptor::{Descriptor, Timing, WindowRule, Ws};
use crate::error::Result;
use crate::options::SignOptions;
use crate::scheme::Scheme;
use crate::signature::Encoding;
use crate::signer::Signer;
use crate::timestamp::TimeForm;
use crate::verify::timestamped_claim;

pub(crate) static DESCRIPTOR: Descriptor = Descriptor {
    ws: Some(Ws::new(
        ws_login,
        timestamped_claim,
        Timing::new(TimeForm::Millis, WindowRule::Configured),
    )),
    ..Descriptor::hmac_sha256(Scheme::Bitmart, "bitmart")
};

fn ws_login(s: &Signer, _: &Map<String, Value>, o: &SignOptions) -> Result<Value> {
    let memo = s.passphrase()?;
    let ts = s.ws_timestamp(o)?;
    let sign = s.key.text(
        &[ts.as_bytes(), b"#", memo.as_bytes(), b"#bitmart.WebSocket"],
        Encoding::Hex,
    )?;
    Ok(json!({"op": "login", "args": [s.api_key, ts, sign]}))
}

#[cfg(test)]
mod tests {
    use crate::test_support::{hmac256_hex, signer};
    use crate::{Request, Scheme, SignOptions};

    #[test]
    fn login_message() {
        let s = signer(Scheme::Bitmart, Some("memo1"));
        let msg = s
            .ws_auth(&Default::default(), &SignOptions::at(123))
            .unwrap();
        assert_eq!(msg["args"][1], "123");
        assert_eq!(msg["args"][2], hmac256_hex("123#memo1#bitmart.WebSocket"));
        assert!(s.sign(Request::get("/x"), &SignOptions::at(1)).is_err());
        assert!(
            signer(Scheme::Bitmart, None)
                .ws_auth(&Default::default(), &SignOptions::at(1))
                .is_err()
        );
    }
}
