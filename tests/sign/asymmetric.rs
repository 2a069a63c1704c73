//! `keyward sign` with asymmetric keys: the key in --secret-env decides the algorithm, the
//! JSON shapes stay those of HMAC, Binance's session.logon takes Ed25519 keys only, Coinbase
//! Advanced's JWT names the --origin host, and the private key never shows in any output.

use std::process::Output;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use keyward::signing::secrecy::SecretString;
use keyward::signing::{Credentials, Request, Scheme, SignOptions, Signer};
use serde_json::{Map, Value};

use crate::common::{assert_fails, assert_key_hidden, keyward, stderr};

const KEY_VAR: &str = "KEYWARD_TEST_KEY";
const TS: &str = "1700000000000";

/// A private key of the signing crate's key vectors (Python `cryptography`), by case name.
fn key(name: &str) -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../keyward-signing/tests/data/keys.json"
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no key case {name}"))["private"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Runs `keyward sign --api-key API --secret-env VAR args...` with `secret` in VAR.
fn run(secret: &str, api_key: &str, args: &[&str]) -> Output {
    let mut all = vec!["sign", "--api-key", api_key, "--secret-env", KEY_VAR];
    all.extend_from_slice(args);
    keyward(&all, b"", &[(KEY_VAR, secret)])
}

