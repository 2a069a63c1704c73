//! `AuditedStore`: every read, write, rotation and revocation through it is one audit entry with
//! the secret's name and the outcome, never a value; a failing audit log is a warning and never
//! fails or changes a read.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

#[path = "common/flaky.rs"]
mod flaky;

use std::sync::Arc;

use flaky::{Captured, Flaky};
use keyward_core_crypto::secrecy::ExposeSecret;
use keyward_core_crypto::{FernetKey, FixedClock, KeyRing};
use keyward_secrets_backends::audit::{AuditLog, verify_with_store};
use keyward_secrets_backends::{
    AuditedStore, EnvStore, Error, FileStore, SecretStore, SecretValue, Selector,
};

const CANARY: &str = "CANARY-audited-9d41";
const KEY: &str = "audit/mac";

fn file_store(dir: &tempfile::TempDir, file: &str) -> Arc<dyn SecretStore> {
    Arc::new(FileStore::new(
        dir.path().join(file),
        KeyRing::new(FernetKey::generate().unwrap()),
    ))
}

fn canary() -> SecretValue {
    SecretValue::fields([("api_key", "k"), ("api_secret", CANARY)])
}

/// (event, subject, outcome) of each line of the log.
fn events(path: &std::path::Path) -> Vec<(String, String, String)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let s = |k: &str| v[k].as_str().unwrap().to_owned();
            (s("event"), s("subject"), s("outcome"))
        })
        .collect()
}

#[tokio::test]
async fn every_operation_is_one_entry_with_its_outcome_and_never_a_value() {
    let dir = tempfile::tempdir().unwrap();
    let inner = file_store(&dir, "secrets.fernet");
    let path = dir.path().join("audit.log");
    let log = Arc::new(
        AuditLog::open(&path, inner.clone(), KEY, Arc::new(FixedClock::new(1)))
            .await
            .unwrap(),
    );
    let store = AuditedStore::new(inner.clone(), log);

    store.put("bot", &canary()).await.unwrap();
    let read = store.get("bot", &Selector::Current).await.unwrap();
    assert_eq!(
        read.value.field("api_secret").unwrap().expose_secret(),
        CANARY
    );
    assert!(matches!(
        store.get("missing", &Selector::Current).await,
        Err(Error::NotFound { .. })
    ));
    store.revoke("bot", Some("leaked")).await.unwrap();
    assert!(matches!(
        store.get_fresh("bot").await,
        Err(Error::Revoked { .. })
    ));
    store.put("bot", &canary()).await.unwrap();
    let pending = store.put_pending("bot", &canary()).await.unwrap();
    store.promote("bot", &pending.version).await.unwrap();
    store.delete("bot").await.unwrap();
    // Listing and metadata are not recorded.
    store.list().await.unwrap();

    let row = |e: &str, s: &str, o: &str| (e.to_owned(), s.to_owned(), o.to_owned());
    assert_eq!(
        events(&path),
        [
            row("secret_write", "bot", "success"),
            row("secret_read", "bot", "success"),
            row("secret_read", "missing", "failure"),
            row("revocation", "bot", "success"),
            row("secret_read", "bot", "refused"),
            row("secret_write", "bot", "success"),
            row("secret_write", "bot", "success"),
            row("rotation", "bot", "success"),
            row("secret_write", "bot", "success"),
        ]
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains(CANARY) && !text.contains("leaked"), "{text}");
    assert_eq!(
        verify_with_store(&path, &*inner, KEY)
            .await
            .unwrap()
            .entries,
        9
    );
}

#[tokio::test]
async fn a_read_only_store_reports_revocation_unsupported_and_the_refusal_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let keys = file_store(&dir, "keys.fernet");
    let path = dir.path().join("audit.log");
    let log = Arc::new(
        AuditLog::open(&path, keys, KEY, Arc::new(FixedClock::new(1)))
            .await
            .unwrap(),
    );
    let env = EnvStore::from_vars(
        "KEYWARD",
        [("KEYWARD_BOT_API_SECRET".to_owned(), CANARY.to_owned())],
    );
    let store = AuditedStore::new(Arc::new(env), log);
    let err = store.revoke("bot", None).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Unsupported {
                store: "env",
                operation: "revocation"
            }
        ),
        "{err}"
    );
    assert_eq!(
        events(&path),
        [(
            "revocation".to_owned(),
            "bot".to_owned(),
            "refused".to_owned()
        )]
    );
}

#[tokio::test]
async fn a_failing_audit_log_is_a_warning_and_never_fails_a_read() {
    let dir = tempfile::tempdir().unwrap();
    let inner = file_store(&dir, "secrets.fernet");
    inner.put("bot", &canary()).await.unwrap();
    let keys = Arc::new(Flaky::new(file_store(&dir, "keys.fernet")));
    let path = dir.path().join("audit.log");
    let log = Arc::new(
        AuditLog::open(&path, keys.clone(), KEY, Arc::new(FixedClock::new(1)))
            .await
            .unwrap(),
    );
    let store = AuditedStore::new(inner, log);
    keys.fail(true);

    let captured = Captured::default();
    let _guard = captured.install();
    for _ in 0..3 {
        let read = store.get("bot", &Selector::Current).await.unwrap();
        assert_eq!(
            read.value.field("api_secret").unwrap().expose_secret(),
            CANARY
        );
    }
    store.revoke("bot", None).await.unwrap();
    assert!(matches!(
        store.get("bot", &Selector::Current).await,
        Err(Error::Revoked { .. })
    ));
    let logs = captured.text();
    assert_eq!(
        logs.matches("the audit log could not record an operation")
            .count(),
        5,
        "{logs}"
    );
    assert!(
        logs.contains("WARN") && logs.contains("secret=\"bot\""),
        "{logs}"
    );
    assert!(!logs.contains(CANARY), "{logs}");
}

#[tokio::test]
async fn a_subject_that_is_not_a_name_is_not_logged_and_the_call_is_answered() {
    let dir = tempfile::tempdir().unwrap();
    let inner = file_store(&dir, "secrets.fernet");
    let path = dir.path().join("audit.log");
    let log = Arc::new(
        AuditLog::open(&path, inner.clone(), KEY, Arc::new(FixedClock::new(1)))
            .await
            .unwrap(),
    );
    let store = AuditedStore::new(inner, log);
    let captured = Captured::default();
    let _guard = captured.install();
    let bad = format!("{CANARY} as a name");
    assert!(matches!(
        store.get(&bad, &Selector::Current).await,
        Err(Error::InvalidName { .. })
    ));
    assert!(events(&path).is_empty());
    let logs = captured.text();
    assert!(logs.contains("not audited"), "{logs}");
    assert!(!logs.contains(CANARY), "{logs}");
}
