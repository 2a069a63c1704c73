//! `keyward doctor` on crafted project directories: every finding it claims to detect is
//! detected, with its severity, location and fix; a clean directory gives no finding; the
//! exit code is the worst finding's; no finding ever shows the secret it found. `clock.rs`:
//! `--clock-skew` against the in-process testnet. `redis.rs`: the fleet's Redis against a real
//! redis-server.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

#[path = "../common/mod.rs"]
mod common;

#[path = "../support/redis_server.rs"]
mod redis_server;

mod clock;
mod keys;
mod redis;
mod revocation;
mod untrusted;

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use tempfile::TempDir;

const GITIGNORE: &str = ".env*\n*.key\n*.token\nvault.db*\n";
/// Secrets planted in the crafted projects: none may appear in doctor's output.
const AWS_KEY: &str = "AKIAQWERTYUIOPASDFGH";
const HIGH_ENTROPY: &str = "Zq8vR2mK7xP4wL9nT3bY6cF1hJ5dG0sA";

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

/// A git work tree with a complete .gitignore and one ordinary tracked file.
fn clean_project() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q"]);
    fs::write(dir.path().join(".gitignore"), GITIGNORE).unwrap();
    fs::write(
        dir.path().join("main.py"),
        "import os\nsecret = os.environ['API_SECRET']\n",
    )
    .unwrap();
    git(dir.path(), &["add", ".gitignore", "main.py"]);
    dir
}

fn write_mode(path: &Path, text: &str, mode: u32) {
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// Runs `keyward doctor DIR --format json` with an empty KEYWARD_HOME (unless `home` is given).
fn doctor(dir: &Path, home: Option<&Path>) -> (Output, Value) {
    let empty = tempfile::tempdir().unwrap();
    let home = home.unwrap_or(empty.path()).to_str().unwrap().to_owned();
    let out = common::keyward(
        &["doctor", dir.to_str().unwrap(), "--format", "json"],
        b"",
        &[("KEYWARD_HOME", &home)],
    );
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(
        !text.contains(AWS_KEY) && !text.contains(HIGH_ENTROPY),
        "{text}"
    );
    assert!(!common::stderr(&out).contains(AWS_KEY));
    let doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    (out, doc)
}

/// The findings of `check`, as (severity, path file name, line).
fn of(doc: &Value, check: &str) -> Vec<(String, String, Option<u64>)> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == check)
        .map(|f| {
            let name = f["path"]
                .as_str()
                .map(|p| {
                    Path::new(p)
                        .file_name()
                        .unwrap()
                        .to_string_lossy()
                        .into_owned()
                })
                .unwrap_or_default();
            (
                f["severity"].as_str().unwrap().to_owned(),
                name,
                f["line"].as_u64(),
            )
        })
        .collect()
}

#[test]
fn a_clean_project_has_no_finding_and_exits_0() {
    let dir = clean_project();
    // A private .env that git ignores is how it should be.
    write_mode(&dir.path().join(".env"), "API_SECRET=x\n", 0o600);
    let (out, doc) = doctor(dir.path(), None);
    assert_eq!(doc["findings"], serde_json::json!([]), "{doc}");
    assert_eq!(out.status.code(), Some(0));
    let text = common::keyward(
        &["doctor", dir.path().to_str().unwrap()],
        b"",
        &[("KEYWARD_HOME", dir.path().to_str().unwrap())],
    );
    assert_eq!(String::from_utf8_lossy(&text.stdout), "no findings\n");
}

#[test]
fn loose_secret_files_are_found_with_their_fix() {
    let dir = clean_project();
    write_mode(&dir.path().join(".env"), "A=b\n", 0o644);
    write_mode(&dir.path().join("master.key"), "k\n", 0o640);
    fs::create_dir(dir.path().join("tokens")).unwrap();
    write_mode(&dir.path().join("tokens/api.token"), "t\n", 0o604);
    write_mode(&dir.path().join("vault.db"), "", 0o660);
    let (out, doc) = doctor(dir.path(), None);
    let mut found = of(&doc, "permissions");
    found.sort();
    assert_eq!(
        found,
        vec![
            ("critical".into(), "master.key".into(), None),
            ("high".into(), ".env".into(), None),
            ("high".into(), "api.token".into(), None),
            ("high".into(), "vault.db".into(), None),
        ]
    );
    let fix = doc["findings"][0]["fix"].as_str().unwrap();
    assert!(
        fix.starts_with("chmod 600 ") && fix.ends_with("master.key"),
        "{fix}"
    );
    assert_eq!(out.status.code(), Some(6));
}

#[test]
fn a_gitignore_that_misses_secret_files_is_found() {
    let dir = clean_project();
    fs::write(dir.path().join(".gitignore"), "target/\n*.key\n").unwrap();
    let (out, doc) = doctor(dir.path(), None);
    let found = of(&doc, "gitignore");
    assert_eq!(found, vec![("high".into(), ".gitignore".into(), None)]);
    let finding = &doc["findings"][0];
    let message = finding["message"].as_str().unwrap();
    assert!(
        message.contains(".env*") && message.contains("*.token") && !message.contains("*.key"),
        "{message}"
    );
    // The fix, run as printed, leaves nothing to report.
    let fix = finding["fix"].as_str().unwrap();
    assert!(
        Command::new("sh")
            .args(["-c", fix])
            .status()
            .unwrap()
            .success(),
        "{fix}"
    );
    let (after, doc) = doctor(dir.path(), None);
    assert_eq!(doc["findings"], serde_json::json!([]), "{doc}");
    assert_eq!((out.status.code(), after.status.code()), (Some(5), Some(0)));
}

