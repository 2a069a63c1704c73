//! `keyward key generate --type`, `key public` and `key set-api-key`: venue key pairs whose
//! private half lives in the vault (or a 0600 file when asked) in the shape the exchange client
//! reads, and never shows on standard output or standard error.

use std::os::unix::fs::PermissionsExt as _;
use std::process::Output;

use keyward::signing::keys::KeyKind;
use keyward::signing::secrecy::SecretString;
use keyward::signing::{Credentials, Request, Scheme, SignOptions, Signer};
use serde_json::Value;

use crate::common::{assert_fails, assert_key_hidden, keyward, stderr};

/// A temporary KEYWARD_HOME with a vault in it.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Self {
        let home = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        let out = home.run(&["vault", "init"], b"");
        assert!(out.status.success(), "{}", stderr(&out));
        home
    }

    fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        keyward(
            args,
            stdin,
            &[("KEYWARD_HOME", self.dir.path().to_str().unwrap())],
        )
    }

    /// The stored credential `name`, as its JSON fields.
    fn stored(&self, name: &str) -> Value {
        let out = self.run(&["secret", "get", name, "--reveal"], b"");
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

/// Runs `key generate --type TYPE --name NAME --venue VENUE --api-key AK` and returns the run.
fn generate(home: &Home, kind: &str, name: &str, venue: &str) -> Output {
    home.run(
        &[
            "key",
            "generate",
            "--type",
            kind,
            "--name",
            name,
            "--venue",
            venue,
            "--api-key",
            "AK-1",
        ],
        b"",
    )
}

fn text(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn each_key_type_is_stored_in_the_vault_and_signs_from_there() {
    let home = Home::new();
    for (kind, expected, venue, scheme) in [
        ("ed25519", KeyKind::Ed25519, "binance", Scheme::Binance),
        ("rsa", KeyKind::Rsa, "bybit", Scheme::Bybit),
        (
            "p256",
            KeyKind::P256,
            "coinbase-advanced",
            Scheme::CoinbaseAdvanced,
        ),
    ] {
        let name = format!("{venue}-main");
        let made = generate(&home, kind, &name, venue);
        assert!(made.status.success(), "{}", stderr(&made));
        let public = text(&made);
        assert!(
            public.starts_with("-----BEGIN PUBLIC KEY-----\n")
                && public.ends_with("-----END PUBLIC KEY-----\n"),
            "{public}"
        );
        assert!(stderr(&made).contains(&format!("stored the {expected} private key")));

        // key public prints the same key again, in text and JSON.
        let again = home.run(&["key", "public", "--name", &name], b"");
        assert!(again.status.success(), "{}", stderr(&again));
        assert_eq!(text(&again), public);
        let json = home.run(&["key", "public", "--name", &name, "--format", "json"], b"");
        let doc: Value = serde_json::from_slice(&json.stdout).unwrap();
        assert_eq!(doc["public_key"], public.as_str());
        assert_eq!(doc["kind"], kind);
        assert_eq!(doc["name"], name.as_str());

        // The credential has the fields the exchange client reads, and its key signs.
        let stored = home.stored(&name);
        assert_eq!(stored["api_key"], "AK-1");
        assert_eq!(stored["venue"], venue);
        let pem = stored["secret"].as_str().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "PKCS#8");
        let creds = Credentials::new(stored["api_key"].as_str().unwrap(), SecretString::from(pem));
        let signer = Signer::new(scheme, &creds).unwrap();
        assert_eq!(signer.key_kind(), expected);
        assert_eq!(
            signer.public_key_pem().unwrap().trim_end(),
            public.trim_end()
        );
        signer
            .sign(
                Request::get("/api/v3/account").with_query("a=1".to_owned()),
                &SignOptions::at(1_700_000_000_000),
            )
            .unwrap();

        assert_key_hidden(
            pem,
            &[
                &made.stdout,
                &made.stderr,
                &again.stdout,
                &again.stderr,
                &json.stdout,
                &json.stderr,
            ],
        );
    }
}

#[test]
fn a_stored_key_is_replaced_only_with_force_and_its_old_version_kept() {
    let home = Home::new();
    let first = generate(&home, "ed25519", "bot", "binance");
    assert!(first.status.success(), "{}", stderr(&first));
    let again = generate(&home, "ed25519", "bot", "binance");
    assert_fails(&again, "exists already");
    assert_eq!(
        text(&home.run(&["key", "public", "--name", "bot"], b"")),
        text(&first)
    );

    let forced = home.run(
        &[
            "key", "generate", "--type", "ed25519", "--name", "bot", "--force",
        ],
        b"",
    );
    assert!(forced.status.success(), "{}", stderr(&forced));
    assert_ne!(text(&forced), text(&first));
    assert_eq!(
        text(&home.run(&["key", "public", "--name", "bot"], b"")),
        text(&forced)
    );
    let versions = home.run(&["secret", "versions", "bot", "--format", "json"], b"");
    let versions: Value = serde_json::from_slice(&versions.stdout).unwrap();
    assert_eq!(versions.as_array().unwrap().len(), 2, "{versions}");
}

#[test]
fn out_writes_the_private_key_0600_and_never_over_a_file() {
    let home = Home::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cdp-key.pem");
    let p = path.to_str().unwrap();
    let made = home.run(&["key", "generate", "--type", "p256", "--out", p], b"");
    assert!(made.status.success(), "{}", stderr(&made));
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let pem = std::fs::read_to_string(&path).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "PKCS#8");
    let creds = Credentials::new(
        "organizations/o/apiKeys/k",
        SecretString::from(pem.as_str()),
    );
    let signer = Signer::new(Scheme::CoinbaseAdvanced, &creds).unwrap();
    assert_eq!(signer.key_kind(), KeyKind::P256);
    assert_eq!(
        signer.public_key_pem().unwrap().trim_end(),
        text(&made).trim_end()
    );
    // Nothing went to the vault.
    let list = home.run(&["secret", "list"], b"");
    assert!(list.stdout.is_empty(), "{}", text(&list));

    let again = home.run(&["key", "generate", "--type", "ed25519", "--out", p], b"");
    assert_fails(&again, "exists already");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), pem);
    let forced = home.run(
        &[
            "key", "generate", "--type", "ed25519", "--out", p, "--force",
        ],
        b"",
    );
    assert!(forced.status.success(), "{}", stderr(&forced));
    let new = std::fs::read_to_string(&path).unwrap();
    assert_ne!(new, pem);
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_key_hidden(&pem, &[&made.stdout, &made.stderr, &again.stderr]);
    assert_key_hidden(&new, &[&forced.stdout, &forced.stderr]);
}

