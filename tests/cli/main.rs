//! End-to-end tests of the `keyward` binary: keys, encryption, decryption and token rotation,
//! driven through standard input and output as a user would.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

#[path = "../common/mod.rs"]
mod common;

mod audit;
mod keys;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use keyward::crypto::keyfile::load_key_file;
use keyward::crypto::{FernetKey, KeyRing};

use common::{assert_fails, keyward, stderr};

fn new_key_file(dir: &Path, name: &str) -> (std::path::PathBuf, FernetKey) {
    let path = dir.join(name);
    let out = keyward(
        &["key", "generate", "--out", path.to_str().unwrap()],
        b"",
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let key = load_key_file(&path).unwrap();
    (path, key)
}

#[test]
fn key_generate_prints_a_parseable_new_key() {
    let a = keyward(&["key", "generate"], b"", &[]);
    let b = keyward(&["key", "generate"], b"", &[]);
    assert!(a.status.success());
    let text = String::from_utf8(a.stdout).unwrap();
    assert_eq!(text.len(), 45);
    assert!(text.ends_with('\n'));
    FernetKey::parse(text.trim_end()).unwrap();
    assert_ne!(text.as_bytes(), b.stdout.as_slice());
}

#[test]
fn key_generate_out_writes_0600_and_never_clobbers() {
    let dir = tempfile::tempdir().unwrap();
    let (path, key) = new_key_file(dir.path(), "master.key");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let p = path.to_str().unwrap();
    let again = keyward(&["key", "generate", "--out", p], b"", &[]);
    assert_fails(&again, "exists already");
    assert_eq!(load_key_file(&path).unwrap().id(), key.id());
    let forced = keyward(&["key", "generate", "--out", p, "--force"], b"", &[]);
    assert!(forced.status.success());
    // The key never goes to stdout when written to a file; stderr names only its id.
    assert!(forced.stdout.is_empty());
    let new = load_key_file(&path).unwrap();
    assert_ne!(new.id(), key.id());
    assert!(stderr(&forced).contains(&new.id().to_string()));
    assert!(!stderr(&forced).contains(new.expose_base64().as_str()));
}

#[test]
fn encrypt_then_decrypt_with_key_files_and_env() {
    let dir = tempfile::tempdir().unwrap();
    let (path, key) = new_key_file(dir.path(), "master.key");
    let p = path.to_str().unwrap();
    let data: Vec<u8> = (0..=255u8).cycle().take(5000).collect();

    let token = keyward(&["encrypt", "--key-file", p], &data, &[]);
    assert!(token.status.success(), "{}", stderr(&token));
    let plain = keyward(
        &["decrypt", "--key-file", p, "--ttl", "60"],
        &token.stdout,
        &[],
    );
    assert!(plain.status.success(), "{}", stderr(&plain));
    assert_eq!(plain.stdout, data);

    // The same key from KEYWARD_MASTER_KEY.
    let env = [("KEYWARD_MASTER_KEY", key.expose_base64().to_string())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let plain = keyward(&["decrypt"], &token.stdout, &env);
    assert!(plain.status.success(), "{}", stderr(&plain));
    assert_eq!(plain.stdout, data);
    let token2 = keyward(&["encrypt"], b"from env", &env);
    let plain = keyward(&["decrypt", "--key-file", p], &token2.stdout, &[]);
    assert_eq!(plain.stdout, b"from env");
}

#[test]
fn decrypt_refuses_expired_and_forged_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let (path, key) = new_key_file(dir.path(), "master.key");
    let p = path.to_str().unwrap();
    let old = KeyRing::new(key).encrypt_at(b"old", 1_000_000);
    let out = keyward(
        &["decrypt", "--key-file", p, "--ttl", "60"],
        old.as_bytes(),
        &[],
    );
    assert_fails(&out, "expired");
    // Without a TTL the old token is fine.
    let out = keyward(&["decrypt", "--key-file", p], old.as_bytes(), &[]);
    assert_eq!(out.stdout, b"old");

    let foreign = KeyRing::new(FernetKey::generate().unwrap()).encrypt(b"x");
    let out = keyward(&["decrypt", "--key-file", p], foreign.as_bytes(), &[]);
    assert_fails(&out, "invalid token");
    for garbage in [
        &b""[..],
        b"\xff\xfe\x00",
        b"gAAAAA",
        b"%%%%%%%%%%%%%%%%%%%%",
    ] {
        let out = keyward(&["decrypt", "--key-file", p], garbage, &[]);
        assert_fails(&out, "invalid token");
    }
}

#[test]
fn rotate_token_moves_a_token_to_the_new_key() {
    let dir = tempfile::tempdir().unwrap();
    let (old_path, old) = new_key_file(dir.path(), "old.key");
    let (new_path, _) = new_key_file(dir.path(), "new.key");
    let token = KeyRing::new(old).encrypt_at(b"rotate me", 1_234_567);
    let (o, n) = (old_path.to_str().unwrap(), new_path.to_str().unwrap());
    let rotated = keyward(
        &["rotate-token", "--key-file", n, "--key-file", o],
        token.as_bytes(),
        &[],
    );
    assert!(rotated.status.success(), "{}", stderr(&rotated));
    let plain = keyward(&["decrypt", "--key-file", n], &rotated.stdout, &[]);
    assert_eq!(plain.stdout, b"rotate me");
    let ring = KeyRing::new(load_key_file(&new_path).unwrap());
    assert_eq!(ring.extract_timestamp(&rotated.stdout).unwrap(), 1_234_567);
    // The old key alone no longer reads it; a ring without the old key cannot rotate it.
    let out = keyward(&["decrypt", "--key-file", o], &rotated.stdout, &[]);
    assert_fails(&out, "invalid token");
    let out = keyward(&["rotate-token", "--key-file", n], token.as_bytes(), &[]);
    assert_fails(&out, "invalid token");
}

#[test]
fn loose_key_file_is_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let (path, key) = new_key_file(dir.path(), "master.key");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = keyward(
        &["encrypt", "--key-file", path.to_str().unwrap()],
        b"x",
        &[],
    );
    assert_fails(
        &out,
        &format!("(mode 0644); run chmod 600 {}", path.display()),
    );
    assert!(!stderr(&out).contains(key.expose_base64().as_str()));
}

