//! The tamper-evident audit log: every edit, insertion, reordering, deletion and cut is found;
//! a chain rebuilt without the MAC key fails; concurrent appends stay one chain; no value is
//! ever written; the file is private.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

#[path = "common/flaky.rs"]
mod flaky;

use std::path::PathBuf;
use std::sync::Arc;

use flaky::Flaky;
use keyward_core_crypto::{FernetKey, FixedClock, KeyRing};
use keyward_secrets_backends::audit::{
    AuditError, AuditLog, Event, EventKind, MAX_LINE, Outcome, Problem, verify, verify_with_store,
};
use keyward_secrets_backends::{FileStore, SecretStore, SecretValue, Selector};

const KEY: &str = "audit/mac";
const T0: u64 = 1_700_000_000_000;

struct Fixture {
    _dir: tempfile::TempDir,
    log: PathBuf,
    store: Arc<dyn SecretStore>,
    clock: Arc<FixedClock>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn SecretStore> = Arc::new(FileStore::new(
        dir.path().join("store.fernet"),
        KeyRing::new(FernetKey::generate().unwrap()),
    ));
    Fixture {
        log: dir.path().join("audit.log"),
        _dir: dir,
        store,
        clock: Arc::new(FixedClock::new(T0)),
    }
}

impl Fixture {
    async fn open(&self) -> AuditLog {
        AuditLog::open(&self.log, self.store.clone(), KEY, self.clock.clone())
            .await
            .unwrap()
    }

    /// A log of `n` secret reads of `s0`, `s1` ...
    async fn write(&self, n: u64) {
        let log = self.open().await;
        for i in 0..n {
            let event = Event::new(EventKind::SecretRead, &format!("s{i}"), Outcome::Success);
            assert_eq!(log.append(&event.unwrap()).await.unwrap(), i);
            self.clock.advance(1);
        }
    }

