//! The SQLite vault: migrations, versions and stages, the audit trail, rotation age, file
//! permissions and master-key rotation (complete, cancelled halfway, failed halfway).
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use keyward_core_crypto::{FernetKey, KeyRing};
use keyward_secrets_backends::sqlite::{RotationProgress, SCHEMA_VERSION};
use keyward_secrets_backends::{
    Clock, Error, RotationPolicy, SecretStore, SecretValue, Selector, SqliteVault,
};
use secrecy::ExposeSecret;

const DAY: Duration = Duration::from_secs(86_400);

fn key() -> FernetKey {
    FernetKey::generate().unwrap()
}

fn new_vault(dir: &Path, ring: KeyRing) -> (SqliteVault, PathBuf) {
    let path = dir.join("vault.db");
    (SqliteVault::create_with_ring(&path, ring).unwrap(), path)
}

fn value(n: usize) -> SecretValue {
    SecretValue::fields([("api_key", "key"), ("api_secret", &format!("secret-{n}"))])
}

fn secret_of(v: &SecretValue) -> String {
    v.field("api_secret").unwrap().expose_secret().to_owned()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A clock the test moves by hand.
#[derive(Debug)]
struct ManualWallClock(AtomicU64);

impl ManualWallClock {
    fn at(t: SystemTime) -> Arc<Self> {
        let secs = t.duration_since(UNIX_EPOCH).unwrap().as_secs();
        Arc::new(Self(AtomicU64::new(secs)))
    }
    fn advance(&self, by: Duration) {
        self.0.fetch_add(by.as_secs(), Ordering::SeqCst);
    }
}

impl Clock for ManualWallClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst) * 1000
    }
}

#[tokio::test]
async fn an_empty_file_is_migrated_to_the_current_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.db");
    std::fs::write(&path, b"").unwrap();
    #[cfg(unix)]
    chmod(&path, 0o600);
    let ring = KeyRing::new(key());
    let vault = SqliteVault::open(&path, ring.clone()).unwrap();
    assert_eq!(vault.schema_version().unwrap(), SCHEMA_VERSION);
    assert!(vault.list().await.unwrap().is_empty());
    vault.put("a", &value(1)).await.unwrap();
    drop(vault);

    let conn = rusqlite::Connection::open(&path).unwrap();
    let journal: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(journal, "wal");
    let mut tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    tables.sort();
    assert_eq!(
        tables,
        ["audit", "master_key", "secrets", "stages", "versions"]
    );
    drop(conn);

    // Reopening is a no-op migration and keeps the data.
    let vault = SqliteVault::open(&path, ring).unwrap();
    assert_eq!(
        secret_of(&vault.get("a", &Selector::Current).await.unwrap().value),
        "secret-1"
    );
}

