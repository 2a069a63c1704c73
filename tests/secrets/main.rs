//! End-to-end tests of `keyward secret`: values only from stdin, metadata unless --reveal,
//! versions, and the env, dotenv and encrypted-file stores.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

#[path = "../common/mod.rs"]
mod common;

use std::os::unix::fs::PermissionsExt;

use common::{assert_fails, keyward, stderr};

const CANARY: &str = "CANARY-secret-91ab";

fn key_file(dir: &std::path::Path) -> String {
    let path = dir.join("master.key");
    let out = keyward(
        &["key", "generate", "--out", path.to_str().unwrap()],
        b"",
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    path.to_str().unwrap().to_owned()
}

#[test]
fn file_store_put_get_versions_list_rm() {
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path());
    let store = format!("file:{}", dir.path().join("secrets.fernet").display());
    let base = ["--store", store.as_str(), "--key-file", key.as_str()];
    let run = |args: &[&str], stdin: &[u8]| {
        let mut all: Vec<&str> = vec!["secret"];
        all.extend_from_slice(args);
        all.extend_from_slice(&base);
        keyward(&all, stdin, &[])
    };
    let input = format!("key-1\n{CANARY}\n");
    let out = run(
        &[
            "put",
            "binance-testnet",
            "--field",
            "api_key",
            "--field",
            "api_secret",
        ],
        input.as_bytes(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains(CANARY));

    // Metadata by default: never the value.
    let out = run(&["get", "binance-testnet"], b"");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("binance-testnet version 1 [current]"),
        "{text}"
    );
    assert!(!text.contains(CANARY));
    let out = run(
        &[
            "get",
            "binance-testnet",
            "--reveal",
            "--field",
            "api_secret",
        ],
        b"",
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("{CANARY}\n")
    );

    // A second put is a new version; the old one stays readable.
    let out = run(
        &["put", "binance-testnet", "--field", "api_secret"],
        b"rotated\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&["versions", "binance-testnet", "--format", "json"], b"");
    let versions: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(versions.as_array().unwrap().len(), 2);
    assert_eq!(versions[0]["stages"][0], "previous");
    let out = run(
        &[
            "get",
            "binance-testnet",
            "--reveal",
            "--field",
            "api_secret",
            "--stage",
            "previous",
        ],
        b"",
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("{CANARY}\n")
    );

    let out = run(&["list"], b"");
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "binance-testnet\n");
    assert!(run(&["rm", "binance-testnet"], b"").status.success());
    assert_fails(&run(&["get", "binance-testnet"], b""), "not found");
}

#[test]
fn env_store_reads_variables() {
    let env = [("KEYWARD_SVC_TOKEN", CANARY)];
    let out = keyward(
        &[
            "secret", "get", "svc", "--store", "env", "--reveal", "--field", "token",
        ],
        b"",
        &env,
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("{CANARY}\n")
    );
    let out = keyward(&["secret", "put", "svc", "--store", "env"], b"x", &env);
    assert_fails(&out, "does not support");
}

#[test]
fn a_loose_dotenv_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".env");
    std::fs::write(&path, format!("KEYWARD_SVC_TOKEN={CANARY}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let store = format!("dotenv:{}", path.display());
    let out = keyward(&["secret", "get", "svc", "--store", &store], b"", &[]);
    assert_fails(&out, "chmod 600");
    assert!(!stderr(&out).contains(CANARY));
}

#[test]
fn values_never_come_from_arguments() {
    let out = keyward(
        &["secret", "put", "svc", "--store", "env", "--value", "x"],
        b"",
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let out = keyward(&["secret", "get", "svc", "--store", "nowhere"], b"", &[]);
    assert_fails(&out, "unknown store");
}

#[test]
fn the_default_vault_init_put_get_rotate_and_audit() {
    let home = tempfile::tempdir().unwrap();
    let env = [("KEYWARD_HOME", home.path().to_str().unwrap())];
    let out = keyward(&["secret", "get", "svc"], b"", &env);
    assert_fails(&out, "keyward vault init");
    let out = keyward(&["vault", "init"], b"", &env);
    assert!(out.status.success(), "{}", stderr(&out));
    let db = home.path().join("vault.db");
    let key = home.path().join("vault.db.key");
    for path in [&db, &key] {
        assert_eq!(
            std::fs::metadata(path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let out = keyward(
        &["secret", "put", "svc", "--field", "token"],
        format!("{CANARY}\n").as_bytes(),
        &env,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = keyward(
        &["secret", "get", "svc", "--reveal", "--field", "token"],
        b"",
        &env,
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("{CANARY}\n")
    );
    let old_key = std::fs::read(&key).unwrap();
    let out = keyward(&["vault", "rotate-key"], b"", &env);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_ne!(std::fs::read(&key).unwrap(), old_key);
    let out = keyward(
        &[
            "secret",
            "get",
            "svc",
            "--reveal",
            "--field",
            "token",
            "--store",
            &format!("sqlite:{}", db.display()),
        ],
        b"",
        &[],
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("{CANARY}\n")
    );
    let out = keyward(&["vault", "audit", "--format", "json"], b"", &env);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("\"put\"") && text.contains("rotate_master_key"),
        "{text}"
    );
    assert!(!text.contains(CANARY));
    // A loose key file is refused with the fix.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_fails(&keyward(&["secret", "list"], b"", &env), "chmod 600");
}

/// `--store aws` against moto_server (started by `cargo xtask ci`): the standard AWS settings
/// point the CLI at it.
#[test]
fn aws_store_through_the_standard_settings() {
    let Some(endpoint) = std::env::var_os("KEYWARD_AWS_ENDPOINT") else {
        assert!(
            std::env::var_os("KEYWARD_REQUIRE_INTEROP").is_none(),
            "KEYWARD_REQUIRE_INTEROP is set but KEYWARD_AWS_ENDPOINT is not"
        );
        eprintln!("SKIPPED: KEYWARD_AWS_ENDPOINT is not set (run `cargo xtask ci`)");
        return;
    };
    let endpoint = endpoint.to_str().unwrap().to_owned();
    let name = format!("cli-test-{}", std::process::id());
    let env = [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
    ];
    let out = keyward(
        &["secret", "put", &name, "--store", "aws", "--field", "token"],
        format!("{CANARY}\n").as_bytes(),
        &env,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = keyward(
        &[
            "secret", "get", &name, "--store", "aws", "--reveal", "--field", "token",
        ],
        b"",
        &env,
    );
    let err = stderr(&out);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("{CANARY}\n"),
        "{err}"
    );
    let out = keyward(&["secret", "get", &name, "--store", "aws"], b"", &env);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("[current]") && !text.contains(CANARY),
        "{text}"
    );
    assert!(
        keyward(&["secret", "rm", &name, "--store", "aws"], b"", &env)
            .status
            .success()
    );
}
