//! The vault's active master key: its id (not secret) recorded in the database, checked by
//! every write inside the write's own immediate transaction, and the key file read again when
//! another process has rotated the key since this handle opened the vault.
//!
//! Without the record, a process that opened the vault before a rotation sealed new rows under
//! the retired key, which nothing could read afterwards, and a wrong key file wrote rows that
//! broke every later rotation. With it, a row is only ever sealed under the active key: the
//! check and the insert share one `BEGIN IMMEDIATE` transaction, so a rotation (itself one
//! immediate transaction that re-seals every row and records the new id) cannot commit between
//! them.

use std::path::Path;

use keyward_core_crypto::KeyRing;
use keyward_core_crypto::keyfile::load_key_file;
use rusqlite::{Connection, OptionalExtension, params};

use super::{db, files};
use crate::error::{Error, Result};

/// The id of the vault's active master key, if one is recorded.
pub(crate) fn active(conn: &Connection) -> Result<Option<String>> {
    conn.prepare_cached("SELECT key_id FROM master_key WHERE id = 1")
        .and_then(|mut stmt| stmt.query_row([], |row| row.get(0)).optional())
        .map_err(db)
}

/// Records `key_id` as the vault's active master key.
pub(crate) fn record(conn: &Connection, key_id: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO master_key(id, key_id) VALUES (1, ?1) \
         ON CONFLICT(id) DO UPDATE SET key_id = excluded.key_id",
    )
    .and_then(|mut stmt| stmt.execute(params![key_id]))
    .map_err(db)?;
    Ok(())
}

/// Makes sure `ring` seals under the vault's active master key; call it inside the write's
/// immediate transaction. If another process rotated the key since this handle opened the
/// vault and the handle knows its key file, the key file is read again and `ring` replaced,
/// so the write is sealed under the new key; otherwise the write is refused with
/// [`Error::WrongMasterKey`].
///
/// A vault with no key recorded (made from an empty file, or by a keyward from before schema 3
/// whose rows are under several keys) records the ring's primary key, unless it already holds
/// rows and none of them is sealed under that key (a key that does not open the vault).
pub(crate) fn check_sealing(
    conn: &Connection,
    ring: &mut KeyRing,
    path: &Path,
    key_file: Option<&Path>,
) -> Result<()> {
    let offered = ring.primary_id().to_string();
    let active = match active(conn)? {
        Some(active) => active,
        None => match unrecorded(conn, &offered)? {
            Some(newest) => newest,
            None => {
                record(conn, &offered)?;
                return Ok(());
            }
        },
    };
    if active == offered {
        return Ok(());
    }
    if let Some(key_file) = key_file {
        let fresh = ring_from_key_file(key_file, Some(&active))?;
        if fresh.primary_id().to_string() == active {
            tracing::info!(
                target: "keyward_secrets::sqlite",
                vault = %path.display(),
                key_id = %active,
                "the master key was rotated by another process; using the new key from the key file"
            );
            *ring = fresh;
            return Ok(());
        }
    }
    Err(Error::WrongMasterKey {
        path: path.into(),
        active,
        offered,
    })
}

/// For a vault with no key recorded: `None` if `offered` may become its key (no rows, or some
/// row sealed under it), else the key of its newest row.
fn unrecorded(conn: &Connection, offered: &str) -> Result<Option<String>> {
    let opens: bool = conn
        .prepare_cached(
            "SELECT NOT EXISTS (SELECT 1 FROM versions) \
             OR EXISTS (SELECT 1 FROM versions WHERE key_id = ?1)",
        )
        .and_then(|mut stmt| stmt.query_row([offered], |row| row.get(0)))
        .map_err(db)?;
    if opens {
        return Ok(None);
    }
    conn.prepare_cached("SELECT key_id FROM versions ORDER BY id DESC LIMIT 1")
        .and_then(|mut stmt| stmt.query_row([], |row| row.get(0)).optional())
        .map_err(db)
}

/// The ring for a vault whose master key is in `key_file`, given its recorded active key.
///
/// `<key_file>.next` exists while a key-file rotation is under way or after one was
/// interrupted. It is the primary key only if the vault records it as active (the rotation
/// committed, then stopped before the key file was replaced); otherwise it is kept after the
/// key file's key, for reading only, and never seals a row.
pub(crate) fn ring_from_key_file(key_file: &Path, active: Option<&str>) -> Result<KeyRing> {
    let current = load_key_file(key_file)?;
    let next_path = files::next_key_path(key_file);
    if std::fs::symlink_metadata(&next_path).is_err() {
        return Ok(KeyRing::new(current));
    }
    let next = load_key_file(&next_path)?;
    let keys = if active == Some(next.id().to_string().as_str()) {
        [next, current]
    } else {
        [current, next]
    };
    Ok(KeyRing::from_keys(keys)?)
}