#[test]
fn a_directory_outside_git_is_reported_as_info_only() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("bot.py"), "print('hi')\n").unwrap();
    let (out, doc) = doctor(dir.path(), None);
    assert_eq!(
        of(&doc, "gitignore"),
        vec![("info".into(), String::new(), None)]
    );
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn secret_files_tracked_by_git_are_found() {
    let dir = clean_project();
    write_mode(&dir.path().join(".env.production"), "A=b\n", 0o600);
    git(dir.path(), &["add", "-f", ".env.production"]);
    let (out, doc) = doctor(dir.path(), None);
    assert_eq!(
        of(&doc, "tracked-file"),
        vec![("critical".into(), ".env.production".into(), None)]
    );
    let fix = doc["findings"][0]["fix"].as_str().unwrap();
    assert!(fix.contains("rm --cached .env.production"), "{fix}");
    assert_eq!(out.status.code(), Some(6));
}

#[test]
fn plaintext_secrets_in_tracked_files_are_found_by_line_without_the_secret() {
    let dir = clean_project();
    let settings = format!(
        "# settings\nAWS_ACCESS_KEY_ID = \"{AWS_KEY}\"\nregion = 'eu-west-1'\nBINANCE_API_SECRET = \"{HIGH_ENTROPY}\"\nAPI_KEY = 'your-api-key-here'\n"
    );
    fs::write(dir.path().join("settings.py"), settings).unwrap();
    fs::create_dir(dir.path().join("deploy")).unwrap();
    fs::write(
        dir.path().join("deploy/id.txt"),
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
    )
    .unwrap();
    // An untracked file that git would add is reported apart (untracked.rs).
    fs::write(
        dir.path().join("scratch.py"),
        format!("token = \"{HIGH_ENTROPY}\"\n"),
    )
    .unwrap();
    git(dir.path(), &["add", "settings.py", "deploy/id.txt"]);
    let (out, doc) = doctor(dir.path(), None);
    let mut found = of(&doc, "tracked-secret");
    found.sort();
    assert_eq!(
        found,
        vec![
            ("critical".into(), "id.txt".into(), Some(1)),
            ("critical".into(), "settings.py".into(), Some(2)),
            ("high".into(), "settings.py".into(), Some(4)),
        ]
    );
    assert_eq!(
        of(&doc, "untracked-secret"),
        vec![("high".into(), "scratch.py".into(), Some(1))]
    );
    assert_eq!(out.status.code(), Some(6));
}

#[test]
fn without_git_every_file_is_scanned() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("config.toml"),
        format!("api_secret = \"{HIGH_ENTROPY}\"\n"),
    )
    .unwrap();
    let (out, doc) = doctor(dir.path(), None);
    assert_eq!(
        of(&doc, "tracked-secret"),
        vec![("high".into(), "config.toml".into(), Some(1))]
    );
    assert_eq!(out.status.code(), Some(5));
}

/// A local vault in `home` holding one secret.
fn vault_with_a_secret(home: &Path) -> std::path::PathBuf {
    let env = [("KEYWARD_HOME", home.to_str().unwrap())];
    let out = common::keyward(&["vault", "init"], b"", &env);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let out = common::keyward(
        &["secret", "put", "binance-main"],
        b"api_key=k\nsecret=s\n",
        &env,
    );
    assert!(out.status.success(), "{}", common::stderr(&out));
    home.join("vault.db")
}

#[test]
fn a_loose_local_vault_is_found() {
    let dir = clean_project();
    let home = tempfile::tempdir().unwrap();
    let vault = vault_with_a_secret(home.path());
    fs::set_permissions(&vault, fs::Permissions::from_mode(0o644)).unwrap();
    let (out, doc) = doctor(dir.path(), Some(home.path()));
    assert_eq!(
        of(&doc, "vault"),
        vec![("critical".into(), "vault.db".into(), None)]
    );
    assert_eq!(out.status.code(), Some(6));
}

#[test]
fn credentials_due_for_rotation_are_found() {
    let dir = clean_project();
    let home = tempfile::tempdir().unwrap();
    let vault = vault_with_a_secret(home.path());
    let (out, doc) = doctor(dir.path(), Some(home.path()));
    assert_eq!(doc["findings"], serde_json::json!([]), "{doc}");
    assert_eq!(out.status.code(), Some(0));
    // Age the credential past the 90-day policy.
    let db = rusqlite::Connection::open(&vault).unwrap();
    db.execute_batch(
        "UPDATE secrets SET created = 0, rotated_at = 0; UPDATE versions SET created = 0;",
    )
    .unwrap();
    drop(db);
    let (out, doc) = doctor(dir.path(), Some(home.path()));
    assert_eq!(
        of(&doc, "rotation"),
        vec![("medium".into(), "vault.db".into(), None)]
    );
    let message = doc["findings"][0]["message"].as_str().unwrap();
    assert!(message.contains("binance-main"), "{message}");
    assert_eq!(out.status.code(), Some(4));
}
