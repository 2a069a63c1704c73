//! Environments and config integrity through the `keyward` binary: `--environment` and
//! `KEYWARD_ENV` select `.env.NAME` (the option wins; a missing file and a bad name are
//! errors), production refuses a differing process variable, and `keyward doctor` reports a
//! credential shared by two environments and a file changed since its digest was recorded
//! (`--record-integrity`); no value in any output.
#![cfg(unix)]
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

#[path = "../common/mod.rs"]
mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Output;

use common::{assert_fails, keyward, stderr};
use serde_json::Value;

const CANARY: &str = "ENVCANARY-4b7e";
const PROD_CANARY: &str = "PRODCANARY-a913";

fn write_0600(path: &Path, text: &str) {
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
}

/// A project with `.env` and `.env.staging` and `.env.production` files.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_0600(&dir.path().join(".env"), "KEYWARD_SVC=default\n");
    write_0600(&dir.path().join(".env.staging"), "KEYWARD_SVC=staging\n");
    write_0600(
        &dir.path().join(".env.production"),
        &format!("KEYWARD_SVC={PROD_CANARY}\n"),
    );
    dir
}

fn assert_clean(out: &Output) {
    for text in [
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    ] {
        assert!(
            !text.contains(CANARY) && !text.contains(PROD_CANARY),
            "a value leaked: {text}"
        );
    }
}

/// `keyward [pre...] secret get svc --store dotenv:DIR --reveal` with `env`.
fn get(dir: &Path, pre: &[&str], env: &[(&str, &str)]) -> Output {
    let store = format!("dotenv:{}", dir.display());
    let mut args: Vec<&str> = pre.to_vec();
    args.extend(["secret", "get", "svc", "--store", &store, "--reveal"]);
    keyward(&args, b"", env)
}