    fn lines(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn rewrite(&self, lines: &[String]) {
        let mut text = lines.join("\n");
        if !lines.is_empty() {
            text.push('\n');
        }
        std::fs::write(&self.log, text).unwrap();
    }

    async fn keyed(&self) -> Result<u64, AuditError> {
        verify_with_store(&self.log, &*self.store, KEY)
            .await
            .map(|s| s.entries)
    }
}

/// The line and problem of a broken-log error.
fn broken(result: Result<impl std::fmt::Debug, AuditError>) -> (u64, Problem) {
    match result {
        Err(AuditError::Broken { line, problem, .. }) => (line, problem),
        other => panic!("expected a broken log, got {other:?}"),
    }
}

#[tokio::test]
async fn a_written_log_verifies_with_and_without_the_key() {
    let f = fixture();
    f.write(5).await;
    let summary = verify(&f.log).unwrap();
    assert_eq!(summary.entries, 5);
    assert!(!summary.keyed);
    assert_eq!(summary.last.as_ref().unwrap().seq, 4);
    assert_eq!(f.keyed().await.unwrap(), 5);
    let first: serde_json::Value = serde_json::from_str(&f.lines()[0]).unwrap();
    assert_eq!(first["seq"], 0);
    assert_eq!(first["time_ms"], T0);
    assert_eq!(first["event"], "secret_read");
    assert_eq!(first["subject"], "s0");
    assert_eq!(first["outcome"], "success");
    assert_eq!(first["prev"].as_str().unwrap().len(), 64);
    let second: serde_json::Value = serde_json::from_str(&f.lines()[1]).unwrap();
    assert_eq!(second["time_ms"], T0 + 1);
}

#[tokio::test]
async fn reopening_continues_the_chain_and_each_log_has_its_own_chain_id() {
    let f = fixture();
    f.write(3).await;
    let log = f.open().await;
    let event = Event::new(EventKind::Rotation, "s0", Outcome::Success).unwrap();
    assert_eq!(log.append(&event).await.unwrap(), 3);
    assert_eq!(f.keyed().await.unwrap(), 4);

    let g = fixture();
    g.write(1).await;
    assert_ne!(
        verify(&f.log).unwrap().chain_id,
        verify(&g.log).unwrap().chain_id
    );
}

#[tokio::test]
async fn an_edited_line_is_found() {
    let f = fixture();
    f.write(4).await;
    let mut lines = f.lines();
    lines[1] = lines[1].replace("\"s1\"", "\"s9\"");
    f.rewrite(&lines);
    // Without the key: the next line's prev no longer matches.
    assert_eq!(broken(verify(&f.log)), (3, Problem::ChainBroken));
    // With the key: the edited line itself.
    assert_eq!(broken(f.keyed().await), (2, Problem::MacMismatch));
}

#[tokio::test]
async fn an_edited_last_line_needs_the_key() {
    let f = fixture();
    f.write(3).await;
    let mut lines = f.lines();
    lines[2] = lines[2].replace("\"success\"", "\"failure\"");
    f.rewrite(&lines);
    assert_eq!(verify(&f.log).unwrap().entries, 3);
    assert_eq!(broken(f.keyed().await), (3, Problem::MacMismatch));
}

#[tokio::test]
async fn an_inserted_line_is_found() {
    let f = fixture();
    f.write(3).await;
    let mut lines = f.lines();
    let copy = lines[1].clone();
    lines.insert(2, copy);
    f.rewrite(&lines);
    assert_eq!(
        broken(verify(&f.log)),
        (
            3,
            Problem::Sequence {
                expected: 2,
                found: 1
            }
        )
    );
}

#[tokio::test]
async fn reordered_lines_are_found() {
    let f = fixture();
    f.write(4).await;
    let mut lines = f.lines();
    lines.swap(1, 2);
    f.rewrite(&lines);
    assert_eq!(
        broken(verify(&f.log)),
        (
            2,
            Problem::Sequence {
                expected: 1,
                found: 2
            }
        )
    );
}

#[tokio::test]
async fn a_deleted_line_is_found() {
    let f = fixture();
    f.write(4).await;
    let mut lines = f.lines();
    lines.remove(1);
    f.rewrite(&lines);
    assert_eq!(
        broken(verify(&f.log)),
        (
            2,
            Problem::Sequence {
                expected: 1,
                found: 2
            }
        )
    );
    // Deleting and renumbering is still a broken chain.
    let f = fixture();
    f.write(4).await;
    let mut lines = f.lines();
    lines.remove(1);
    lines[1] = lines[1].replace("\"seq\":2", "\"seq\":1");
    f.rewrite(&lines);
    assert_eq!(broken(verify(&f.log)), (2, Problem::ChainBroken));
}

#[tokio::test]
async fn a_cut_tail_is_found_with_the_key_only() {
    let f = fixture();
    f.write(5).await;
    let mut lines = f.lines();
    lines.truncate(3);
    f.rewrite(&lines);
    assert_eq!(verify(&f.log).unwrap().entries, 3);
    assert_eq!(
        broken(f.keyed().await),
        (
            4,
            Problem::Truncated {
                head_seq: 4,
                entries: 3
            }
        )
    );
    // The writer refuses to carry on from a cut log.
    let reopened = AuditLog::open(&f.log, f.store.clone(), KEY, f.clock.clone()).await;
    assert!(matches!(reopened, Err(AuditError::Broken { .. })));
}

#[tokio::test]
async fn an_emptied_or_deleted_log_is_found_with_the_key() {
    let f = fixture();
    f.write(2).await;
    f.rewrite(&[]);
    assert_eq!(verify(&f.log).unwrap().entries, 0);
    assert_eq!(
        broken(f.keyed().await),
        (
            1,
            Problem::Truncated {
                head_seq: 1,
                entries: 0
            }
        )
    );
    std::fs::remove_file(&f.log).unwrap();
    assert_eq!(
        broken(f.keyed().await),
        (
            1,
            Problem::Truncated {
                head_seq: 1,
                entries: 0
            }
        )
    );
}

#[tokio::test]
async fn a_chain_rebuilt_without_the_key_fails() {
    let f = fixture();
    f.write(3).await;
    // The forger writes a fresh, self-consistent chain of the same length under a key of their own.
    let forger = fixture();
    forger.write(3).await;
    std::fs::copy(&forger.log, &f.log).unwrap();
    assert_eq!(verify(&f.log).unwrap().entries, 3);
    assert_eq!(broken(f.keyed().await), (1, Problem::MacMismatch));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_stay_one_valid_chain() {
    let f = fixture();
    let log = Arc::new(f.open().await);
    let tasks: Vec<_> = (0..16)
        .map(|t| {
            let log = log.clone();
            tokio::spawn(async move {
                for i in 0..10 {
                    let event =
                        Event::new(EventKind::Login, &format!("user{t}-{i}"), Outcome::Success);
                    log.append(&event.unwrap()).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(verify(&f.log).unwrap().entries, 160);
    assert_eq!(f.keyed().await.unwrap(), 160);
}

#[tokio::test]
async fn a_secret_read_logs_its_name_never_its_value() {
    let f = fixture();
    let canary = "CANARY-9f3b2c-secret-value";
    f.store
        .put(
            "binance/main",
            &SecretValue::fields([("api_secret", canary)]),
        )
        .await
        .unwrap();
    let log = f.open().await;
    let secret = f
        .store
        .get("binance/main", &Selector::Current)
        .await
        .unwrap();
    let event = Event::new(EventKind::SecretRead, &secret.meta.name, Outcome::Success).unwrap();
    log.append(&event).await.unwrap();
    // A value passed as a subject by mistake is refused, and the error does not repeat it.
    let spaced = "sk live CANARY-9f3b2c";
    let refused = Event::new(EventKind::SecretRead, spaced, Outcome::Success).unwrap_err();
    assert!(!refused.to_string().contains("CANARY"));
    assert!(!format!("{refused:?}").contains("CANARY"));
    let text = std::fs::read_to_string(&f.log).unwrap();
    assert!(text.contains("\"binance/main\""));
    assert!(!text.contains("CANARY"));
    assert!(!format!("{log:?}").contains("CANARY"));
    assert_eq!(f.keyed().await.unwrap(), 1);
}

#[cfg(unix)]
#[tokio::test]
async fn the_file_is_private_and_links_are_refused() {
    use std::os::unix::fs::PermissionsExt;
    let f = fixture();
    f.write(1).await;
    let mode = std::fs::metadata(&f.log).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    std::fs::set_permissions(&f.log, std::fs::Permissions::from_mode(0o644)).unwrap();
    let opened = AuditLog::open(&f.log, f.store.clone(), KEY, f.clock.clone()).await;
    assert!(matches!(
        opened,
        Err(AuditError::File(
            keyward_core_crypto::Error::InsecurePermissions { .. }
        ))
    ));
    assert!(matches!(
        verify(&f.log),
        Err(AuditError::File(
            keyward_core_crypto::Error::InsecurePermissions { .. }
        ))
    ));

    let g = fixture();
    let target = g.log.with_file_name("real.log");
    std::fs::write(&target, b"").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::symlink(&target, &g.log).unwrap();
    let opened = AuditLog::open(&g.log, g.store.clone(), KEY, g.clock.clone()).await;
    assert!(matches!(
        opened,
        Err(AuditError::File(keyward_core_crypto::Error::Symlink { .. }))
    ));
    assert!(matches!(
        verify(&g.log),
        Err(AuditError::File(keyward_core_crypto::Error::Symlink { .. }))
    ));
    assert!(std::fs::read(&target).unwrap().is_empty());
}

#[tokio::test]
async fn a_torn_or_oversized_line_is_named() {
    let f = fixture();
    f.write(2).await;
    let text = std::fs::read_to_string(&f.log).unwrap();
    std::fs::write(&f.log, &text[..text.len() - 10]).unwrap();
    assert_eq!(broken(verify(&f.log)), (2, Problem::Incomplete));

    let mut lines = f.lines();
    lines.truncate(1);
    lines.push("x".repeat(MAX_LINE + 1));
    f.rewrite(&lines);
    assert_eq!(
        broken(verify(&f.log)),
        (2, Problem::TooLong { max: MAX_LINE })
    );

    lines[1] = "{\"seq\":1}".into();
    f.rewrite(&lines);
    assert!(matches!(
        broken(verify(&f.log)),
        (2, Problem::NotAnEntry { .. })
    ));
}

#[tokio::test]
async fn a_missing_key_is_an_error_not_a_pass() {
    let f = fixture();
    f.write(1).await;
    let result = verify_with_store(&f.log, &*f.store, "audit/other").await;
    assert!(matches!(result, Err(AuditError::BadKey { .. })));
}

#[tokio::test]
async fn a_failed_head_write_is_a_typed_error_and_the_chain_goes_on() {
    let f = fixture();
    let flaky = Arc::new(Flaky::new(f.store.clone()));
    let log = AuditLog::open(&f.log, flaky.clone(), KEY, f.clock.clone())
        .await
        .unwrap();
    let event = Event::new(EventKind::TokenGeneration, "session/abc", Outcome::Success).unwrap();
    assert_eq!(log.append(&event).await.unwrap(), 0);
    flaky.fail(true);
    let failed = log.append(&event).await.unwrap_err();
    assert!(matches!(failed, AuditError::Store(_)), "{failed:?}");
    flaky.fail(false);
    assert_eq!(log.append(&event).await.unwrap(), 2);
    assert_eq!(f.keyed().await.unwrap(), 3);
}

#[tokio::test]
async fn a_store_that_cannot_hold_the_key_is_a_typed_error() {
    let f = fixture();
    let flaky = Flaky::new(f.store.clone());
    flaky.fail(true);
    let flaky = Arc::new(flaky);
    let opened = AuditLog::open(&f.log, flaky, KEY, f.clock.clone()).await;
    assert!(matches!(opened, Err(AuditError::Store(_))));
}
