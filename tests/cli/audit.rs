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
