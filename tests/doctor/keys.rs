//! Doctor's key checks: private keys in plain files, RSA keys under 2048 bits, HMAC secrets
//! stored for a venue that takes Ed25519 keys, and the RSA advisory; none shows the key.

use std::fs;
use std::path::Path;

use serde_json::Value;

use super::{clean_project, doctor, of, write_mode};
use crate::common::{self, assert_key_hidden};

/// The 1024-bit RSA key of tests/doctor/data (see SOURCE.md there).
fn weak_rsa() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/doctor/data/weak-keys.json"
    );
    let doc: Value = serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    doc["rsa1024_pkcs8"].as_str().unwrap().to_owned()
}

fn keyward_in(home: &Path, args: &[&str], stdin: &[u8]) -> std::process::Output {
    let out = common::keyward(args, stdin, &[("KEYWARD_HOME", home.to_str().unwrap())]);
    assert!(out.status.success(), "{args:?}: {}", common::stderr(&out));
    out
}

fn message(doc: &Value, check: &str) -> String {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == check)
        .map(|f| f["message"].as_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[test]
fn a_private_key_in_an_ignored_file_is_found_with_a_weak_rsa_key_and_the_advisory() {
    let dir = clean_project();
    let weak = weak_rsa();
    // *.key is ignored and the file is 0600: only the key checks have something to say.
    write_mode(&dir.path().join("bybit.key"), &weak, 0o600);
    let (out, doc) = doctor(dir.path(), None);
    assert_eq!(
        of(&doc, "plain-key"),
        vec![("medium".into(), "bybit.key".into(), Some(1))]
    );
    assert_eq!(
        of(&doc, "weak-key"),
        vec![("high".into(), "bybit.key".into(), Some(1))]
    );
    assert!(message(&doc, "weak-key").contains("1024 bits"), "{doc}");
    assert_eq!(
        of(&doc, "rsa-advisory"),
        vec![("info".into(), String::new(), None)]
    );
    let advisory = message(&doc, "rsa-advisory");
    assert!(
        advisory.contains("RUSTSEC-2023-0071") && advisory.contains("prefer Ed25519"),
        "{advisory}"
    );
    assert_eq!(out.status.code(), Some(5));
    assert_key_hidden(&weak, &[&out.stdout, &out.stderr]);
    let text = common::keyward(
        &["doctor", dir.path().to_str().unwrap()],
        b"",
        &[("KEYWARD_HOME", dir.path().to_str().unwrap())],
    );
    assert_key_hidden(&weak, &[&text.stdout, &text.stderr]);
}

#[test]
fn a_key_written_with_out_is_a_plain_key_and_a_2048_bit_rsa_key_is_not_weak() {
    let dir = clean_project();
    let home = tempfile::tempdir().unwrap();
    let path = dir.path().join("bybit.key");
    keyward_in(
        home.path(),
        &[
            "key",
            "generate",
            "--type",
            "rsa",
            "--out",
            path.to_str().unwrap(),
        ],
        b"",
    );
    let (out, doc) = doctor(dir.path(), None);
    assert_eq!(
        of(&doc, "plain-key"),
        vec![("medium".into(), "bybit.key".into(), Some(1))]
    );
    assert_eq!(of(&doc, "weak-key"), vec![]);
    assert_eq!(of(&doc, "rsa-advisory").len(), 1);
    assert_eq!(out.status.code(), Some(4));
    assert_key_hidden(
        &fs::read_to_string(&path).unwrap(),
        &[&out.stdout, &out.stderr],
    );
}

#[test]
fn a_tracked_private_key_is_reported_once() {
    let dir = clean_project();
    fs::write(dir.path().join("id.txt"), weak_rsa()).unwrap();
    super::git(dir.path(), &["add", "id.txt"]);
    let (_, doc) = doctor(dir.path(), None);
    assert_eq!(
        of(&doc, "tracked-secret"),
        vec![("critical".into(), "id.txt".into(), Some(1))]
    );
    assert_eq!(of(&doc, "plain-key"), vec![]);
    assert_eq!(of(&doc, "weak-key").len(), 1);
}

#[test]
fn vault_keys_are_checked_hmac_for_an_ed25519_venue_rsa_size_and_advisory() {
    let dir = clean_project();
    let home = tempfile::tempdir().unwrap();
    keyward_in(home.path(), &["vault", "init"], b"");
    // An HMAC secret for Binance, which takes Ed25519 keys; one for OKX, which does not; one
    // with no venue field (nothing is guessed from its name).
    for (name, venue) in [("bn-hmac", "binance"), ("okx-hmac", "okx")] {
        keyward_in(
            home.path(),
            &[
                "secret", "put", name, "--field", "api_key", "--field", "secret", "--field",
                "venue",
            ],
            format!("api_key=k\nsecret=CANARYSECRETVALUE\nvenue={venue}\n").as_bytes(),
        );
    }
    keyward_in(
        home.path(),
        &[
            "secret",
            "put",
            "binance-untagged",
            "--field",
            "api_key",
            "--field",
            "secret",
        ],
        b"api_key=k\nsecret=CANARYSECRETVALUE\n",
    );
    let (out, doc) = doctor(dir.path(), Some(home.path()));
    assert_eq!(
        of(&doc, "hmac-key"),
        vec![("low".into(), "vault.db".into(), None)],
        "{doc}"
    );
    let hmac = message(&doc, "hmac-key");
    assert!(
        hmac.contains("bn-hmac") && hmac.contains("session.logon"),
        "{hmac}"
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("CANARY"));

    // Key pairs made by keyward: Ed25519 raises nothing, RSA only the advisory (info).
    let clean = tempfile::tempdir().unwrap();
    keyward_in(clean.path(), &["vault", "init"], b"");
    for (kind, venue) in [("ed25519", "binance"), ("rsa", "bybit")] {
        keyward_in(
            clean.path(),
            &[
                "key", "generate", "--type", kind, "--name", venue, "--venue", venue,
            ],
            b"",
        );
    }
    let (out, doc) = doctor(dir.path(), Some(clean.path()));
    let checks: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["check"].as_str().unwrap())
        .collect();
    assert_eq!(checks, vec!["rsa-advisory"], "{doc}");
    assert!(message(&doc, "rsa-advisory").contains("credential \"bybit\""));
    assert_eq!(out.status.code(), Some(0));
    for name in ["binance", "bybit"] {
        let stored = common::keyward(
            &["secret", "get", name, "--reveal", "--field", "secret"],
            b"",
            &[("KEYWARD_HOME", clean.path().to_str().unwrap())],
        );
        let pem = String::from_utf8(stored.stdout).unwrap();
        assert_key_hidden(&pem, &[&out.stdout, &out.stderr]);
    }
}

