//! `keys`: reading API keys (PEM PKCS#8, SEC1, PKCS#1, SPKI and Coinbase's base64 Ed25519
//! form, through `keyward_signing::keys`) and CDP JWTs (Coinbase Advanced `Authorization:
//! Bearer` tokens and WebSocket `jwt` fields, through the verifier), plus the round trip sign →
//! verify of a JWT with a fixed key.
//!
//! Input: text. It is read as a key and as a JWT; when its first byte is 0 modulo 4 it also
//! becomes the path of a request that a fixed CDP key signs (Ed25519 when the byte is 0 modulo
//! 8, P-256 when 4: signing and verifying cost far more than parsing, so the round trip runs on
//! a quarter of the inputs) and the verifier must accept. The fixed keys are read from `crates/keyward-signing/tests/data/keys.json`.
//!
//! Invariants: nothing panics; a key that gives a public key gives the same kind back when that
//! public key is read, and reads as public; an error never carries a line of the key's base64
//! body; a signed JWT verifies.
#![no_main]

use std::sync::{Arc, OnceLock};

use keyward_signing::keys::{KeyKind, inspect, public_pem};
use keyward_signing::secrecy::SecretString;
use keyward_signing::verify::{ShardedReplayCache, StaticKeys, Verifier};
use keyward_signing::{Credentials, FixedClock, Request, Scheme, SignOptions, Signer};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

/// Key forms and signatures from Python `cryptography`, kept in the repository.
const KEYS: &str = include_str!("../../crates/keyward-signing/tests/data/keys.json");
/// The fuzzer's clock: 2023-11-14T22:13:20Z, in milliseconds.
const NOW_MS: u64 = 1_700_000_000_000;
/// The CDP key name the fixed keys go by.
const KEY_NAME: &str = "organizations/fuzz/apiKeys/fuzz-key";
/// The origin requests are signed for.
const ORIGIN: &str = "https://api.coinbase.com";

/// The fixed CDP credentials: `[Ed25519, P-256]`.
fn cdp_keys() -> &'static [Credentials; 2] {
    static KEYS_: OnceLock<[Credentials; 2]> = OnceLock::new();
    KEYS_.get_or_init(|| {
        let data: serde_json::Value = serde_json::from_str(KEYS).expect("keys.json is JSON");
        let private = |name: &str| {
            let case = data["cases"]
                .as_array()
                .expect("keys.json has cases")
                .iter()
                .find(|case| case["name"] == name)
                .unwrap_or_else(|| panic!("keys.json has no case {name:?}"));
            let pem = case["private"].as_str().expect("a private key text");
            Credentials::new(KEY_NAME, pem.into())
        };
        [private("ed25519 pkcs8"), private("p256 pkcs8")]
    })
}

/// A fresh Coinbase Advanced verifier (empty replay cache) that knows `credentials`.
fn verifier(credentials: &Credentials) -> Verifier {
    Verifier::new(
        Scheme::CoinbaseAdvanced,
        Arc::new(StaticKeys::new().with(credentials.clone())),
    )
    .with_clock(Arc::new(FixedClock::new(NOW_MS)))
    .with_cache(Arc::new(ShardedReplayCache::new(64)))
    .with_origins([ORIGIN])
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };

    // Keys.
    let secret = SecretString::from(text);
    let body_lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        // Key material is base64 (PEM bodies): a line of anything else that an error happens to
        // contain is the error's own text, not a leak.
        .filter(|line| {
            line.len() >= 40
                && line
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
        })
        .collect();
    let leaks = |message: String| body_lines.iter().any(|line| message.contains(line));
    match inspect(&secret) {
        Ok(info) => {
            if let Ok(pem) = public_pem(&secret) {
                assert_ne!(info.kind, KeyKind::Hmac);
                let public = inspect(&SecretString::from(pem.clone()))
                    .unwrap_or_else(|e| panic!("its own public PEM does not read: {e}\n{pem}"));
                assert!(public.public);
                assert_eq!(public.kind, info.kind);
                assert_eq!(public_pem(&SecretString::from(pem.clone())).ok(), Some(pem));
            }
        }
        Err(error) => {
            assert!(
                !leaks(error.to_string()),
                "the error shows the key: {error}"
            );
            assert!(
                !leaks(format!("{error:?}")),
                "the error shows the key: {error:?}"
            );
        }
    }

    // JWTs, REST and WebSocket.
    for credentials in cdp_keys() {
        let request = Request::get("/api/v3/brokerage/accounts")
            .with_header("Authorization", format!("Bearer {text}"));
        let _ = verifier(credentials).verify(&request);
        let _ = verifier(credentials).verify_ws(&json!({ "type": "subscribe", "jwt": text }));
    }

    // Sign a JWT for the input as a path, then verify it.
    let Some(&first) = data.first() else {
        return;
    };
    // A JWT over a path of more than 1 KB can pass the verifier's 8 KB cap on a JWT (refused
    // by design; the path is percent-encoded in the `uri` claim, up to 3x, then base64):
    // only paths that keep it under are a round trip.
    if first % 4 != 0 || text.len() > 1024 {
        return;
    }
    let credentials = &cdp_keys()[usize::from(first % 8 != 0)];
    let signer = Signer::new(Scheme::CoinbaseAdvanced, credentials)
        .expect("the fixed key signs")
        .with_clock(Arc::new(FixedClock::new(NOW_MS)));
    let options = SignOptions {
        origin: Some(ORIGIN.to_owned()),
        ..SignOptions::default()
    };
    let Ok(signed) = signer.sign(Request::post(text), &options) else {
        return;
    };
    if let Err(error) = verifier(credentials).verify(&signed) {
        panic!("the verifier refuses a JWT the signer made: {error}\n{signed:?}");
    }
});
