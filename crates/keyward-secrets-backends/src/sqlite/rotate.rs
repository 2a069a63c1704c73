//! Master-key rotation: every version row re-encrypted under a new primary key in one
//! transaction, so the vault is either fully old or fully new whatever happens.
//! A key kept in a file is rotated in a crash-safe order by [`SqliteVault::rotate_key_file`].

use std::ops::ControlFlow;
use std::path::Path;

use keyward_core_crypto::keyfile::{load_key_file, write_key_file};
use keyward_core_crypto::private_file::Overwrite;
use keyward_core_crypto::{FernetKey, KeyRing};
use rusqlite::params;

use super::audit::{self, op};
use super::write::Sealing;
use super::{SqliteVault, db, files, master_key, schema};
use crate::error::{Error, Result};

/// Rows read per query during a rotation (bounds memory on large vaults).
const BATCH: i64 = 512;

/// How far a master-key rotation has got, reported after each row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationProgress {
    /// Rows re-encrypted so far.
    pub done: u64,
    /// Rows in the vault.
    pub total: u64,
}

impl SqliteVault {
    /// Re-encrypts every version row under `new_ring`'s primary key in one transaction, and
    /// from then on uses `new_ring`. `new_ring` must also hold the keys that sealed the rows
    /// (put the new key first and keep the old ones after it).
    ///
    /// `progress` is called after each row; returning [`ControlFlow::Break`] cancels the
    /// rotation, which is rolled back ([`Error::RotationAborted`]). Any failure rolls back too:
    /// the vault is then exactly as before, readable with the old ring. Returns the number of
    /// rows re-encrypted.
    pub fn rotate_master_key(
        &self,
        new_ring: &KeyRing,
        mut progress: impl FnMut(RotationProgress) -> ControlFlow<()>,
    ) -> Result<u64> {
        let new_id = new_ring.primary_id().to_string();
        let (done, mut inner) = self.write_locked(Sealing::None, |tx, _, now| {
            let total: i64 = tx
                .query_row("SELECT COUNT(*) FROM versions", [], |row| row.get(0))
                .map_err(db)?;
            let total = u64::try_from(total).unwrap_or_default();
            let mut done = 0u64;
            let mut last = i64::MIN;
            loop {
                let batch: Vec<(i64, String, String)> = tx
                    .prepare_cached(
                        "SELECT id, name, token FROM versions WHERE id > ?1 ORDER BY id LIMIT ?2",
                    )
                    .and_then(|mut stmt| {
                        stmt.query_map(params![last, BATCH], |r| {
                            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                        })?
                        .collect()
                    })
                    .map_err(db)?;
                if batch.is_empty() {
                    break;
                }
                for (id, name, token) in batch {
                    let fresh = new_ring.rotate(&token).map_err(|_| Error::Corrupt {
                        name,
                        reason: "no key of the new ring opens it (the new ring must hold the old \
                                 master key after the new one); nothing was changed"
                            .to_owned(),
                    })?;
                    tx.prepare_cached("UPDATE versions SET token = ?1, key_id = ?2 WHERE id = ?3")
                        .and_then(|mut stmt| stmt.execute(params![fresh, new_id, id]))
                        .map_err(db)?;
                    done += 1;
                    last = id;
                    if progress(RotationProgress { done, total }).is_break() {
                        return Err(Error::RotationAborted { done, total });
                    }
                }
            }
            master_key::record(tx, &new_id)?;
            audit::record(tx, now, None, op::ROTATE_MASTER_KEY)?;
            Ok(done)
        })?;
        // Swapped under the lock the commit was made under: no write of this handle can seal
        // under the old key after the commit.
        inner.ring = new_ring.clone();
        schema::checkpoint(&inner.conn);
        Ok(done)
    }

    /// Rotates the master key kept in `key_file`, in an order where a crash never loses data:
    /// 1. a new key is written to `<key_file>.next` (mode 0600), or the one an interrupted
    ///    rotation left there is reused;
    /// 2. every row is re-encrypted with the ring `[new, old]` in one transaction
    ///    ([`SqliteVault::rotate_master_key`]);
    /// 3. `key_file` is replaced by the new key (atomic rename), then `<key_file>.next` removed.
    ///
    /// A rotation that fails (or is cancelled) removes `<key_file>.next` again: nothing was
    /// changed, and no later write can be sealed under a key that is in no key file.
    ///
    /// A crash before step 2 commits leaves every row under the old key, which stays the
    /// vault's active key (new rows are sealed under it, `<key_file>.next` is only read); after
    /// it, every row is under the new key, recorded as active and kept in `<key_file>.next`
    /// until step 3 completes. [`SqliteVault::open_with_key_file`] loads both files while
    /// `<key_file>.next` exists and seals under whichever the vault records as active, so the
    /// vault opens and writes correctly in every case, and calling this again finishes the job.
    /// Returns the number of rows re-encrypted.
    pub fn rotate_key_file(
        &self,
        key_file: impl AsRef<Path>,
        progress: impl FnMut(RotationProgress) -> ControlFlow<()>,
    ) -> Result<u64> {
        let key_file = key_file.as_ref();
        let next_path = files::next_key_path(key_file);
        let old = load_key_file(key_file)?;
        let next = if next_path.exists() {
            load_key_file(&next_path)?
        } else {
            let key = FernetKey::generate()?;
            write_key_file(&next_path, &key, Overwrite::No)?;
            key
        };
        let ring = KeyRing::from_keys([next.clone(), old])?;
        let rows = match self.rotate_master_key(&ring, progress) {
            Ok(rows) => rows,
            Err(e) => {
                // Keep the new key only if the vault already uses it (an earlier run of this
                // rotation committed, then stopped before replacing the key file).
                let in_use = master_key::active(&self.lock().conn)
                    .map_or(true, |active| active == Some(next.id().to_string()));
                if !in_use {
                    if let Err(source) = remove_if_present(&next_path) {
                        tracing::warn!(target: "keyward_secrets::sqlite", path = %next_path.display(), error = %source, "could not remove the unused next key; remove it by hand");
                    }
                }
                return Err(e);
            }
        };
        write_key_file(key_file, &next, Overwrite::Yes)?;
        remove_if_present(&next_path).map_err(|source| Error::Io {
            action: "remove",
            path: next_path,
            source,
        })?;
        self.lock().ring = KeyRing::new(next);
        Ok(rows)
    }
}

/// Removes `path`; already gone is fine (another process finished the same rotation).
fn remove_if_present(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
