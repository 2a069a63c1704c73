//! `keyward secret revoke`: the store records it, reads are refused until a new value is stored,
//! read-only stores say revocation is unsupported, and `--audit-log` records every operation in
//! a tamper-evident log that verifies, without a value in it.

use super::CANARY;
use super::common::{assert_fails, keyward, stderr};

fn home_env(home: &std::path::Path) -> [(&'static str, String); 1] {
    [("KEYWARD_HOME", home.to_str().unwrap().to_owned())]
}

fn run(args: &[&str], stdin: &[u8], home: &std::path::Path) -> std::process::Output {
    let env = home_env(home);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    keyward(args, stdin, &env)
}

fn put(name: &str, home: &std::path::Path, extra: &[&str]) {
    let input = format!("api_key=k\nsecret={CANARY}\n");
    let mut args = vec![
        "secret", "put", name, "--field", "api_key", "--field", "secret",
    ];
    args.extend_from_slice(extra);
    let out = run(&args, input.as_bytes(), home);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn a_revoked_secret_is_refused_until_a_new_value_is_stored() {
    let home = tempfile::tempdir().unwrap();
    assert!(run(&["vault", "init"], b"", home.path()).status.success());
    put("binance-main", home.path(), &[]);

    let out = run(
        &[
            "secret",
            "revoke",
            "binance-main",
            "--reason",
            "seen in a CI log",
        ],
        b"",
        home.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("revoked binance-main version 1"),
        "{}",
        stderr(&out)
    );

    for args in [
        &[
            "secret",
            "get",
            "binance-main",
            "--reveal",
            "--field",
            "secret",
        ][..],
        &["secret", "get", "binance-main"][..],
    ] {
        let out = run(args, b"", home.path());
        assert_fails(&out, "revoked");
        assert!(
            stderr(&out).contains("seen in a CI log"),
            "{}",
            stderr(&out)
        );
        assert!(!String::from_utf8_lossy(&out.stdout).contains(CANARY));
        assert!(!stderr(&out).contains(CANARY));
    }
    // Versions (metadata) stay readable; a second revoke keeps the first (JSON output).
    let out = run(&["secret", "versions", "binance-main"], b"", home.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(
        &[
            "secret",
            "revoke",
            "binance-main",
            "--reason",
            "again",
            "--format",
            "json",
        ],
        b"",
        home.path(),
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["version"], "1");
    assert_eq!(doc["reason"], "seen in a CI log");

    // Rotation: a new value replaces the revoked one.
    put("binance-main", home.path(), &[]);
    let out = run(
        &[
            "secret",
            "get",
            "binance-main",
            "--reveal",
            "--field",
            "api_key",
        ],
        b"",
        home.path(),
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "k\n");
}

#[test]
fn read_only_stores_and_bad_reasons_are_refused_with_what_is_wrong() {
    let home = tempfile::tempdir().unwrap();
    let out = keyward(
        &["secret", "revoke", "binance-main", "--store", "env"],
        b"",
        &[("KEYWARD_BINANCE_MAIN_SECRET", CANARY)],
    );
    assert_fails(&out, "the env store does not support revocation");
    assert!(!stderr(&out).contains(CANARY));
    assert!(run(&["vault", "init"], b"", home.path()).status.success());
    put("binance-main", home.path(), &[]);
    let long = "x".repeat(200);
    let out = run(
        &["secret", "revoke", "binance-main", "--reason", &long],
        b"",
        home.path(),
    );
    assert_fails(&out, "at most 180 bytes");
    let out = run(&["secret", "revoke", "no-such"], b"", home.path());
    assert_fails(&out, "not found");
}

#[test]
fn the_audit_log_records_each_operation_and_verifies() {
    let home = tempfile::tempdir().unwrap();
    let log = home.path().join("audit.log");
    let log_arg = log.to_str().unwrap();
    assert!(run(&["vault", "init"], b"", home.path()).status.success());
    let audited = ["--audit-log", log_arg];
    put("binance-main", home.path(), &audited);
    let out = run(
        &["secret", "get", "binance-main", "--audit-log", log_arg],
        b"",
        home.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(
        &["secret", "revoke", "binance-main", "--audit-log", log_arg],
        b"",
        home.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(
        &["secret", "get", "binance-main", "--audit-log", log_arg],
        b"",
        home.path(),
    );
    assert_fails(&out, "revoked");

    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains(CANARY), "{text}");
    let events: Vec<(String, String)> = text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["event"].as_str().unwrap().to_owned(),
                v["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let pair = |e: &str, o: &str| (e.to_owned(), o.to_owned());
    assert_eq!(
        events,
        [
            pair("secret_write", "success"),
            pair("secret_read", "success"),
            pair("revocation", "success"),
            pair("secret_read", "refused"),
        ]
    );
    let out = run(
        &["audit", "verify", log_arg, "--key-name", "audit/mac"],
        b"",
        home.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ok: 4 entries"));
}
