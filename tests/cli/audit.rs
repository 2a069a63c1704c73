//! `keyward audit verify`: a log written by the SDK verifies, with and without its MAC key;
//! an edited line and a cut tail are named.

use std::path::Path;
use std::sync::Arc;

use keyward::crypto::keyfile::load_key_file;
use keyward::crypto::{FixedClock, KeyRing};
use keyward::secrets::audit::{AuditLog, Event, EventKind, Outcome};
use keyward::secrets::{FileStore, SecretStore};

use super::common::{assert_fails, keyward, stderr};

/// Writes a log of `n` events at `dir/audit.log`, its key in `dir/store.fernet` under
/// `audit/mac`, the store sealed by `dir/master.key`.
fn write_log(dir: &Path, n: u64) {
    let key = dir.join("master.key");
    let out = keyward(
        &["key", "generate", "--out", key.to_str().unwrap()],
        b"",
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let store: Arc<dyn SecretStore> = Arc::new(FileStore::new(
        dir.join("store.fernet"),
        KeyRing::new(load_key_file(&key).unwrap()),
    ));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let clock = Arc::new(FixedClock::new(1_700_000_000_000));
        let log = AuditLog::open(dir.join("audit.log"), store, "audit/mac", clock)
            .await
            .unwrap();
        for i in 0..n {
            let event = Event::new(EventKind::SecretRead, &format!("s{i}"), Outcome::Success);
            log.append(&event.unwrap()).await.unwrap();
        }
    });
}

fn verify_keyed(dir: &Path, format: &str) -> std::process::Output {
    let log = dir.join("audit.log");
    let store = format!("file:{}", dir.join("store.fernet").display());
    let key = dir.join("master.key");
    keyward(
        &[
            "audit",
            "verify",
            log.to_str().unwrap(),
            "--store",
            &store,
            "--key-file",
            key.to_str().unwrap(),
            "--key-name",
            "audit/mac",
            "--format",
            format,
        ],
        b"",
        &[],
    )
}

#[test]
fn audit_verify_passes_a_good_log_and_names_the_first_broken_line() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), 4);
    let log = dir.path().join("audit.log");

    let plain = keyward(&["audit", "verify", log.to_str().unwrap()], b"", &[]);
    assert!(plain.status.success(), "{}", stderr(&plain));
    let text = String::from_utf8(plain.stdout).unwrap();
    assert!(text.starts_with("ok: 4 entries"), "{text}");
    assert!(text.contains("no key"), "{text}");

    let keyed = verify_keyed(dir.path(), "json");
    assert!(keyed.status.success(), "{}", stderr(&keyed));
    let report: serde_json::Value = serde_json::from_slice(&keyed.stdout).unwrap();
    assert_eq!(report["entries"], 4);
    assert_eq!(report["last_seq"], 3);
    assert_eq!(report["macs_checked"], true);

    // The last line cut: only the key's stored head shows it.
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&log, format!("{}\n", lines[..3].join("\n"))).unwrap();
    let plain = keyward(&["audit", "verify", log.to_str().unwrap()], b"", &[]);
    assert!(plain.status.success(), "{}", stderr(&plain));
    assert_fails(&verify_keyed(dir.path(), "text"), "broken at line 4");

    // An edited line in the middle: found without the key, at the line after it.
    let edited = lines[1].replace("\"s1\"", "\"s7\"");
    let tampered = [lines[0], edited.as_str(), lines[2], lines[3]].join("\n");
    std::fs::write(&log, format!("{tampered}\n")).unwrap();
    let plain = keyward(&["audit", "verify", log.to_str().unwrap()], b"", &[]);
    assert_fails(&plain, "broken at line 3");
    assert_fails(
        &verify_keyed(dir.path(), "text"),
        "broken at line 2: MAC mismatch",
    );
}

#[test]
fn audit_verify_wants_a_key_name_with_a_store() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path(), 1);
    let log = dir.path().join("audit.log");
    let out = keyward(
        &["audit", "verify", log.to_str().unwrap(), "--store", "env"],
        b"",
        &[],
    );
    assert_fails(&out, "--key-name");
}

/// `--vault`: the vault's audit rows chained into the log are checked against it; an edited
/// row is named.
#[test]
fn a_vault_whose_rows_joined_the_chain_cross_checks_and_an_edited_row_is_named() {
    use keyward::secrets::{SecretValue, Selector, SqliteVault};
    let dir = tempfile::tempdir().unwrap();
    let master = dir.path().join("master.key");
    let out = keyward(
        &["key", "generate", "--out", master.to_str().unwrap()],
        b"",
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let db = dir.path().join("vault.db");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let keys: Arc<dyn SecretStore> = Arc::new(FileStore::new(
            dir.path().join("store.fernet"),
            KeyRing::new(load_key_file(&master).unwrap()),
        ));
        let clock = Arc::new(FixedClock::new(1_700_000_000_000));
        let log = AuditLog::open(dir.path().join("audit.log"), keys, "audit/mac", clock)
            .await
            .unwrap();
        let (vault, _) = SqliteVault::create(&db).unwrap();
        let vault = vault.with_audit_log(Arc::new(log)).unwrap();
        vault
            .put("bot", &SecretValue::bytes(b"v".to_vec()))
            .await
            .unwrap();
        vault.get("bot", &Selector::Current).await.unwrap();
    });
    let log = dir.path().join("audit.log");
    let args = |extra: &[&str]| {
        let mut all = vec![
            "audit",
            "verify",
            log.to_str().unwrap(),
            "--vault",
            db.to_str().unwrap(),
        ];
        all.extend_from_slice(extra);
        all.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()
    };
    let keyed = args(&[
        "--key-name",
        "audit/mac",
        "--store",
        &format!("file:{}", dir.path().join("store.fernet").display()),
        "--key-file",
        master.to_str().unwrap(),
    ]);
    for run in [args(&[]), keyed] {
        let run: Vec<&str> = run.iter().map(String::as_str).collect();
        let out = keyward(&run, b"", &[]);
        assert!(out.status.success(), "{}", stderr(&out));
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains("2 audit rows match their log entries"),
            "{text}"
        );
    }
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute(
        "UPDATE audit SET name = 'other' WHERE operation = 'get'",
        [],
    )
    .unwrap();
    drop(conn);
    let run = args(&[]);
    let run: Vec<&str> = run.iter().map(String::as_str).collect();
    let out = keyward(&run, b"", &[]);
    assert_fails(&out, "vault audit row 2 does not match audit log entry 1");
}
