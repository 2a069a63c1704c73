//! `hmac-newline-v0` produces the same bytes as the Python pattern it is compatible with, for the
//! same inputs: header names in the case the caller gives them, sorted by their lower-case form,
//! non-ASCII and empty values, bodies and absolute URLs. The pattern is written out independently
//! in `tests/python/hmac_newline_v0.py` (standard library only).
//!
//! Python comes from `KEYWARD_PYTHON` (set by `cargo xtask ci`), else `.venv/bin/python` at the
//! workspace root, else `python3`. When `KEYWARD_REQUIRE_INTEROP` is set (as `cargo xtask ci`
//! does), a missing Python is a failure; otherwise these tests say why they did not run and
//! pass, so that a bare `cargo test` still works on a machine without Python.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

#[path = "common/python.rs"]
mod python;

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use keyward_signing::verify::{StaticKeys, Verifier, VerifyError};
use keyward_signing::{Credentials, FixedClock, Request, Scheme, SignOptions, Signer};
use python::Python;
use serde_json::{Value, json};

/// The pattern's signature and message for each case (`tests/python/hmac_newline_v0.py`).
fn python_sign(py: &Python, cases: &[Value]) -> Vec<(String, Vec<u8>)> {
    let results = py.run(
        "tests/python/hmac_newline_v0.py",
        &[],
        &Value::from(cases.to_vec()),
    );
    results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["signature"].as_str().unwrap().to_owned(),
                STANDARD.decode(r["message_b64"].as_str().unwrap()).unwrap(),
            )
        })
        .collect()
}

const SECRET: &str = "svc-shared-secret";

/// One request as a service would sign it.
struct Case {
    method: &'static str,
    origin: Option<&'static str>,
    path: &'static str,
    query: &'static str,
    body: &'static str,
    headers: &'static [(&'static str, &'static str)],
    signed: &'static [&'static str],
    at_ms: u64,
}

impl Case {
    /// The URL the client requests: what the pattern signs.
    fn url(&self) -> String {
        let origin = self.origin.map_or("", |o| o.trim_end_matches('/'));
        let query = if self.query.is_empty() {
            String::new()
        } else {
            format!("?{}", self.query)
        };
        format!("{origin}{}{query}", self.path)
    }

    fn for_python(&self) -> Value {
        json!({
            "secret_b64": STANDARD.encode(SECRET),
            "method": self.method,
            "url": self.url(),
            "timestamp": self.at_ms / 1000,
            "body_b64": STANDARD.encode(self.body),
            "headers": self.headers.iter().map(|(n, v)| json!([n, v])).collect::<Vec<_>>(),
            "signed_headers": self.signed,
        })
    }

    fn request(&self) -> Request {
        let mut req = Request::new(self.method, self.path)
            .with_query(self.query)
            .with_body(self.body);
        for (name, value) in self.headers {
            req = req.with_header(*name, *value);
        }
        req
    }

    fn options(&self) -> SignOptions {
        SignOptions {
            origin: self.origin.map(str::to_owned),
            signed_headers: self.signed.iter().map(|s| (*s).to_owned()).collect(),
            ..SignOptions::at(self.at_ms)
        }
    }

    fn verifier(&self) -> Verifier {
        Verifier::new(
            Scheme::HmacNewlineV0,
            Arc::new(StaticKeys::new().with(creds())),
        )
        .with_clock(Arc::new(FixedClock::new(self.at_ms)))
        .with_signed_headers(self.signed.iter().copied())
        .with_origins(self.origin)
    }
}

fn creds() -> Credentials {
    Credentials::new("svc", SECRET.into())
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            method: "GET",
            origin: None,
            path: "/v1/items",
            query: "q=1&b=%20x",
            body: "",
            headers: &[],
            signed: &[],
            at_ms: 1_700_000_000_999,
        },
        Case {
            method: "POST",
            origin: None,
            path: "/v1/orders",
            query: "",
            body: "{\"name\":\"ü\",\"qty\":1}",
            headers: &[
                ("x-request-id", "r-1"),
                ("Content-Type", "application/json"),
            ],
            // Mixed case, as the caller wrote them; the request's own spelling differs.
            signed: &["X-Request-Id", "content-TYPE"],
            at_ms: 1_700_000_000_000,
        },
        Case {
            method: "PUT",
            origin: None,
            path: "/v1/notes",
            query: "",
            body: "line one\nline two ✓",
            // Non-ASCII, empty and padded values are signed as they are.
            headers: &[
                ("X-Note", "日本語 ü"),
                ("X-Empty", ""),
                ("X-Padded", " spaced "),
            ],
            signed: &["X-Padded", "X-Note", "X-Empty"],
            at_ms: 1_710_000_000_500,
        },
        Case {
            method: "DELETE",
            origin: Some("https://svc.example/"),
            path: "/v1/orders/7",
            query: "reason=caf%C3%A9",
            body: "",
            // Byte order puts "B-Two" first; the pattern sorts by lower-case name.
            headers: &[("a-one", "1"), ("B-Two", "2"), ("c-THREE", "3")],
            signed: &["c-THREE", "B-Two", "a-one"],
            at_ms: 1_700_000_123_456,
        },
        Case {
            method: "POST",
            origin: Some("http://127.0.0.1:8080"),
            path: "/svc",
            query: "",
            body: "{}",
            headers: &[("X-Request-ID", "Ünïcødé")],
            signed: &["x-REQUEST-id"],
            at_ms: 1_600_000_000_000,
        },
    ]
}

#[test]
fn rust_signs_the_same_bytes_as_the_python_pattern() {
    let Some(py) = Python::find("base64, hashlib, hmac, json") else {
        return;
    };
    let cases = cases();
    let python = python_sign(&py, &cases.iter().map(Case::for_python).collect::<Vec<_>>());
    let signer = Signer::new(Scheme::HmacNewlineV0, &creds()).unwrap();
    for (case, (expected, message)) in cases.iter().zip(python) {
        let sent = signer.sign(case.request(), &case.options()).unwrap();
        assert_eq!(
            sent.header("X-Signature").unwrap(),
            expected,
            "{} {}: the pattern signs {:?}",
            case.method,
            case.url(),
            String::from_utf8_lossy(&message)
        );
        assert_eq!(
            sent.header("X-Timestamp").unwrap(),
            (case.at_ms / 1000).to_string()
        );
    }
}

#[test]
fn python_signed_requests_verify_in_rust() {
    let Some(py) = Python::find("base64, hashlib, hmac, json") else {
        return;
    };
    let cases = cases();
    let python = python_sign(&py, &cases.iter().map(Case::for_python).collect::<Vec<_>>());
    for (case, (signature, _)) in cases.iter().zip(python) {
        let received = case
            .request()
            .with_header("X-Timestamp", (case.at_ms / 1000).to_string())
            .with_header("X-Algorithm", "sha256")
            .with_header("X-Signature", signature.clone());
        let verifier = case.verifier();
        assert_eq!(
            verifier.verify(&received).map(|v| v.key_id),
            Ok("svc".to_owned()),
            "{} {}",
            case.method,
            case.url()
        );
        assert_eq!(verifier.verify(&received), Err(VerifyError::Replayed));
    }
}
