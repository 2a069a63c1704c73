//! Grouped read audit in the SQLite vault: concurrent readers' rows all reach the trail (and an
//! attached audit log's chain, which verifies), in the order of the operations, and a batch the
//! database refuses is reported to the next flush and written once it can be.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use std::sync::Arc;
use std::time::Duration;

use keyward_core_crypto::{FernetKey, FixedClock, KeyRing};
use keyward_secrets_backends::audit::{AuditKey, AuditLog, GroupConfig};
use keyward_secrets_backends::{FileStore, SecretStore, SecretValue, Selector, SqliteVault};

const READERS: usize = 8;
const READS: usize = 25;

fn value() -> SecretValue {
    SecretValue::fields([("api_key", "k"), ("api_secret", "s")])
}

fn grouped(dir: &tempfile::TempDir, config: GroupConfig) -> SqliteVault {
    let (vault, _) = SqliteVault::create(dir.path().join("vault.db")).unwrap();
    vault.with_grouped_read_audit(config).unwrap()
}

fn ops(vault: &SqliteVault) -> Vec<String> {
    vault
        .audit_log()
        .unwrap()
        .into_iter()
        .map(|e| e.operation)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_readers_leave_exactly_one_chained_entry_each() {
    let dir = tempfile::tempdir().unwrap();
    let keys: Arc<dyn SecretStore> = Arc::new(FileStore::new(
        dir.path().join("keys.fernet"),
        KeyRing::new(FernetKey::generate().unwrap()),
    ));
    let log_path = dir.path().join("audit.log");
    let log = AuditLog::open(
        &log_path,
        keys.clone(),
        "audit/mac",
        Arc::new(FixedClock::new(1)),
    )
    .await
    .unwrap();
    let vault = Arc::new(
        grouped(&dir, GroupConfig::default())
            .with_audit_log(Arc::new(log))
            .unwrap(),
    );
    vault.put("bot", &value()).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..READERS {
        let vault = vault.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..READS {
                vault.get("bot", &Selector::Current).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    vault.flush_read_audit().unwrap();
    let ops = ops(&vault);
    assert_eq!(ops.len(), 1 + READERS * READS);
    assert_eq!(ops[0], "put");
    assert!(ops[1..].iter().all(|op| op == "get"));
    // The grouped rows join the chain at the vault's next operations and chaining.
    vault.chain_pending().await;
    let key = AuditKey::load(&*keys, "audit/mac").await.unwrap().unwrap();
    let head = key.head(&*keys).await.unwrap();
    let check = vault
        .verify_audit_chain(&log_path, Some((&key, head.as_ref())))
        .unwrap();
    assert_eq!(check.rows_checked as usize, 1 + READERS * READS);
    assert_eq!(check.log.entries as usize, 1 + READERS * READS);
}

#[tokio::test]
async fn the_trail_keeps_the_order_of_reads_and_writes() {
    let dir = tempfile::tempdir().unwrap();
    let vault = grouped(&dir, GroupConfig::default());
    vault.put("a", &value()).await.unwrap();
    vault.get("a", &Selector::Current).await.unwrap();
    vault.get("a", &Selector::Current).await.unwrap();
    vault.put("a", &value()).await.unwrap();
    vault.get("a", &Selector::Current).await.unwrap();
    vault.delete("a").await.unwrap();
    assert_eq!(ops(&vault), ["put", "get", "get", "put", "get", "delete"]);
}

#[tokio::test]
async fn dropping_the_vault_commits_the_queued_rows() {
    let dir = tempfile::tempdir().unwrap();
    let vault = grouped(&dir, GroupConfig::default());
    vault.put("a", &value()).await.unwrap();
    for _ in 0..10 {
        vault.get("a", &Selector::Current).await.unwrap();
    }
    drop(vault);
    let conn = rusqlite::Connection::open(dir.path().join("vault.db")).unwrap();
    let gets: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM audit WHERE operation = 'get'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(gets, 10);
}

#[tokio::test]
async fn a_batch_the_database_refuses_is_reported_to_flush_and_written_later() {
    let dir = tempfile::tempdir().unwrap();
    let vault = grouped(
        &dir,
        GroupConfig {
            retry_after: Duration::from_secs(600),
            ..GroupConfig::default()
        },
    );
    vault.put("a", &value()).await.unwrap();
    let other = rusqlite::Connection::open(dir.path().join("vault.db")).unwrap();
    other
        .execute_batch("ALTER TABLE audit RENAME TO audit_away")
        .unwrap();
    // The read is answered; its row cannot be written.
    vault.get("a", &Selector::Current).await.unwrap();
    let err = vault.flush_read_audit().unwrap_err();
    assert!(err.to_string().contains("audit"), "{err}");
    other
        .execute_batch("ALTER TABLE audit_away RENAME TO audit")
        .unwrap();
    vault.flush_read_audit().unwrap();
    assert_eq!(ops(&vault), ["put", "get"]);
}
