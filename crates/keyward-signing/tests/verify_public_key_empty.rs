//! A received request whose signature is empty never verifies, whatever the key: a public key
//! checking a signature answers "" when the signature does not verify, and "" must not pass for
//! a match with an empty signature.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use std::sync::Arc;

use keyward_signing::keys::{self, KeyKind};
use keyward_signing::secrecy::SecretString;
use keyward_signing::verify::{StaticKeys, Verifier, VerifyError};
use keyward_signing::{Credentials, FixedClock, Request, Scheme};
use serde_json::json;

const NOW: u64 = 1_700_000_000_000;

fn verifier(scheme: Scheme, secret: SecretString) -> Verifier {
    let keys = StaticKeys::new().with(Credentials::new("key-1", secret));
    Verifier::new(scheme, Arc::new(keys)).with_clock(Arc::new(FixedClock::new(NOW)))
}

#[test]
fn an_empty_signature_is_refused_by_a_public_key() {
    for kind in [KeyKind::Ed25519, KeyKind::P256] {
        let key = keys::generate(kind).unwrap();
        let secrets: [SecretString; 2] = [key.public_pem().into(), key.private_pem().clone()];
        for secret in secrets {
            let v = verifier(Scheme::Binance, secret.clone());
            let in_query = Request::get("/api/v3/account")
                .with_query(format!("symbol=BTCUSDT&timestamp={NOW}&signature="))
                .with_header("X-MBX-APIKEY", "key-1");
            assert_eq!(
                v.verify(&in_query),
                Err(VerifyError::BadSignature),
                "{kind}"
            );
            let in_body = Request::post("/api/v3/order")
                .with_body(format!("symbol=BTCUSDT&timestamp={NOW}&signature="))
                .with_header("X-MBX-APIKEY", "key-1");
            assert_eq!(v.verify(&in_body), Err(VerifyError::BadSignature), "{kind}");
            let ws = json!({
                "method": "account.status",
                "params": {"apiKey": "key-1", "timestamp": NOW, "signature": ""},
            });
            assert!(v.verify_ws(&ws).is_err(), "{kind} ws");
        }
    }
}

/// An HMAC key refuses an empty signature too (its MAC is never empty).
#[test]
fn an_empty_signature_is_refused_by_an_hmac_key() {
    let v = verifier(Scheme::Binance, "hmac-secret".into());
    let req = Request::get("/api/v3/account")
        .with_query(format!("timestamp={NOW}&signature="))
        .with_header("X-MBX-APIKEY", "key-1");
    assert_eq!(v.verify(&req), Err(VerifyError::BadSignature));
}
