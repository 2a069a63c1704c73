//! End-to-end tests of `keyward secret`: values only from stdin, metadata unless --reveal,
//! versions, and the env, dotenv and encrypted-file stores.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

#[path = "../common/mod.rs"]
mod common;

mod revoke;

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
    let input = format!("api_key=key-1\napi_secret={CANARY}\n");
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
        b"api_secret=rotated\n",
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
        format!("token={CANARY}\n").as_bytes(),
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
        format!("token={CANARY}\n").as_bytes(),
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
        text.contains("[AWSCURRENT]") && !text.contains(CANARY),
        "{text}"
    );
    // Finding 23: `versions` shows Secrets Manager's own labels.
    let out = keyward(
        &["secret", "put", &name, "--store", "aws", "--field", "token"],
        b"token=two\n",
        &env,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = keyward(&["secret", "versions", &name, "--store", "aws"], b"", &env);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("[AWSCURRENT]") && text.contains("[AWSPREVIOUS]"),
        "{text}"
    );
    assert!(
        keyward(&["secret", "rm", &name, "--store", "aws"], b"", &env)
            .status
            .success()
    );
}

/// Finding 3 of issue 13, through the binary: a process that opened the vault before
/// `keyward vault rotate-key` writes after it; the secret is sealed under the new key and
/// `keyward secret get` reads it. The steps run in this order, nothing races.
#[test]
fn a_write_from_a_process_that_opened_the_vault_before_rotate_key_survives() {
    use keyward::secrets::{SecretStore, SecretValue, SqliteVault};
    let home = tempfile::tempdir().unwrap();
    let env = [("KEYWARD_HOME", home.path().to_str().unwrap())];
    assert!(keyward(&["vault", "init"], b"", &env).status.success());
    let db = home.path().join("vault.db");
    let early = SqliteVault::open_with_key_file(&db, SqliteVault::key_path(&db)).unwrap();
    let out = keyward(&["vault", "rotate-key"], b"", &env);
    assert!(out.status.success(), "{}", stderr(&out));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let value = SecretValue::fields([("token", CANARY)]);
    rt.block_on(early.put("late", &value)).unwrap();
    drop(early);
    let out = keyward(
        &["secret", "get", "late", "--reveal", "--field", "token"],
        b"",
        &env,
    );
    let err = stderr(&out);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("{CANARY}\n"),
        "{err}"
    );
}

/// Finding 21: `vault init` creates the vault's directory 0700 and refuses a directory that
/// group or others can write (they could swap the vault or its key for their own).
#[test]
fn vault_init_makes_a_private_directory_and_refuses_a_shared_one() {
    let root = tempfile::tempdir().unwrap();
    let home = root.path().join("new").join("home");
    let env = [("KEYWARD_HOME", home.to_str().unwrap())];
    let out = keyward(&["vault", "init"], b"", &env);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::metadata(&home).unwrap().permissions().mode() & 0o777,
        0o700
    );

    let shared = root.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    let db = shared.join("vault.db");
    let out = keyward(&["vault", "init", db.to_str().unwrap()], b"", &[]);
    assert_fails(&out, "writable by group or others");
    assert!(!db.exists() && !shared.join("vault.db.key").exists());
}

/// Finding 19: more than 16 MiB on standard input is an error and nothing is stored.
#[test]
fn secret_put_refuses_input_over_the_limit_instead_of_cutting_it() {
    let home = tempfile::tempdir().unwrap();
    let env = [("KEYWARD_HOME", home.path().to_str().unwrap())];
    assert!(keyward(&["vault", "init"], b"", &env).status.success());
    let big = vec![b'x'; 16 * 1024 * 1024 + 1];
    let out = keyward(&["secret", "put", "big"], &big, &env);
    assert_fails(&out, "16 MiB");
    assert_fails(&keyward(&["secret", "get", "big"], b"", &env), "not found");
    // Exactly the limit is stored whole.
    let out = keyward(&["secret", "put", "big"], &big[1..], &env);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = keyward(&["secret", "get", "big", "--reveal"], b"", &env);
    assert_eq!(out.stdout.len(), big.len() - 1);
}

/// Finding 19: standard input holds one FIELD=VALUE line per --field, as documented; the field
/// names are not stored as part of the values, and input that does not match is refused
/// without echoing it.
#[test]
fn secret_put_reads_field_equals_value_lines() {
    let home = tempfile::tempdir().unwrap();
    let env = [("KEYWARD_HOME", home.path().to_str().unwrap())];
    assert!(keyward(&["vault", "init"], b"", &env).status.success());
    let put = [
        "secret", "put", "svc", "--field", "api_key", "--field", "secret",
    ];
    // Any order; a value may hold '='.
    let input = format!("secret={CANARY}=x\napi_key=key-1\n");
    let out = keyward(&put, input.as_bytes(), &env);
    assert!(out.status.success(), "{}", stderr(&out));
    let field = |name: &str| {
        let out = keyward(
            &["secret", "get", "svc", "--reveal", "--field", name],
            b"",
            &env,
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(field("api_key"), "key-1\n");
    assert_eq!(field("secret"), format!("{CANARY}=x\n"));

    for (bad, needle) in [
        (format!("api_key=k\nother={CANARY}\n"), "line 2"),
        (format!("api_key=k\n{CANARY}\n"), "line 2"),
        (format!("api_key=k\napi_key={CANARY}\n"), "twice"),
        ("api_key=k\n".to_owned(), "secret"),
    ] {
        let out = keyward(&put, bad.as_bytes(), &env);
        assert_fails(&out, needle);
        assert!(!stderr(&out).contains(CANARY), "{}", stderr(&out));
    }
    assert_eq!(field("api_key"), "key-1\n", "nothing else was stored");
}