#[test]
fn bad_keys_never_reach_the_output() {
    let canary = "CANARYCANARYCANARYCANARYCANARYCANARYCANARY==";
    let out = keyward(&["encrypt"], b"x", &[("KEYWARD_MASTER_KEY", canary)]);
    assert_fails(&out, "KEYWARD_MASTER_KEY");
    assert!(!stderr(&out).contains("CANARY"));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.key");
    std::fs::write(&path, format!("{canary}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = keyward(
        &["encrypt", "--key-file", path.to_str().unwrap()],
        b"x",
        &[],
    );
    assert_fails(&out, "does not hold a valid Fernet key");
    assert!(!stderr(&out).contains("CANARY"));
}

#[test]
fn missing_key_says_how_to_get_one() {
    let out = keyward(&["encrypt"], b"x", &[]);
    assert_fails(&out, "keyward key generate");
}

#[test]
fn keys_are_never_taken_from_argument_values() {
    let out = keyward(&["encrypt", "--key", "abc"], b"x", &[]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn key_id_lists_the_ring_primary_first() {
    let dir = tempfile::tempdir().unwrap();
    let (a_path, a) = new_key_file(dir.path(), "a.key");
    let (b_path, b) = new_key_file(dir.path(), "b.key");
    let out = keyward(
        &[
            "key",
            "id",
            "--key-file",
            b_path.to_str().unwrap(),
            "--key-file",
            a_path.to_str().unwrap(),
        ],
        b"",
        &[],
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text,
        format!("{} primary\n{} decrypt-only\n", b.id(), a.id())
    );
}

#[test]
fn help_documents_examples_and_exit_codes() {
    let out = keyward(&["--help"], b"", &[]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Exit codes"), "{text}");
    assert!(text.contains("Examples"), "{text}");
    for sub in [
        &["encrypt", "--help"][..],
        &["decrypt", "--help"],
        &["rotate-token", "--help"],
        &["key", "generate", "--help"],
    ] {
        let out = keyward(sub, b"", &[]);
        assert!(out.status.success());
        assert!(String::from_utf8(out.stdout).unwrap().contains("Example"));
    }
}

/// Finding 21: `--out` writes the token (or the plaintext) with mode 0600, atomically, never
/// over an existing file unless `--force`; nothing goes to standard output.
#[test]
fn encrypt_and_decrypt_out_write_0600_files() {
    let dir = tempfile::tempdir().unwrap();
    let (key, _) = new_key_file(dir.path(), "master.key");
    let k = key.to_str().unwrap();
    let token_path = dir.path().join("secret.token");
    let t = token_path.to_str().unwrap();
    let out = keyward(
        &["encrypt", "--key-file", k, "--out", t],
        b"my api secret",
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&token_path), 0o600);
    let token = std::fs::read(&token_path).unwrap();

    let plain_path = dir.path().join("secret.txt");
    let p = plain_path.to_str().unwrap();
    let out = keyward(&["decrypt", "--key-file", k, "--out", p], &token, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert_eq!(mode(&plain_path), 0o600);
    assert_eq!(std::fs::read(&plain_path).unwrap(), b"my api secret");

    // An existing file is kept unless --force.
    let again = keyward(&["encrypt", "--key-file", k, "--out", t], b"other", &[]);
    assert_fails(&again, "exists already");
    assert_eq!(std::fs::read(&token_path).unwrap(), token);
    let forced = keyward(
        &["encrypt", "--key-file", k, "--out", t, "--force"],
        b"other",
        &[],
    );
    assert!(forced.status.success(), "{}", stderr(&forced));
    assert_ne!(std::fs::read(&token_path).unwrap(), token);
    assert_eq!(mode(&token_path), 0o600);
}
