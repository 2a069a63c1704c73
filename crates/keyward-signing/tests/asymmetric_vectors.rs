//! The venues' published asymmetric signing examples (issue 15, "What it must show", item 2),
//! from `tests/data/asymmetric_official.json` (sources in `tests/data/SOURCE.md`).
//!
//! Binance publishes one complete asymmetric example, its FIX Logon signature (key, payload and
//! signature); keyward has no FIX scheme, so that vector checks that keyward reads the published
//! key and derives its public key. Binance's REST and WebSocket API examples print the signature
//! payload but not their private keys: those vectors sign the printed payload with a key Binance
//! does publish (the FIX example's Ed25519 key, the RSA key of Binance's signature examples), and
//! their expected signatures were computed and checked with Python `cryptography`. Ed25519 and
//! RSA PKCS#1 v1.5 are deterministic: keyward's bytes must be equal.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use std::sync::Arc;

use keyward_signing::keys::{KeyKind, inspect, public_pem};
use keyward_signing::verify::{StaticKeys, Verifier};
use keyward_signing::{Credentials, FixedClock, Request, Scheme, SignOptions, Signer};
use serde_json::{Map, Value};

fn data() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/asymmetric_official.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn vectors<'a>(data: &'a Value, surface: &str) -> Vec<&'a Value> {
    data["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["surface"] == surface)
        .filter(|v| {
            cfg!(feature = "rsa") || data["keys"][v["key"].as_str().unwrap()]["kind"] != "rsa"
        })
        .collect()
}

fn key<'a>(data: &'a Value, vector: &Value, part: &str) -> &'a str {
    data["keys"][vector["key"].as_str().unwrap()][part]
        .as_str()
        .unwrap()
}

fn credentials(data: &Value, vector: &Value, part: &str) -> Credentials {
    Credentials::new(
        vector["api_key"].as_str().unwrap(),
        key(data, vector, part).to_owned().into(),
    )
}

#[test]
fn the_published_fix_key_reads_as_ed25519_with_its_public_key() {
    let data = data();
    let vs = vectors(&data, "key");
    assert!(!vs.is_empty());
    for v in vs {
        let secret = key(&data, v, "private_pem").to_owned().into();
        let info = inspect(&secret).unwrap();
        assert_eq!(info.kind, KeyKind::Ed25519, "{}", v["id"]);
        assert!(!info.public);
        assert_eq!(
            public_pem(&secret).unwrap().trim(),
            key(&data, v, "public_pem").trim(),
            "{}",
            v["id"]
        );
    }
}

#[test]
fn binance_rest_signs_the_printed_payloads_byte_for_byte() {
    let data = data();
    let vs = vectors(&data, "rest");
    assert!(vs.len() >= 2);
    for v in vs {
        let id = &v["id"];
        let r = &v["request"];
        let ts = v["timestamp_ms"].as_u64().unwrap();
        let signer = Signer::new(Scheme::Binance, &credentials(&data, v, "private_pem")).unwrap();
        let out = signer
            .sign(
                Request::new(r["method"].as_str().unwrap(), r["path"].as_str().unwrap())
                    .with_query(r["query"].as_str().unwrap())
                    .with_body(r["body"].as_str().unwrap()),
                &SignOptions::at(ts),
            )
            .unwrap();
        assert_eq!(out.query, v["expected_query"].as_str().unwrap(), "{id}");
        // The public key accepts it.
        let verifier = Verifier::new(
            Scheme::Binance,
            Arc::new(StaticKeys::new().with(credentials(&data, v, "public_pem"))),
        )
        .with_clock(Arc::new(FixedClock::new(ts)));
        assert!(
            verifier.verify(&out).is_ok(),
            "{id}: {:?}",
            verifier.verify(&out)
        );
    }
}

#[test]
fn binance_ws_api_signs_the_printed_payloads_byte_for_byte() {
    let data = data();
    let vs = vectors(&data, "ws");
    assert!(vs.len() >= 2);
    for v in vs {
        let id = &v["id"];
        let params: Map<String, Value> = v["params"].as_object().unwrap().clone();
        let ts = params["timestamp"].as_u64().unwrap();
        let signer = Signer::new(Scheme::Binance, &credentials(&data, v, "private_pem")).unwrap();
        let out = signer.ws_auth(&params, &SignOptions::at(ts)).unwrap();
        let out = out.get("params").unwrap_or(&out);
        assert_eq!(out["signature"], v["expected_signature"], "{id}");
        let verifier = Verifier::new(
            Scheme::Binance,
            Arc::new(StaticKeys::new().with(credentials(&data, v, "public_pem"))),
        )
        .with_clock(Arc::new(FixedClock::new(ts)));
        let message = serde_json::json!({"id": "x", "method": "order.place", "params": out});
        assert!(verifier.verify_ws(&message).is_ok(), "{id}");
    }
}
