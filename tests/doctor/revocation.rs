//! Revoked credentials not yet replaced, and rotation age in every store that keeps dates:
//! the local vault and each `--store`.

use std::path::Path;

use super::{clean_project, doctor, of, vault_with_a_secret};

fn env(home: &Path) -> [(&'static str, &str); 1] {
    [("KEYWARD_HOME", home.to_str().unwrap())]
}

#[test]
fn a_revoked_credential_is_listed_until_it_is_replaced() {
    let dir = clean_project();
    let home = tempfile::tempdir().unwrap();
    vault_with_a_secret(home.path());
    let out = super::common::keyward(
        &[
            "secret",
            "revoke",
            "binance-main",
            "--reason",
            "seen in a CI log",
        ],
        b"",
        &env(home.path()),
    );
    assert!(out.status.success(), "{}", super::common::stderr(&out));
    let (out, doc) = doctor(dir.path(), Some(home.path()));
    assert_eq!(
        of(&doc, "revoked"),
        vec![("high".into(), "vault.db".into(), None)]
    );
    let finding = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "revoked")
        .unwrap();
    let message = finding["message"].as_str().unwrap();
    assert!(
        message.contains("binance-main") && message.contains("seen in a CI log"),
        "{message}"
    );
    assert!(
        finding["fix"]
            .as_str()
            .unwrap()
            .contains("keyward secret put binance-main")
    );
    assert_eq!(out.status.code(), Some(5));

    let out = super::common::keyward(
        &["secret", "put", "binance-main"],
        b"new-value",
        &env(home.path()),
    );
    assert!(out.status.success());
    let (out, doc) = doctor(dir.path(), Some(home.path()));
    assert_eq!(doc["findings"], serde_json::json!([]), "{doc}");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn other_stores_are_checked_for_revocations_and_age_and_the_limit_is_configurable() {
    let dir = clean_project();
    let home = tempfile::tempdir().unwrap();
    let key = home.path().join("master.key");
    let key = key.to_str().unwrap();
    let out = super::common::keyward(&["key", "generate", "--out", key], b"", &[]);
    assert!(out.status.success());
    let store = format!("file:{}", home.path().join("s.fernet").display());
    let file = ["--store", store.as_str(), "--key-file", key];
    for name in ["bybit-main", "okx-main"] {
        let mut args = vec!["secret", "put", name];
        args.extend_from_slice(&file);
        assert!(super::common::keyward(&args, b"v", &[]).status.success());
    }
    let mut args = vec!["secret", "revoke", "okx-main"];
    args.extend_from_slice(&file);
    assert!(super::common::keyward(&args, b"", &[]).status.success());

    let empty = tempfile::tempdir().unwrap();
    let out = super::common::keyward(
        &[
            "doctor",
            dir.path().to_str().unwrap(),
            "--format",
            "json",
            "--store",
            &store,
            "--key-file",
            key,
            "--store",
            "env",
        ],
        b"",
        &env(empty.path()),
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        of(&doc, "revoked"),
        vec![("high".into(), "s.fernet".into(), None)]
    );
    // The env store keeps no dates; the file store's fresh values are not due.
    assert_eq!(
        of(&doc, "rotation"),
        vec![("info".into(), String::new(), None)]
    );
    assert_eq!(out.status.code(), Some(5));

    // The vault's credential aged 2 days is due under a 1-day limit.
    vault_with_a_secret(home.path());
    let db = rusqlite::Connection::open(home.path().join("vault.db")).unwrap();
    let two_days_ago = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        - 2 * 86_400_000;
    db.execute("UPDATE secrets SET rotated_at = ?1", [two_days_ago])
        .unwrap();
    drop(db);
    let (_, doc) = doctor(dir.path(), Some(home.path()));
    assert_eq!(of(&doc, "rotation"), vec![], "not due under 90 days");
    let out = super::common::keyward(
        &[
            "doctor",
            dir.path().to_str().unwrap(),
            "--format",
            "json",
            "--rotation-days",
            "1",
        ],
        b"",
        &env(home.path()),
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        of(&doc, "rotation"),
        vec![("medium".into(), "vault.db".into(), None)]
    );
}