#[test]
fn usage_mistakes_are_refused_before_a_key_is_made() {
    let home = Home::new();
    // A key type the venue does not take.
    let out = home.run(
        &[
            "key", "generate", "--type", "p256", "--name", "x", "--venue", "binance",
        ],
        b"",
    );
    assert_fails(&out, "does not accept ECDSA P-256 keys");
    // --type without a place for the private key is a usage error: never printed.
    let out = home.run(&["key", "generate", "--type", "ed25519"], b"");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    // --name without --type (a Fernet key is never stored).
    let out = home.run(&["key", "generate", "--name", "x"], b"");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = home.run(&["key", "generate", "--store", "env"], b"");
    assert_fails(&out, "--store needs --type");
    assert!(home.run(&["secret", "list"], b"").stdout.is_empty());
}

#[test]
fn the_api_key_is_recorded_later_and_the_key_kept() {
    let home = Home::new();
    let made = home.run(
        &[
            "key", "generate", "--type", "ed25519", "--name", "bn", "--venue", "binance",
        ],
        b"",
    );
    assert!(made.status.success(), "{}", stderr(&made));
    assert!(
        stderr(&made).contains("key set-api-key"),
        "{}",
        stderr(&made)
    );
    let before = home.stored("bn");
    assert_eq!(before["api_key"], "");
    let set = home.run(
        &["key", "set-api-key", "--name", "bn", "--api-key", "AK-9"],
        b"",
    );
    assert!(set.status.success(), "{}", stderr(&set));
    let after = home.stored("bn");
    assert_eq!(after["api_key"], "AK-9");
    assert_eq!(after["secret"], before["secret"]);
    assert_eq!(after["venue"], "binance");
    assert_key_hidden(
        before["secret"].as_str().unwrap(),
        &[&made.stdout, &made.stderr, &set.stdout, &set.stderr],
    );
}

/// A canary key whose body is damaged: key public fails with a typed error that shows no part
/// of it; an HMAC secret has no public key.
#[test]
fn key_public_refuses_hmac_secrets_and_damaged_keys_without_showing_them() {
    let home = Home::new();
    let out = home.run(
        &[
            "secret", "put", "hm", "--field", "api_key", "--field", "secret",
        ],
        b"api_key=k\nsecret=CANARYHMACSECRETVALUE0123456789\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = home.run(&["key", "public", "--name", "hm"], b"");
    assert_fails(&out, "HMAC secret");
    assert!(!stderr(&out).contains("CANARYHMAC"));

    let damaged = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEICANARYcanaryCANARYcanary0123456789abcdefXX\n-----END PRIVATE KEY-----\n";
    let value = serde_json::json!({"api_key": "k", "secret": damaged}).to_string();
    let out = home.run(&["secret", "put", "broken"], value.as_bytes());
    assert!(out.status.success(), "{}", stderr(&out));
    let out = home.run(&["key", "public", "--name", "broken"], b"");
    assert_fails(&out, "cannot be read");
    assert_key_hidden(damaged, &[&out.stdout, &out.stderr]);
    assert!(!stderr(&out).contains("CANARY"), "{}", stderr(&out));
}
