//! The vault's master key against other processes and wrong key files (issue 13, findings 3
//! and 5), its files against planted symbolic links (finding 17) and deleted ciphertext against
//! the raw file (finding 21).
//!
//! Two `SqliteVault` handles on one file are two processes' views of it: each has its own
//! connection and its own key ring, as a `keyward secret put` and a `keyward vault rotate-key`
//! running at once do. The steps are ordered explicitly; nothing races.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use keyward_core_crypto::keyfile::{load_key_file, write_key_file};
use keyward_core_crypto::private_file::Overwrite;
use keyward_core_crypto::{FernetKey, KeyRing};
use keyward_secrets_backends::{Error, SecretStore, SecretValue, Selector, SqliteVault};
use secrecy::ExposeSecret;

fn value(text: &str) -> SecretValue {
    SecretValue::fields([("api_key", "key"), ("api_secret", text)])
}

fn secret_of(v: &SecretValue) -> String {
    v.field("api_secret").unwrap().expose_secret().to_owned()
}

/// The key ids of the vault's rows, with their counts.
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

fn next_path(key: &Path) -> PathBuf {
    PathBuf::from(format!("{}.next", key.display()))
}

/// Reads `name` through a fresh handle that has only the vault's key file, as a restore from
/// a backup of `vault.db` and `vault.db.key` would.
async fn read_with_key_file_alone(path: &Path, name: &str) -> Result<String, Error> {
    let ring = KeyRing::new(load_key_file(SqliteVault::key_path(path)).unwrap());
    let vault = SqliteVault::open(path, ring)?;
    vault
        .get(name, &Selector::Current)
        .await
        .map(|s| secret_of(&s.value))
}

/// Finding 3: a handle opened with the key file before `rotate-key` writes after it. The write
/// is sealed under the new key (the handle re-reads its key file), never under the retired one.
#[tokio::test]
async fn a_write_from_a_handle_opened_before_a_key_file_rotation_is_not_lost() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    let (vault, key) = SqliteVault::create(&path).unwrap();
    vault.put("old", &value("old-1")).await.unwrap();
    drop(vault);

    let a = SqliteVault::open_with_key_file(&path, &key).unwrap();
    let b = SqliteVault::open_with_key_file(&path, &key).unwrap();
    b.rotate_key_file(&key, |_| ControlFlow::Continue(()))
        .unwrap();
    let new_id = load_key_file(&key).unwrap().id().to_string();

    a.put("late", &value("late-1")).await.unwrap();
    assert_eq!(key_ids(&path), [(new_id, 2)], "every row under the new key");
    // Through A, through B and through the key file alone.
    for handle in [&a, &b] {
        let got = handle.get("late", &Selector::Current).await.unwrap();
        assert_eq!(secret_of(&got.value), "late-1");
    }
    assert_eq!(
        read_with_key_file_alone(&path, "late").await.unwrap(),
        "late-1"
    );
    assert_eq!(
        read_with_key_file_alone(&path, "old").await.unwrap(),
        "old-1"
    );
}

/// Finding 3, with key rings held in memory (no key file to re-read): the stale handle's write
/// is refused with a typed error and nothing is written; the rotated vault stays whole.
#[tokio::test]
async fn a_write_under_a_retired_master_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    let (old, new) = (
        FernetKey::generate().unwrap(),
        FernetKey::generate().unwrap(),
    );
    let vault = SqliteVault::create_with_ring(&path, KeyRing::new(old.clone())).unwrap();
    vault.put("a", &value("a-1")).await.unwrap();

    let stale = SqliteVault::open(&path, KeyRing::new(old.clone())).unwrap();
    let rotated = KeyRing::from_keys([new.clone(), old.clone()]).unwrap();
    vault
        .rotate_master_key(&rotated, |_| ControlFlow::Continue(()))
        .unwrap();

    for attempt in [
        stale.put("b", &value("b-1")).await.map(|_| ()),
        stale.put_pending("a", &value("a-2")).await.map(|_| ()),
        stale.put_many([("c", &value("c-1"))]).map(|_| ()),
    ] {
        let err = attempt.unwrap_err();
        assert!(matches!(err, Error::WrongMasterKey { .. }), "{err:?}");
        let shown = err.to_string();
        assert!(
            shown.contains(&new.id().to_string()) && shown.contains(&old.id().to_string()),
            "{shown}"
        );
    }
    assert_eq!(key_ids(&path), [(new.id().to_string(), 1)]);
    let fresh = SqliteVault::open(&path, KeyRing::new(new)).unwrap();
    assert_eq!(fresh.list().await.unwrap(), ["a"]);
}

/// Finding 5: a key file that does not open the vault cannot write rows nothing can read, and
/// the vault's rotation still works afterwards.
#[tokio::test]
async fn a_key_that_does_not_open_the_vault_cannot_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    let (vault, key) = SqliteVault::create(&path).unwrap();
    vault.put("a", &value("a-1")).await.unwrap();
    drop(vault);

    let wrong = SqliteVault::open(&path, KeyRing::new(FernetKey::generate().unwrap())).unwrap();
    let err = wrong.put("b", &value("b-1")).await.unwrap_err();
    assert!(matches!(err, Error::WrongMasterKey { .. }), "{err:?}");
    assert_eq!(key_ids(&path).len(), 1);
    assert_eq!(key_ids(&path)[0].1, 1, "nothing was written");

    let vault = SqliteVault::open_with_key_file(&path, &key).unwrap();
    assert_eq!(
        vault
            .rotate_key_file(&key, |_| ControlFlow::Continue(()))
            .unwrap(),
        1
    );
    assert_eq!(read_with_key_file_alone(&path, "a").await.unwrap(), "a-1");
}