#[tokio::test]
async fn a_database_from_a_newer_build_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (vault, path) = new_vault(dir.path(), KeyRing::new(key()));
    drop(vault);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 1000).unwrap();
    drop(conn);
    let err = SqliteVault::open(&path, KeyRing::new(key())).unwrap_err();
    assert!(
        matches!(err, Error::SchemaTooNew { found: 1000, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("upgrade keyward"), "{err}");
}

#[tokio::test]
async fn versions_keep_history_and_stages_move() {
    let dir = tempfile::tempdir().unwrap();
    let (vault, _) = new_vault(dir.path(), KeyRing::new(key()));
    assert_eq!(vault.kind(), "sqlite");
    for n in 1..=3 {
        let meta = vault.put("venue/key", &value(n)).await.unwrap();
        assert_eq!(meta.version, n.to_string());
        assert_eq!(meta.stages, ["current"]);
    }
    let versions = vault.versions("venue/key").await.unwrap();
    let stages: Vec<_> = versions.iter().map(|m| m.stages.clone()).collect();
    assert_eq!(
        stages,
        [
            vec![],
            vec!["previous".to_owned()],
            vec!["current".to_owned()]
        ]
    );
    for n in 1..=3 {
        let got = vault
            .get("venue/key", &Selector::Version(n.to_string()))
            .await
            .unwrap();
        assert_eq!(secret_of(&got.value), format!("secret-{n}"));
    }
    let prev = vault
        .get("venue/key", &Selector::Stage("previous".into()))
        .await
        .unwrap();
    assert_eq!(secret_of(&prev.value), "secret-2");

    // Rotation through a pending version.
    let pending = vault.put_pending("venue/key", &value(4)).await.unwrap();
    assert_eq!(pending.stages, ["pending"]);
    assert_eq!(
        secret_of(
            &vault
                .get("venue/key", &Selector::Current)
                .await
                .unwrap()
                .value
        ),
        "secret-3"
    );
    vault.promote("venue/key", &pending.version).await.unwrap();
    let current = vault.metadata("venue/key").await.unwrap();
    assert_eq!(
        (current.version.as_str(), current.stages.clone()),
        ("4", vec!["current".to_owned()])
    );
    let prev = vault
        .get("venue/key", &Selector::Stage("previous".into()))
        .await
        .unwrap();
    assert_eq!(prev.meta.version, "3");
    assert!(matches!(
        vault
            .get("venue/key", &Selector::Stage("pending".into()))
            .await,
        Err(Error::NotFound { .. })
    ));

    // Bytes values, missing versions, listing and deletion.
    vault
        .put("raw", &SecretValue::bytes(vec![0, 255, 7]))
        .await
        .unwrap();
    assert!(
        vault
            .get("raw", &Selector::Current)
            .await
            .unwrap()
            .value
            .same_as(&SecretValue::bytes(vec![0, 255, 7]))
    );
    for missing in ["9", "x", "-1"] {
        let err = vault
            .get("raw", &Selector::Version(missing.into()))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }), "{err}");
    }
    assert!(matches!(
        vault.promote("raw", "9").await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(vault.list().await.unwrap(), ["raw", "venue/key"]);
    vault.delete("venue/key").await.unwrap();
    assert_eq!(vault.list().await.unwrap(), ["raw"]);
    assert!(matches!(
        vault.versions("venue/key").await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        vault.delete("venue/key").await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        vault.put("bad name", &value(0)).await,
        Err(Error::InvalidName { .. })
    ));
}

#[tokio::test]
async fn rows_record_the_sealing_key_and_another_ring_cannot_read() {
    let dir = tempfile::tempdir().unwrap();
    let ring = KeyRing::new(key());
    let (vault, path) = new_vault(dir.path(), ring.clone());
    vault.put("a", &value(1)).await.unwrap();
    drop(vault);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let key_id: String = conn
        .query_row("SELECT key_id FROM versions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(key_id, ring.primary_id().to_string());
    drop(conn);
    let stranger = SqliteVault::open(&path, KeyRing::new(key())).unwrap();
    let err = stranger.get("a", &Selector::Current).await.unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains(&key_id), "{err}");
}

#[tokio::test]
async fn the_audit_trail_records_operations_and_never_a_value() {
    const CANARY: &str = "CANARY-7f3e9a";
    let dir = tempfile::tempdir().unwrap();
    let (vault, path) = new_vault(dir.path(), KeyRing::new(key()));
    let secret = SecretValue::fields([("api_key", CANARY), ("api_secret", CANARY)]);
    vault.put("venue/key", &secret).await.unwrap();
    let pending = vault.put_pending("venue/key", &secret).await.unwrap();
    vault.promote("venue/key", &pending.version).await.unwrap();
    vault.get("venue/key", &Selector::Current).await.unwrap();
    vault.delete("venue/key").await.unwrap();

    let log = vault.audit_log().unwrap();
    let ops: Vec<_> = log.iter().map(|e| e.operation.as_str()).collect();
    assert_eq!(ops, ["put", "put_pending", "promote", "get", "delete"]);
    assert!(log.iter().all(|e| e.name.as_deref() == Some("venue/key")));
    assert!(log.iter().all(|e| e.pid == std::process::id()));
    drop(vault);

    // Scan every column of every audit row for the canary.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mut stmt = conn.prepare("SELECT * FROM audit").unwrap();
    let columns = stmt.column_count();
    let mut rows = stmt.query([]).unwrap();
    let mut seen = 0;
    while let Some(row) = rows.next().unwrap() {
        for i in 0..columns {
            let cell = match row.get_ref(i).unwrap() {
                rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                    String::from_utf8_lossy(t).into_owned()
                }
                other => format!("{other:?}"),
            };
            assert!(!cell.contains(CANARY), "audit column {i} holds the value");
            seen += 1;
        }
    }
    assert_eq!(seen, 5 * columns);
}