/// A damaged private key, in a file and in the vault: the file is still a plain key, the vault
/// credential raises nothing, and no part of either shows.
#[test]
fn damaged_keys_never_show_in_doctor_output() {
    let damaged = "-----BEGIN PRIVATE KEY-----\nCANARYcanaryCANARYcanaryCANARYcanary0123456789abcdefABCDEF\n-----END PRIVATE KEY-----\n";
    let dir = clean_project();
    write_mode(&dir.path().join("broken.key"), damaged, 0o600);
    let home = tempfile::tempdir().unwrap();
    keyward_in(home.path(), &["vault", "init"], b"");
    let value = serde_json::json!({"api_key": "k", "secret": damaged, "venue": "binance"});
    keyward_in(
        home.path(),
        &["secret", "put", "broken"],
        value.to_string().as_bytes(),
    );
    let (out, doc) = doctor(dir.path(), Some(home.path()));
    assert_eq!(
        of(&doc, "plain-key"),
        vec![("medium".into(), "broken.key".into(), Some(1))]
    );
    assert_eq!(
        of(&doc, "hmac-key"),
        vec![],
        "a damaged key is no HMAC secret"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("CANARY"));
    assert!(!common::stderr(&out).contains("CANARY"));
    assert_key_hidden(damaged, &[&out.stdout, &out.stderr]);
}
