//! The public `keys` API over the known-answer data made with Python `cryptography`
//! (`tests/data/keys.json`, from `tests/python/make_key_vectors.py`): every form a venue hands
//! out reads as the right kind and gives cryptography's own SPKI public key; generated keys
//! read back; errors are typed and carry no key text. (Signatures against the same data are
//! unit tests in `src/key/mod.rs`: signing is crate-private.)
#![allow(clippy::unwrap_used)] // reason: tests fail loudly on anything unexpected

use keyward_signing::keys::{self, KeyError, KeyInfo, KeyKind};
use keyward_signing::secrecy::{ExposeSecret as _, SecretString};
use serde_json::Value;

fn cases() -> Vec<Value> {
    let doc: Value = serde_json::from_str(include_str!("data/keys.json")).unwrap();
    assert!(doc["source"].as_str().unwrap().contains("cryptography=="));
    doc["cases"].as_array().unwrap().clone()
}

fn secret(text: &str) -> SecretString {
    SecretString::from(text)
}

#[test]
fn every_form_gives_cryptographys_public_key() {
    let mut seen = 0;
    for case in cases() {
        let name = case["name"].as_str().unwrap();
        if case["kind"] == "rsa" && !cfg!(feature = "rsa") {
            continue;
        }
        let kind: KeyKind = case["kind"].as_str().unwrap().parse().unwrap();
        let private = secret(case["private"].as_str().unwrap());
        assert_eq!(
            keys::inspect(&private).unwrap(),
            KeyInfo {
                kind,
                rsa_bits: case["rsa_bits"]
                    .as_u64()
                    .map(|b| usize::try_from(b).unwrap()),
                public: false,
            },
            "{name}"
        );
        assert_eq!(
            keys::public_pem(&private).unwrap(),
            case["public"],
            "{name}"
        );
        seen += 1;
    }
    assert!(seen >= 5);
}

#[cfg(feature = "rsa")]
#[test]
fn rsa_keys_report_their_size() {
    for case in cases().iter().filter(|c| c["kind"] == "rsa") {
        let public = secret(case["public"].as_str().unwrap());
        let info = keys::inspect(&public).unwrap();
        assert_eq!(
            (info.kind, info.rsa_bits, info.public),
            (KeyKind::Rsa, Some(2048), true)
        );
    }
}

#[cfg(not(feature = "rsa"))]
#[test]
fn rsa_keys_without_the_feature_name_it() {
    for case in cases().iter().filter(|c| c["kind"] == "rsa") {
        let e = keys::inspect(&secret(case["private"].as_str().unwrap())).unwrap_err();
        assert!(matches!(e, KeyError::RsaNotCompiled));
        assert!(e.to_string().contains("RUSTSEC-2023-0071"), "{e}");
    }
    assert!(matches!(
        keys::generate(KeyKind::Rsa),
        Err(KeyError::RsaNotCompiled)
    ));
}

#[test]
fn generated_keys_read_back() {
    let mut kinds = vec![KeyKind::Ed25519, KeyKind::P256];
    if cfg!(feature = "rsa") {
        kinds.push(KeyKind::Rsa);
    }
    for kind in kinds {
        let key = keys::generate(kind).unwrap();
        assert_eq!(key.kind(), kind);
        assert!(
            key.private_pem()
                .expose_secret()
                .starts_with("-----BEGIN PRIVATE KEY-----\n")
        );
        assert!(key.public_pem().starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert_eq!(keys::inspect(key.private_pem()).unwrap().kind, kind);
        assert_eq!(
            keys::public_pem(key.private_pem()).unwrap(),
            key.public_pem()
        );
        assert!(!format!("{key:?}").contains(key.private_pem().expose_secret()));
    }
}

#[test]
fn hmac_secrets_are_not_keys() {
    let hmac = secret("NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j");
    assert_eq!(keys::inspect(&hmac).unwrap().kind, KeyKind::Hmac);
    assert!(matches!(
        keys::public_pem(&hmac),
        Err(KeyError::NotAsymmetric)
    ));
    assert!(matches!(
        keys::generate(KeyKind::Hmac),
        Err(KeyError::NotAsymmetric)
    ));
}

/// Errors through the public API and through the crate's `Error` carry no key text.
#[test]
fn errors_carry_no_key_text() {
    for case in cases() {
        let text = case["private"].as_str().unwrap();
        if !text.starts_with("-----BEGIN") {
            continue;
        }
        let body: String = text
            .split(['\n'])
            .flat_map(|l| l.split("\\n"))
            .filter(|l| !l.starts_with("-----"))
            .collect();
        // Truncated in the body, and with the END line cut off.
        for cut in [text.len() / 3, text.len() / 2, text.len() - 12] {
            let Err(e) = keys::inspect(&secret(&text[..cut])) else {
                panic!("{} cut at {cut} read", case["name"]);
            };
            let shown = format!("{e} {e:?} {}", keyward_signing::Error::from(e.clone()));
            for run in body.as_bytes().windows(8) {
                assert!(
                    !shown.contains(std::str::from_utf8(run).unwrap()),
                    "{shown}"
                );
            }
        }
    }
}

#[test]
fn kinds_parse_and_display() {
    assert_eq!("P256".parse::<KeyKind>().unwrap(), KeyKind::P256);
    assert_eq!(KeyKind::P256.to_string(), "ECDSA P-256");
    assert!(matches!(
        "dsa".parse::<KeyKind>(),
        Err(KeyError::UnknownKind { .. })
    ));
}
