//! The vault's audit table joins an audit log's hash chain: each row carries its entry's
//! sequence number and line hash, and the check finds an edited row or an edited log line.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

#[path = "common/flaky.rs"]
mod flaky;

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use flaky::{Captured, Flaky};
use keyward_core_crypto::{FernetKey, FixedClock, KeyRing};
use keyward_secrets_backends::audit::{AuditError, AuditKey, AuditLog, Problem};
use keyward_secrets_backends::sqlite::VAULT_SUBJECT;
use keyward_secrets_backends::{FileStore, SecretStore, SecretValue, Selector, SqliteVault};

const KEY: &str = "audit/mac";
const CANARY: &str = "CANARY-vault-chain-51c2";

struct Fixture {
    _dir: tempfile::TempDir,
    db: PathBuf,
    log: PathBuf,
    keys: Arc<dyn SecretStore>,
    vault: SqliteVault,
    key_file: PathBuf,
}

async fn fixture(keys: Option<Arc<dyn SecretStore>>) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let keys = keys.unwrap_or_else(|| {
        Arc::new(FileStore::new(
            dir.path().join("keys.fernet"),
            KeyRing::new(FernetKey::generate().unwrap()),
        ))
    });
    let db = dir.path().join("vault.db");
    let (vault, key_file) = SqliteVault::create(&db).unwrap();
    // A row written before the log is attached stays out of the chain.
    vault.put("before", &value()).await.unwrap();
    let log = dir.path().join("audit.log");
    let audit = AuditLog::open(&log, keys.clone(), KEY, Arc::new(FixedClock::new(1)))
        .await
        .unwrap();
    let vault = vault.with_audit_log(Arc::new(audit)).unwrap();
    Fixture {
        _dir: dir,
        db,
        log,
        keys,
        vault,
        key_file,
    }
}

fn value() -> SecretValue {
    SecretValue::fields([("api_key", "k"), ("api_secret", CANARY)])
}

impl Fixture {
    async fn work(&self) {
        let v = &self.vault;
        v.put("bot", &value()).await.unwrap();
        v.get("bot", &Selector::Current).await.unwrap();
        v.revoke("bot", Some("leaked")).await.unwrap();
        v.put("bot", &value()).await.unwrap();
        let pending = v.put_pending("bot", &value()).await.unwrap();
        v.promote("bot", &pending.version).await.unwrap();
        v.delete("before").await.unwrap();
        v.rotate_key_file(&self.key_file, |_| ControlFlow::Continue(()))
            .unwrap();
        assert_eq!(v.chain_pending().await, 1, "the rotation's row");
    }

    async fn key(&self) -> (AuditKey, Option<keyward_secrets_backends::audit::Head>) {
        let key = AuditKey::load(&*self.keys, KEY).await.unwrap().unwrap();
        let head = key.head(&*self.keys).await.unwrap();
        (key, head)
    }

    async fn check(&self) -> Result<keyward_secrets_backends::sqlite::ChainCheck, AuditError> {
        let (key, head) = self.key().await;
        self.vault
            .verify_audit_chain(&self.log, Some((&key, head.as_ref())))
    }

    fn sql(&self, statement: &str) {
        let conn = rusqlite::Connection::open(&self.db).unwrap();
        assert_eq!(conn.execute(statement, []).unwrap(), 1, "{statement}");
    }
}