fn json(out: &Output) -> Value {
    assert!(out.status.success(), "{}", stderr(out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// What the library signs for the same request, key and timestamp.
fn library(scheme: Scheme, secret: &str, api_key: &str, req: Request) -> Request {
    let creds = Credentials::new(api_key, SecretString::from(secret));
    Signer::new(scheme, &creds)
        .unwrap()
        .sign(req, &SignOptions::at(1_700_000_000_000))
        .unwrap()
}

#[test]
fn binance_rest_signs_with_ed25519_and_rsa_keys_as_the_library_does() {
    for case in ["ed25519 pkcs8", "rsa2048 pkcs1"] {
        let pem = key(case);
        let out = run(
            &pem,
            "AK",
            &[
                "--venue",
                "binance",
                "--method",
                "POST",
                "--path",
                "/api/v3/order",
                "--body",
                "symbol=BTCUSDT&side=BUY&quantity=1",
                "--timestamp",
                TS,
            ],
        );
        let doc = json(&out);
        let sent = library(
            Scheme::Binance,
            &pem,
            "AK",
            Request::post("/api/v3/order").with_body("symbol=BTCUSDT&side=BUY&quantity=1"),
        );
        assert_eq!(doc["body"], String::from_utf8(sent.body).unwrap(), "{case}");
        assert_eq!(doc["url"], "/api/v3/order", "{case}");
        assert_eq!(doc["headers"]["X-MBX-APIKEY"], "AK");
        // The signature is base64, percent-escaped in the form body.
        let body = doc["body"].as_str().unwrap();
        let signature = body.rsplit_once("&signature=").unwrap().1;
        let raw = percent_decode(signature);
        let bytes = STANDARD.decode(&raw).unwrap();
        let expected = if case.starts_with("ed25519") { 64 } else { 256 };
        assert_eq!(bytes.len(), expected, "{case}");
        assert_key_hidden(&pem, &[&out.stdout, &out.stderr]);
    }
}

fn percent_decode(text: &str) -> String {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn binance_ws_session_logon_takes_ed25519_and_refuses_every_other_key() {
    let ed = key("ed25519 pkcs8");
    let logon = [
        "--venue",
        "binance-ws",
        "--method",
        "session.logon",
        "--params",
        "{}",
        "--timestamp",
        TS,
    ];
    let out = run(&ed, "AK", &logon);
    let doc = json(&out);
    assert_eq!(doc["apiKey"], "AK");
    assert_eq!(doc["timestamp"], 1_700_000_000_000u64);
    let signature = STANDARD.decode(doc["signature"].as_str().unwrap()).unwrap();
    assert_eq!(signature.len(), 64);
    // Ed25519 is deterministic: the same as the library's signature of the same parameters.
    let creds = Credentials::new("AK", SecretString::from(ed.as_str()));
    let expected = Signer::new(Scheme::Binance, &creds)
        .unwrap()
        .ws_auth(
            &Map::new(),
            &SignOptions {
                method: Some("session.logon".into()),
                ..SignOptions::at(1_700_000_000_000)
            },
        )
        .unwrap();
    assert_eq!(doc, expected);
    assert_key_hidden(&ed, &[&out.stdout, &out.stderr]);

    // An HMAC secret and an RSA key sign ordinary WebSocket API requests, never a logon.
    let rsa = key("rsa2048 pkcs8");
    for (secret, kind) in [
        ("CANARYHMACSECRET0123456789abcdef", "HMAC"),
        (rsa.as_str(), "RSA"),
    ] {
        let out = run(secret, "AK", &logon);
        assert_fails(&out, "session.logon");
        assert!(
            stderr(&out).contains(&format!("does not accept {kind} keys")),
            "{}",
            stderr(&out)
        );
        assert!(!stderr(&out).contains("CANARYHMAC"));
        let plain = run(
            secret,
            "AK",
            &[
                "--venue",
                "binance-ws",
                "--params",
                r#"{"symbol":"BTCUSDT"}"#,
                "--timestamp",
                TS,
            ],
        );
        let doc = json(&plain);
        assert_eq!(doc["symbol"], "BTCUSDT");
        assert!(doc["signature"].is_string());
        if kind == "RSA" {
            assert_key_hidden(
                &rsa,
                &[&out.stdout, &out.stderr, &plain.stdout, &plain.stderr],
            );
        }
    }
}

#[test]
fn bybit_signs_with_an_rsa_key_as_the_library_does() {
    let rsa = key("rsa2048 pkcs8");
    let out = run(
        &rsa,
        "AK",
        &[
            "--venue",
            "bybit",
            "--method",
            "GET",
            "--path",
            "/v5/account/wallet-balance",
            "--query",
            "accountType=UNIFIED",
            "--timestamp",
            TS,
        ],
    );
    let doc = json(&out);
    let sent = library(
        Scheme::Bybit,
        &rsa,
        "AK",
        Request::get("/v5/account/wallet-balance").with_query("accountType=UNIFIED".to_owned()),
    );
    let header = |name: &str| {
        sent.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(doc["headers"]["X-BAPI-SIGN"], header("X-BAPI-SIGN"));
    let signature = STANDARD
        .decode(doc["headers"]["X-BAPI-SIGN"].as_str().unwrap())
        .unwrap();
    assert_eq!(signature.len(), 256, "RSA-2048 PKCS#1 v1.5, base64");
    assert_key_hidden(&rsa, &[&out.stdout, &out.stderr]);
}

/// The header and claims of a compact JWS.
fn jwt_parts(token: &str) -> (Value, Value, Vec<u8>) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "{token}");
    let decode = |p: &str| URL_SAFE_NO_PAD.decode(p).unwrap();
    (
        serde_json::from_slice(&decode(parts[0])).unwrap(),
        serde_json::from_slice(&decode(parts[1])).unwrap(),
        decode(parts[2]),
    )
}

#[test]
fn coinbase_advanced_jwt_names_the_origin_host() {
    const KEY_NAME: &str = "organizations/org-1/apiKeys/key-1";
    // Coinbase's own form: a SEC1 EC key with literal \n, as its JSON key files carry it.
    let ec = key("p256 sec1 literal \\n");
    for (origin, host) in [
        (
            Some("https://api.sandbox.example.test:8443"),
            "api.sandbox.example.test:8443",
        ),
        (None, "api.coinbase.com"),
    ] {
        let mut args = vec![
            "--venue",
            "coinbase-advanced",
            "--method",
            "GET",
            "--path",
            "/api/v3/brokerage/accounts",
            "--timestamp",
            TS,
        ];
        if let Some(origin) = origin {
            args.extend(["--origin", origin]);
        }
        let out = run(&ec, KEY_NAME, &args);
        let doc = json(&out);
        let auth = doc["headers"]["Authorization"].as_str().unwrap();
        let token = auth.strip_prefix("Bearer ").unwrap();
        let (header, claims, signature) = jwt_parts(token);
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["kid"], KEY_NAME);
        assert!(header["nonce"].as_str().is_some_and(|n| !n.is_empty()));
        assert_eq!(claims["iss"], "cdp");
        assert_eq!(claims["sub"], KEY_NAME);
        assert_eq!(
            claims["uri"],
            format!("GET {host}/api/v3/brokerage/accounts")
        );
        assert_eq!(claims["nbf"], 1_700_000_000u64);
        assert_eq!(claims["exp"], 1_700_000_120u64);
        assert_eq!(signature.len(), 64, "ES256: r || s");
        assert_key_hidden(&ec, &[&out.stdout, &out.stderr]);
    }
    // An Ed25519 CDP key in Coinbase's base64 form signs an EdDSA JWT.
    let seed = key("ed25519 coinbase base64 seed||public");
    let out = run(
        &seed,
        KEY_NAME,
        &[
            "--venue",
            "coinbase-advanced",
            "--method",
            "POST",
            "--path",
            "/api/v3/brokerage/orders",
            "--body",
            "{}",
        ],
    );
    let doc = json(&out);
    let token = doc["headers"]["Authorization"]
        .as_str()
        .unwrap()
        .strip_prefix("Bearer ")
        .unwrap();
    let (header, claims, _) = jwt_parts(token);
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(
        claims["uri"],
        "POST api.coinbase.com/api/v3/brokerage/orders"
    );
    let out_text = String::from_utf8_lossy(&out.stdout);
    assert!(!out_text.contains(&seed) && !stderr(&out).contains(&seed));
}

/// A damaged private key (a canary body that is not DER) is a clean failure that shows no
/// part of it; a public key cannot sign; a key the venue does not take is refused.
#[test]
fn damaged_and_unaccepted_keys_fail_without_showing_the_key() {
    let damaged = "-----BEGIN PRIVATE KEY-----\nCANARYcanaryCANARYcanaryCANARYcanary0123456789abcdefABCDEF\n-----END PRIVATE KEY-----\n";
    let out = run(
        damaged,
        "AK",
        &[
            "--venue",
            "binance",
            "--method",
            "GET",
            "--path",
            "/api/v3/account",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert!(!stderr(&out).contains("CANARY"), "{}", stderr(&out));
    assert_key_hidden(damaged, &[&out.stdout, &out.stderr]);

    let ec = key("p256 pkcs8");
    let out = run(
        &ec,
        "AK",
        &[
            "--venue",
            "binance",
            "--method",
            "GET",
            "--path",
            "/api/v3/account",
        ],
    );
    assert_fails(&out, "does not accept ECDSA P-256 keys");
    assert_key_hidden(&ec, &[&out.stdout, &out.stderr]);
    let rsa = key("rsa2048 pkcs1");
    let out = run(
        &rsa,
        "AK",
        &[
            "--venue",
            "okx",
            "--method",
            "GET",
            "--path",
            "/api/v5/account/balance",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_key_hidden(&rsa, &[&out.stdout, &out.stderr]);
}
