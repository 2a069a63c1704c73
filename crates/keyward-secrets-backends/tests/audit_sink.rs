//! The audit sink: events queued without waiting are appended in order, a full queue drops
//! and counts instead of blocking, and the log still verifies.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use std::sync::Arc;

use keyward_core_crypto::{FernetKey, FixedClock, KeyRing};
use keyward_secrets_backends::audit::{AuditLog, AuditSink, Event, EventKind, Outcome};
use keyward_secrets_backends::{FileStore, SecretStore};

const KEY: &str = "audit/mac";

async fn log(dir: &tempfile::TempDir) -> (Arc<AuditLog>, Arc<dyn SecretStore>) {
    let store: Arc<dyn SecretStore> = Arc::new(FileStore::new(
        dir.path().join("store.fernet"),
        KeyRing::new(FernetKey::generate().unwrap()),
    ));
    let clock = Arc::new(FixedClock::new(1_700_000_000_000));
    let log = AuditLog::open(dir.path().join("audit.log"), store.clone(), KEY, clock)
        .await
        .unwrap();
    (Arc::new(log), store)
}

fn refusal(subject: &str) -> Event {
    Event::new(EventKind::VerifierRefusal, subject, Outcome::Refused).unwrap()
}

fn subjects(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["subject"].to_string())
        .collect()
}

#[tokio::test(flavor = "current_thread")]
async fn queued_events_are_appended_in_order_and_the_chain_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let (log, store) = log(&dir).await;
    let path = log.path().to_owned();
    let (sink, task) = AuditSink::spawn(log, 8);
    for name in ["a", "b", "c"] {
        assert!(sink.record(refusal(name)));
    }
    drop(sink);
    task.await.unwrap();
    assert_eq!(subjects(&path), ["\"a\"", "\"b\"", "\"c\""]);
    let summary = keyward_secrets_backends::audit::verify_with_store(&path, &*store, KEY)
        .await
        .unwrap();
    assert_eq!(summary.entries, 3);
}

/// On a current-thread runtime the draining task cannot run between two `record` calls, so a
/// queue of one is full after the first: the second is dropped and counted, without waiting.
#[tokio::test(flavor = "current_thread")]
async fn a_full_queue_drops_and_counts_instead_of_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = log(&dir).await;
    let path = log.path().to_owned();
    let (sink, task) = AuditSink::spawn(log, 1);
    assert!(sink.record(refusal("first")));
    assert!(!sink.record(refusal("second")));
    assert_eq!(sink.dropped(), 1);
    drop(sink);
    task.await.unwrap();
    assert_eq!(subjects(&path), ["\"first\""]);
}

#[tokio::test(flavor = "current_thread")]
async fn a_stopped_task_drops_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = log(&dir).await;
    let (sink, task) = AuditSink::spawn(log, 4);
    task.abort();
    let _ = task.await;
    assert!(!sink.record(refusal("late")));
    assert_eq!(sink.dropped(), 1);
}