fn log_events(path: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["event"].as_str().unwrap().to_owned(),
                v["subject"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn every_row_written_after_attaching_is_an_entry_of_the_chain() {
    let f = fixture(None).await;
    f.work().await;
    let rows = f.vault.audit_log().unwrap();
    let ops: Vec<_> = rows.iter().map(|r| r.operation.as_str()).collect();
    assert_eq!(
        ops,
        [
            "put",
            "put",
            "get",
            "revoke",
            "put",
            "put_pending",
            "promote",
            "delete",
            "rotate_master_key"
        ]
    );
    assert_eq!(
        rows[0].chain_seq, None,
        "written before the log was attached"
    );
    let seqs: Vec<_> = rows[1..].iter().map(|r| r.chain_seq.unwrap()).collect();
    assert_eq!(seqs, (0..8).collect::<Vec<u64>>());
    assert!(
        rows[1..]
            .iter()
            .all(|r| r.chain_hash.as_ref().unwrap().len() == 64)
    );
    let pair = |e: &str, s: &str| (e.to_owned(), s.to_owned());
    assert_eq!(
        log_events(&f.log),
        [
            pair("secret_write", "bot"),
            pair("secret_read", "bot"),
            pair("revocation", "bot"),
            pair("secret_write", "bot"),
            pair("secret_write", "bot"),
            pair("rotation", "bot"),
            pair("secret_write", "before"),
            pair("rotation", VAULT_SUBJECT),
        ]
    );
    let check = f.check().await.unwrap();
    assert_eq!((check.rows_checked, check.rows_unchained), (8, 1));
    assert_eq!(check.log.entries, 8);
    assert!(check.log.keyed);
    // Without the key: the chain and the rows still cross-check.
    let unkeyed = f.vault.verify_audit_chain(&f.log, None).unwrap();
    assert_eq!(unkeyed.rows_checked, 8);
    let text = std::fs::read_to_string(&f.log).unwrap();
    assert!(!text.contains(CANARY) && !text.contains("leaked"));
}

#[tokio::test]
async fn an_edited_vault_row_is_found() {
    for (edit, problem) in [
        (
            "UPDATE audit SET name = 'other' WHERE id = 3",
            "the entry's subject is not the row's secret name",
        ),
        (
            "UPDATE audit SET operation = 'put' WHERE id = 3",
            "the entry's event is not the row's operation",
        ),
        (
            "UPDATE audit SET chain_hash = replace(chain_hash, substr(chain_hash, 1, 1), 'x') WHERE id = 3",
            "the entry's line hash differs from the row's",
        ),
        (
            "UPDATE audit SET chain_seq = 99 WHERE id = 3",
            "the log has no entry with that sequence number",
        ),
    ] {
        let f = fixture(None).await;
        f.work().await;
        f.sql(edit);
        let err = f.check().await.unwrap_err();
        assert!(
            matches!(err, AuditError::VaultRow { row: 3, problem: p, .. } if p == problem),
            "{edit}: {err}"
        );
        assert!(err.to_string().contains("vault audit row 3"), "{err}");
    }
}

#[tokio::test]
async fn an_edited_log_line_is_found() {
    let f = fixture(None).await;
    f.work().await;
    let text = std::fs::read_to_string(&f.log).unwrap();
    let edited = text.replacen("\"subject\":\"bot\"", "\"subject\":\"bat\"", 1);
    std::fs::write(&f.log, edited).unwrap();
    let err = f.check().await.unwrap_err();
    assert!(
        matches!(
            err,
            AuditError::Broken {
                line: 1,
                problem: Problem::MacMismatch,
                ..
            }
        ),
        "{err}"
    );
    let err = f.vault.verify_audit_chain(&f.log, None).unwrap_err();
    assert!(
        matches!(
            err,
            AuditError::Broken {
                line: 2,
                problem: Problem::ChainBroken,
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn a_failing_log_store_never_fails_a_vault_read() {
    let dir = tempfile::tempdir().unwrap();
    let flaky = Arc::new(Flaky::new(Arc::new(FileStore::new(
        dir.path().join("keys.fernet"),
        KeyRing::new(FernetKey::generate().unwrap()),
    ))));
    let f = fixture(Some(flaky.clone())).await;
    f.vault.put("bot", &value()).await.unwrap();
    flaky.fail(true);
    let captured = Captured::default();
    let _guard = captured.install();
    let read = f.vault.get("bot", &Selector::Current).await.unwrap();
    assert!(read.value.field("api_secret").is_some());
    let logs = captured.text();
    assert!(logs.contains("head could not be stored"), "{logs}");
    assert!(!logs.contains(CANARY), "{logs}");
    // The line was written and the row chained; only the head lags, which is not a cut.
    let rows = f.vault.audit_log().unwrap();
    assert_eq!(rows.last().unwrap().chain_seq, Some(1));
    flaky.fail(false);
    assert_eq!(f.check().await.unwrap().rows_checked, 2);
}