/// Finding 5: a rotation that fails leaves no `<key>.next` behind, so later writes go under the
/// key in the key file and a backup of the database and its key file holds them.
#[tokio::test]
async fn a_failed_key_file_rotation_leaves_no_next_key_and_writes_stay_under_the_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    let (vault, key) = SqliteVault::create(&path).unwrap();
    vault.put("a", &value("a-1")).await.unwrap();
    let err = vault
        .rotate_key_file(&key, |_| ControlFlow::Break(()))
        .unwrap_err();
    assert!(matches!(err, Error::RotationAborted { .. }), "{err}");
    assert!(
        !next_path(&key).exists(),
        "the failed rotation's key is gone"
    );
    drop(vault);

    let vault = SqliteVault::open_with_key_file(&path, &key).unwrap();
    vault.put("b", &value("b-1")).await.unwrap();
    assert_eq!(read_with_key_file_alone(&path, "b").await.unwrap(), "b-1");
}

/// The crash model of `rotate_key_file`, step by step (a crash leaves the files as they are
/// between two steps): killed after `<key>.next` was written but before the re-encryption
/// committed, the vault keeps using the key file's key for writes; the next rotation finishes.
#[tokio::test]
async fn a_crash_before_the_rotation_commits_leaves_the_old_key_in_charge() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    let (vault, key) = SqliteVault::create(&path).unwrap();
    vault.put("a", &value("a-1")).await.unwrap();
    drop(vault);
    let old_id = load_key_file(&key).unwrap().id().to_string();
    // Step 1 done, step 2 never committed.
    write_key_file(
        next_path(&key),
        &FernetKey::generate().unwrap(),
        Overwrite::No,
    )
    .unwrap();

    let vault = SqliteVault::open_with_key_file(&path, &key).unwrap();
    vault.put("b", &value("b-1")).await.unwrap();
    assert_eq!(key_ids(&path), [(old_id, 2)]);
    assert_eq!(read_with_key_file_alone(&path, "b").await.unwrap(), "b-1");

    let next_id = load_key_file(next_path(&key)).unwrap().id().to_string();
    vault
        .rotate_key_file(&key, |_| ControlFlow::Continue(()))
        .unwrap();
    assert!(!next_path(&key).exists());
    assert_eq!(key_ids(&path), [(next_id, 2)]);
    assert_eq!(read_with_key_file_alone(&path, "a").await.unwrap(), "a-1");
}

/// Killed after the re-encryption committed but before the key file was replaced: the only copy
/// of the new key is `<key>.next`. Opening uses it for reads and writes, and the next rotation
/// finishes the swap.
#[tokio::test]
async fn a_crash_after_the_rotation_commits_is_recovered_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    let (vault, key) = SqliteVault::create(&path).unwrap();
    vault.put("a", &value("a-1")).await.unwrap();
    let old = load_key_file(&key).unwrap();
    let new = FernetKey::generate().unwrap();
    // Steps 1 and 2 done, step 3 never started.
    write_key_file(next_path(&key), &new, Overwrite::No).unwrap();
    vault
        .rotate_master_key(
            &KeyRing::from_keys([new.clone(), old.clone()]).unwrap(),
            |_| ControlFlow::Continue(()),
        )
        .unwrap();
    drop(vault);

    let vault = SqliteVault::open_with_key_file(&path, &key).unwrap();
    vault.put("b", &value("b-1")).await.unwrap();
    assert_eq!(key_ids(&path), [(new.id().to_string(), 2)]);
    assert_eq!(
        secret_of(&vault.get("a", &Selector::Current).await.unwrap().value),
        "a-1"
    );
    vault
        .rotate_key_file(&key, |_| ControlFlow::Continue(()))
        .unwrap();
    assert!(!next_path(&key).exists());
    assert_eq!(load_key_file(&key).unwrap().id(), new.id());
    assert_eq!(read_with_key_file_alone(&path, "b").await.unwrap(), "b-1");
}

/// Finding 21: a deleted secret's ciphertext, and the tokens a rotation replaced, are not left
/// in the database's free pages or its write-ahead log.
#[tokio::test]
async fn deleted_and_rotated_ciphertext_does_not_linger_in_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    let (vault, key) = SqliteVault::create(&path).unwrap();
    vault.put("gone", &value("gone-1")).await.unwrap();
    vault.put("kept", &value("kept-1")).await.unwrap();
    let token = |name: &str| -> String {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.query_row("SELECT token FROM versions WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .unwrap()
    };
    let (gone, kept) = (token("gone"), token("kept"));
    vault.delete("gone").await.unwrap();
    vault
        .rotate_key_file(&key, |_| ControlFlow::Continue(()))
        .unwrap();
    assert_ne!(token("kept"), kept);
    let files = ["", "-wal"].map(|side| PathBuf::from(format!("{}{side}", path.display())));
    for file in &files {
        let Ok(bytes) = std::fs::read(file) else {
            continue;
        };
        for (what, old) in [("deleted", &gone), ("rotated", &kept)] {
            let found = bytes.windows(old.len()).any(|w| w == old.as_bytes());
            assert!(!found, "the {what} token is still in {}", file.display());
        }
    }
}

/// Finding 17: a symbolic link at the vault's path is refused, whichever file it points to.
#[cfg(unix)]
#[test]
fn a_symlink_at_the_vault_path_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.db");
    let (vault, _) = SqliteVault::create(&real).unwrap();
    drop(vault);
    let link = dir.path().join("vault.db");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let err = SqliteVault::open(&link, KeyRing::new(FernetKey::generate().unwrap())).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Crypto(keyward_core_crypto::Error::Symlink { .. })
        ),
        "{err:?}"
    );
}