#[test]
fn the_environment_selects_its_file_and_the_option_wins() {
    let dir = project();
    let out = get(dir.path(), &[], &[("KEYWARD_ENV", "")]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "default",
        "{}",
        stderr(&out)
    );
    let out = get(dir.path(), &[], &[("KEYWARD_ENV", "staging")]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "staging",
        "{}",
        stderr(&out)
    );
    // The global option, before or after the subcommand, wins over KEYWARD_ENV.
    let out = get(
        dir.path(),
        &["--environment", "staging"],
        &[("KEYWARD_ENV", "qa")],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "staging",
        "{}",
        stderr(&out)
    );
    let store = format!("dotenv:{}", dir.path().join(".env").display());
    let out = keyward(
        &[
            "secret",
            "get",
            "svc",
            "--store",
            &store,
            "--reveal",
            "--environment",
            "staging",
        ],
        b"",
        &[("KEYWARD_ENV", "")],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "staging",
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_missing_environment_file_and_a_bad_name_are_errors() {
    let dir = project();
    let out = get(dir.path(), &["--environment", "qa"], &[]);
    assert_fails(&out, ".env.qa");
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
    let out = get(dir.path(), &[], &[("KEYWARD_ENV", "qa")]);
    assert_fails(&out, ".env.qa");
    for bad in ["../etc", "a.b", "x/y"] {
        let out = get(dir.path(), &["--environment", bad], &[]);
        assert_fails(&out, "environment name");
    }
}

#[test]
fn production_refuses_a_process_variable_that_differs() {
    let dir = project();
    let out = get(
        dir.path(),
        &["--environment", "production"],
        &[("KEYWARD_SVC", CANARY)],
    );
    assert_fails(&out, "KEYWARD_SVC");
    assert!(stderr(&out).contains("override"), "{}", stderr(&out));
    assert_clean(&out);
    // The same value overrides nothing; outside production the process wins.
    let out = get(
        dir.path(),
        &["--environment", "production"],
        &[("KEYWARD_SVC", PROD_CANARY)],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = get(
        dir.path(),
        &["--environment", "staging"],
        &[("KEYWARD_SVC", "from-shell")],
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "from-shell");
}

/// `keyward doctor DIR --format json [extra...]` with an empty KEYWARD_HOME.
fn doctor(dir: &Path, extra: &[&str]) -> (Output, Value) {
    let home = tempfile::tempdir().unwrap();
    let mut args = vec!["doctor", dir.to_str().unwrap(), "--format", "json"];
    args.extend(extra);
    let out = keyward(
        &args,
        b"",
        &[("KEYWARD_HOME", home.path().to_str().unwrap())],
    );
    assert_clean(&out);
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    (out, doc)
}

fn findings<'a>(doc: &'a Value, check: &str) -> Vec<&'a Value> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == check)
        .collect()
}

#[test]
fn doctor_reports_a_credential_shared_by_two_environments() {
    let dir = tempfile::tempdir().unwrap();
    write_0600(
        &dir.path().join(".env.staging"),
        &format!("KEYWARD_BOT_API_SECRET={CANARY}\nKEYWARD_BOT_API_KEY=s-key\n"),
    );
    write_0600(
        &dir.path().join(".env.production"),
        &format!("KEYWARD_BOT_API_SECRET={CANARY}\nKEYWARD_BOT_API_KEY=p-key\n"),
    );
    let (out, doc) = doctor(dir.path(), &[]);
    let shared = findings(&doc, "shared-credential");
    assert_eq!(shared.len(), 1, "{doc}");
    assert_eq!(shared[0]["severity"], "medium");
    let message = shared[0]["message"].as_str().unwrap();
    assert!(
        message.contains("KEYWARD_BOT_API_SECRET (.env.production)"),
        "{message}"
    );
    assert!(
        message.contains("KEYWARD_BOT_API_SECRET (.env.staging)"),
        "{message}"
    );
    assert!(!message.contains("API_KEY"), "{message}");
    assert_eq!(out.status.code(), Some(4));
}

#[test]
fn doctor_records_digests_and_reports_changes_since() {
    let dir = project();
    let config = dir.path().join("config");
    fs::create_dir(&config).unwrap();
    write_0600(&config.join(".env"), "KEYWARD_OTHER=1\n");

    // Nothing recorded: no integrity finding.
    let (_, doc) = doctor(dir.path(), &[]);
    assert!(findings(&doc, "integrity").is_empty(), "{doc}");

    let (out, doc) = doctor(dir.path(), &["--record-integrity"]);
    assert!(
        stderr(&out).contains("recorded the digests of 4 files"),
        "{}",
        stderr(&out)
    );
    assert!(findings(&doc, "integrity").is_empty(), "{doc}");
    let record = dir.path().join(".keyward/integrity.json");
    assert_eq!(
        fs::metadata(&record).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let text = fs::read_to_string(&record).unwrap();
    assert!(!text.contains(PROD_CANARY), "{text}");

    // Changed, gone, and swapped for a link.
    write_0600(&dir.path().join(".env.staging"), "KEYWARD_SVC=tampered\n");
    fs::remove_file(config.join(".env")).unwrap();
    let prod = dir.path().join(".env.production");
    let copy = dir.path().join("prod-copy");
    fs::rename(&prod, &copy).unwrap();
    std::os::unix::fs::symlink(&copy, &prod).unwrap();
    let (out, doc) = doctor(dir.path(), &[]);
    let mut found: Vec<(String, String, String)> = findings(&doc, "integrity")
        .iter()
        .map(|f| {
            (
                Path::new(f["path"].as_str().unwrap())
                    .strip_prefix(dir.path())
                    .unwrap()
                    .display()
                    .to_string(),
                f["severity"].as_str().unwrap().to_owned(),
                f["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    found.sort();
    assert_eq!(found.len(), 3, "{doc}");
    assert_eq!(found[0].0, ".env.production");
    assert_eq!(found[0].1, "high");
    assert!(found[0].2.contains("symbolic link"), "{found:?}");
    assert_eq!(
        (found[1].0.as_str(), found[1].1.as_str()),
        (".env.staging", "medium")
    );
    assert!(found[1].2.contains("contents changed"), "{found:?}");
    assert_eq!(
        (found[2].0.as_str(), found[2].1.as_str()),
        ("config/.env", "medium")
    );
    assert!(found[2].2.contains("disappeared"), "{found:?}");
    assert_eq!(out.status.code(), Some(5));

    // Recording again accepts the present state (the link is not a file: it is dropped).
    let (_, doc) = doctor(dir.path(), &["--record-integrity"]);
    assert!(findings(&doc, "integrity").is_empty(), "{doc}");

    // A record open to others is refused loudly.
    fs::set_permissions(&record, fs::Permissions::from_mode(0o644)).unwrap();
    let (_, doc) = doctor(dir.path(), &[]);
    let refused = findings(&doc, "integrity");
    assert_eq!(refused.len(), 1, "{doc}");
    assert_eq!(refused[0]["severity"], "high");
}