#[tokio::test]
async fn rotation_is_due_after_the_policy_age() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = UNIX_EPOCH + 20_000 * DAY;
    let clock = ManualWallClock::at(t0);
    let (vault, _) = new_vault(dir.path(), KeyRing::new(key()));
    let vault = vault.with_clock(clock.clone());
    vault.put("old", &value(1)).await.unwrap();
    assert_eq!(
        vault.metadata("old").await.unwrap().rotation_due,
        Some(false)
    );

    clock.advance(60 * DAY);
    vault.put("young", &value(1)).await.unwrap();
    clock.advance(30 * DAY);
    assert_eq!(
        vault.metadata("old").await.unwrap().rotation_due,
        Some(false),
        "exactly 90 days"
    );
    clock.advance(DAY);
    assert_eq!(
        vault.metadata("old").await.unwrap().rotation_due,
        Some(true)
    );
    assert_eq!(
        vault.metadata("young").await.unwrap().rotation_due,
        Some(false)
    );
    let ages = vault.credential_ages().unwrap();
    assert_eq!(ages.len(), 2);
    assert_eq!(
        (ages[0].name.as_str(), ages[0].due, ages[0].age),
        ("old", true, Some(91 * DAY))
    );
    assert_eq!(
        (ages[1].name.as_str(), ages[1].due, ages[1].age),
        ("young", false, Some(31 * DAY))
    );

    // A pending version does not reset the age; promoting it does.
    let pending = vault.put_pending("old", &value(2)).await.unwrap();
    assert_eq!(pending.rotation_due, Some(true));
    vault.promote("old", &pending.version).await.unwrap();
    assert_eq!(
        vault.metadata("old").await.unwrap().rotation_due,
        Some(false)
    );

    // A configured policy.
    let vault = vault.with_rotation_policy(RotationPolicy::max_age(30 * DAY));
    assert_eq!(
        vault.metadata("young").await.unwrap().rotation_due,
        Some(true)
    );
    assert_eq!(
        vault.metadata("old").await.unwrap().rotation_due,
        Some(false)
    );
}

fn fill(vault: &SqliteVault, rows: usize) {
    let values: Vec<(String, SecretValue)> =
        (0..rows).map(|n| (format!("s/{n}"), value(n))).collect();
    vault
        .put_many(values.iter().map(|(n, v)| (n.as_str(), v)))
        .unwrap();
}

async fn assert_all_readable(vault: &SqliteVault, rows: usize) {
    for n in 0..rows {
        let got = vault
            .get(&format!("s/{n}"), &Selector::Current)
            .await
            .unwrap();
        assert_eq!(secret_of(&got.value), format!("secret-{n}"));
    }
}

