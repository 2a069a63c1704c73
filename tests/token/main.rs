//! End-to-end tests of `keyward token inspect`: a JWT on standard input gives its header, its
//! claims and its time to expiry, as text and JSON, never its signature; what is not a JWT
//! fails with one sentence that never shows the input. The tokens are the SDK's test vectors
//! (`crates/keyward-exchange-client/tests/data/jwt.json`: RFC 7519's example, pyjwt's tokens).
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

#[path = "../common/mod.rs"]
mod common;

use common::{assert_fails, keyward, stderr};
use serde_json::Value;

fn vectors() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../keyward-exchange-client/tests/data/jwt.json"
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    doc["cases"].as_array().unwrap().clone()
}

fn signature(token: &str) -> &str {
    token.rsplit('.').next().unwrap()
}

#[test]
fn json_gives_header_claims_and_expiry() {
    for case in vectors() {
        let token = case["token"].as_str().unwrap();
        let source = case["source"].as_str().unwrap();
        let out = keyward(
            &["token", "inspect", "--format", "json"],
            token.as_bytes(),
            &[],
        );
        assert!(out.status.success(), "{source}: {}", stderr(&out));
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(
            !stdout.contains(signature(token)),
            "{source}: the signature was printed"
        );
        let v: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(v["header"]["alg"], case["alg"], "{source}");
        assert_eq!(v["claims"]["exp"], case["exp"], "{source}");
        match case["exp"].as_i64() {
            Some(exp) => {
                // Every vector's exp is fixed; whether it is past depends only on the date.
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs() as i64;
                let left = v["seconds_to_expiry"].as_i64().unwrap();
                // The run takes less than an hour: the count is from a clock read during it.
                assert!((exp - now - left).abs() < 3600, "{source}: {left}");
                assert_eq!(v["expired"], Value::Bool(left <= 0), "{source}");
                assert!(v["expires_at"].as_str().unwrap().ends_with('Z'), "{source}");
            }
            None => {
                assert!(v["expires_at"].is_null() && v["seconds_to_expiry"].is_null());
                assert!(v["expired"].is_null());
            }
        }
    }
}

#[test]
fn text_names_the_expiry_in_utc() {
    let cases = vectors();
    // RFC 7519's example: exp 1300819380 = 2011-03-22T18:43:00Z, long past.
    let rfc = cases[0]["token"].as_str().unwrap();
    let input = format!("Bearer {rfc}\n");
    let out = keyward(&["token", "inspect"], input.as_bytes(), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("\"iss\": \"joe\""), "{text}");
    assert!(
        text.contains("\"http://example.com/is_root\": true"),
        "{text}"
    );
    assert!(text.contains("expired 2011-03-22T18:43:00Z ("), "{text}");
    assert!(!text.contains(signature(rfc)), "{text}");
    // No exp claim.
    let no_exp = cases.iter().find(|c| c["exp"].is_null()).unwrap();
    let out = keyward(
        &["token", "inspect"],
        no_exp["token"].as_str().unwrap().as_bytes(),
        &[],
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("no exp claim"), "{text}");
}

#[test]
fn what_is_not_a_jwt_fails_without_echoing_it() {
    for input in [
        "CANARY-opaque-token".to_owned(),
        "CANARY.e30".to_owned(),
        "CANARY.CANARY.CANARY".to_owned(),
        format!("eyJhbGciOiJIUzI1NiJ9.{}.c2ln", "A".repeat(20_000)),
    ] {
        let out = keyward(&["token", "inspect"], input.as_bytes(), &[]);
        assert_fails(&out, "token");
        let err = stderr(&out);
        assert!(!err.contains("CANARY"), "{err}");
        assert!(out.stdout.is_empty());
    }
}