fn key_ids(path: &Path) -> Vec<(String, i64)> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT key_id, COUNT(*) FROM versions GROUP BY key_id ORDER BY key_id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[tokio::test]
async fn master_key_rotation_re_encrypts_ten_thousand_rows() {
    const ROWS: usize = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (key(), key());
    let (vault, path) = new_vault(dir.path(), KeyRing::new(old.clone()));
    let vault = vault.with_read_audit(false);
    fill(&vault, ROWS);

    let ring = KeyRing::from_keys([new.clone(), old.clone()]).unwrap();
    let mut reports = Vec::new();
    let rotated = vault
        .rotate_master_key(&ring, |p| {
            reports.push(p);
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(rotated, ROWS as u64);
    assert_eq!(reports.len(), ROWS);
    assert_eq!(
        reports.last(),
        Some(&RotationProgress {
            done: ROWS as u64,
            total: ROWS as u64
        })
    );
    assert!(reports.windows(2).all(|w| w[1].done == w[0].done + 1));
    assert_eq!(key_ids(&path), [(new.id().to_string(), ROWS as i64)]);
    assert_eq!(
        vault.audit_log().unwrap().last().unwrap().operation,
        "rotate_master_key"
    );
    drop(vault);

    // The new key alone now opens every row; the old key alone opens none.
    let vault = SqliteVault::open(&path, KeyRing::new(new)).unwrap();
    assert_all_readable(&vault, ROWS).await;
    let stale = SqliteVault::open(&path, KeyRing::new(old)).unwrap();
    assert!(matches!(
        stale.get("s/0", &Selector::Current).await,
        Err(Error::Corrupt { .. })
    ));
}

#[tokio::test]
async fn a_rotation_stopped_halfway_leaves_the_vault_fully_old() {
    const ROWS: usize = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (key(), key());
    let (vault, path) = new_vault(dir.path(), KeyRing::new(old.clone()));
    fill(&vault, ROWS);

    let ring = KeyRing::from_keys([new.clone(), old.clone()]).unwrap();
    let err = vault
        .rotate_master_key(&ring, |p| {
            if p.done == 5_000 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::RotationAborted {
                done: 5_000,
                total: 10_000
            }
        ),
        "{err}"
    );
    assert_eq!(key_ids(&path), [(old.id().to_string(), ROWS as i64)]);
    // The same vault goes on with the old ring.
    assert_all_readable(&vault, 10).await;
    drop(vault);

    let vault = SqliteVault::open(&path, KeyRing::new(old))
        .unwrap()
        .with_read_audit(false);
    assert_all_readable(&vault, ROWS).await;
    let count: usize = vault.list().await.unwrap().len();
    assert_eq!(count, ROWS, "no row lost");
    let new_only = SqliteVault::open(&path, KeyRing::new(new)).unwrap();
    assert!(matches!(
        new_only.get("s/0", &Selector::Current).await,
        Err(Error::Corrupt { .. })
    ));
    assert!(matches!(
        new_only.get("s/9999", &Selector::Current).await,
        Err(Error::Corrupt { .. })
    ));
}

#[tokio::test]
async fn a_rotation_failing_halfway_is_rolled_back() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new, stranger) = (key(), key(), key());
    let (vault, path) = new_vault(dir.path(), KeyRing::new(old.clone()));
    fill(&vault, 100);
    drop(vault);
    // Row 101 sealed by a key the new ring does not hold, as a wrong key could write before
    // the vault recorded its key (schema 3): the rotation fails there, for real.
    let stray = KeyRing::new(stranger);
    let conn = rusqlite::Connection::open(&path).unwrap();
    for (name, version) in [("s/50", 2), ("s/zz", 1)] {
        conn.execute(
            "INSERT OR IGNORE INTO secrets(name, created) VALUES (?1, 0)",
            [name],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO versions(name, version, created, key_id, token) \
             VALUES (?1, ?2, 0, ?3, ?4)",
            rusqlite::params![
                name,
                version,
                stray.primary_id().to_string(),
                stray.encrypt(b"x")
            ],
        )
        .unwrap();
    }
    drop(conn);

    let vault = SqliteVault::open(&path, KeyRing::new(old.clone()))
        .unwrap()
        .with_read_audit(false);
    let ring = KeyRing::from_keys([new, old.clone()]).unwrap();
    let mut seen = 0;
    let err = vault
        .rotate_master_key(&ring, |p| {
            seen = p.done;
            ControlFlow::Continue(())
        })
        .unwrap_err();
    assert!(
        matches!(&err, Error::Corrupt { name, .. } if name == "s/50"),
        "{err}"
    );
    assert_eq!(seen, 100, "failed on the 101st row");
    let ids = key_ids(&path);
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(ids.contains(&(old.id().to_string(), 100)), "{ids:?}");
    assert_all_readable(&vault, 50).await;
    assert_eq!(
        vault
            .audit_log()
            .unwrap()
            .iter()
            .filter(|e| e.operation == "rotate_master_key")
            .count(),
        0
    );
}

#[tokio::test]
async fn key_file_rotation_swaps_the_key_file_and_survives_an_interruption() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    let (vault, key_path) = SqliteVault::create(&path).unwrap();
    assert_eq!(key_path, SqliteVault::key_path(&path));
    vault
        .put_many([("a", &value(1)), ("b", &value(2))])
        .unwrap();
    let old_key = std::fs::read(&key_path).unwrap();

    // Cancelled halfway: rolled back, and the new key is removed with it (crashes between the
    // steps are in tests/vault_keys.rs).
    let err = vault
        .rotate_key_file(&key_path, |_| ControlFlow::Break(()))
        .unwrap_err();
    assert!(matches!(err, Error::RotationAborted { .. }), "{err}");
    let next = PathBuf::from(format!("{}.next", key_path.display()));
    assert!(!next.exists());
    assert_eq!(std::fs::read(&key_path).unwrap(), old_key);
    drop(vault);
    let vault = SqliteVault::open_with_key_file(&path, &key_path).unwrap();
    assert_eq!(
        secret_of(&vault.get("a", &Selector::Current).await.unwrap().value),
        "secret-1"
    );

    // Running it again does the job.
    assert_eq!(
        vault
            .rotate_key_file(&key_path, |_| ControlFlow::Continue(()))
            .unwrap(),
        2
    );
    let next_key = std::fs::read(&key_path).unwrap();
    assert!(!next.exists());
    assert_ne!(next_key, old_key);
    #[cfg(unix)]
    assert_eq!(mode(&key_path), 0o600);
    assert_eq!(
        secret_of(&vault.get("b", &Selector::Current).await.unwrap().value),
        "secret-2"
    );
    drop(vault);
    let vault = SqliteVault::open_with_key_file(&path, &key_path).unwrap();
    assert_eq!(
        secret_of(&vault.get("b", &Selector::Current).await.unwrap().value),
        "secret-2"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn new_files_are_private_and_loose_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    let (vault, key_path) = SqliteVault::create(&path).unwrap();
    vault.put("a", &value(1)).await.unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&key_path), 0o600);
    // While the vault is open, SQLite's side files exist and take the database's mode.
    for side in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{side}", path.display()));
        assert_eq!(mode(&side), 0o600, "{}", side.display());
    }
    drop(vault);
    assert!(matches!(
        SqliteVault::create(&path),
        Err(Error::Crypto(
            keyward_core_crypto::Error::AlreadyExists { .. }
        ))
    ));

    chmod(&key_path, 0o644);
    let err = SqliteVault::open_with_key_file(&path, &key_path).unwrap_err();
    let shown = err.to_string();
    assert!(
        shown.contains("(mode 0644); run chmod 600") && shown.contains("vault.db.key"),
        "{shown}"
    );
    chmod(&key_path, 0o600);

    chmod(&path, 0o644);
    let err = SqliteVault::open_with_key_file(&path, &key_path).unwrap_err();
    let shown = err.to_string();
    assert!(
        matches!(
            err,
            Error::Crypto(keyward_core_crypto::Error::InsecurePermissions { mode: 0o644, .. })
        ),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("run chmod 600 {}", path.display())),
        "{shown}"
    );
    chmod(&path, 0o640);
    assert!(SqliteVault::open(&path, KeyRing::new(key())).is_err());
    chmod(&path, 0o600);

    let link = dir.path().join("link.db");
    std::os::unix::fs::symlink(&path, &link).unwrap();
    assert!(matches!(
        SqliteVault::open(&link, KeyRing::new(key())),
        Err(Error::Crypto(keyward_core_crypto::Error::Symlink { .. }))
    ));
    let vault = SqliteVault::open_with_key_file(&path, &key_path).unwrap();
    assert_eq!(
        secret_of(&vault.get("a", &Selector::Current).await.unwrap().value),
        "secret-1"
    );
}

#[tokio::test]
async fn a_missing_vault_is_not_created_by_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typo.db");
    let err = SqliteVault::open(&path, KeyRing::new(key())).unwrap_err();
    assert!(err.to_string().contains("typo.db"), "{err}");
    assert!(!path.exists());
}

#[tokio::test]
async fn debug_shows_no_key_material() {
    let dir = tempfile::tempdir().unwrap();
    let k = key();
    let (vault, _) = new_vault(dir.path(), KeyRing::new(k.clone()));
    let shown = format!("{vault:?}");
    assert!(!shown.contains(k.expose_base64().as_str()), "{shown}");
    assert!(shown.contains("vault.db"), "{shown}");
}

#[test]
fn several_connections_write_one_vault_at_once() {
    const WRITERS: usize = 4;
    const PUTS: usize = 25;
    let dir = tempfile::tempdir().unwrap();
    let ring = KeyRing::new(key());
    let (vault, path) = new_vault(dir.path(), ring.clone());
    drop(vault);
    let threads: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (path, ring) = (path.clone(), ring.clone());
            std::thread::spawn(move || {
                let vault = SqliteVault::open(&path, ring).unwrap();
                let rt = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap();
                for n in 0..PUTS {
                    rt.block_on(vault.put("shared", &value(w * PUTS + n)))
                        .unwrap();
                    rt.block_on(vault.put(&format!("own/{w}"), &value(n)))
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let vault = SqliteVault::open(&path, ring).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let versions = rt.block_on(vault.versions("shared")).unwrap();
    assert_eq!(
        versions.len(),
        WRITERS * PUTS,
        "no write lost, no version number reused"
    );
    let mut seen: Vec<usize> = versions
        .iter()
        .map(|m| {
            let got = rt
                .block_on(vault.get("shared", &Selector::Version(m.version.clone())))
                .unwrap();
            secret_of(&got.value)["secret-".len()..].parse().unwrap()
        })
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..WRITERS * PUTS).collect::<Vec<_>>());
    for w in 0..WRITERS {
        assert_eq!(
            rt.block_on(vault.versions(&format!("own/{w}")))
                .unwrap()
                .len(),
            PUTS
        );
    }
    let current: Vec<_> = versions
        .iter()
        .filter(|m| m.stages == ["current"])
        .collect();
    assert_eq!(current.len(), 1);
}
