//! Every write's set-up in one place: the vault clock's time, the connection lock, one
//! `BEGIN IMMEDIATE` transaction, the master-key check for a write that seals a value, and the
//! commit. A write that fails at any step is rolled back (rusqlite rolls back on drop).

use std::sync::MutexGuard;
use std::time::SystemTime;

use keyward_core_crypto::KeyRing;
use rusqlite::{Transaction, TransactionBehavior};

use super::{Inner, SqliteVault, db, master_key};
use crate::error::Result;

/// Whether a write seals values, and so must first check the vault's active master key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sealing {
    /// The write seals values: the ring must seal under the active master key (see
    /// `master_key::check_sealing`), which may reload the key file.
    Checked,
    /// The write seals nothing (it moves labels, deletes, or sets a new key itself).
    None,
}

impl SqliteVault {
    /// Runs `body` in one immediate transaction and commits it; returns its value and the
    /// still-held lock, for what must follow the commit under the same lock (a ring swap, a
    /// checkpoint).
    pub(super) fn write_locked<T>(
        &self,
        sealing: Sealing,
        body: impl FnOnce(&Transaction<'_>, &KeyRing, SystemTime) -> Result<T>,
    ) -> Result<(T, MutexGuard<'_, Inner>)> {
        // Reads queued before this write come first in the trail.
        self.settle_reads();
        let now = self.now();
        let mut inner = self.lock();
        let Inner { conn, ring } = &mut *inner;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        if sealing == Sealing::Checked {
            master_key::check_sealing(&tx, ring, &self.path, self.key_file.as_deref())?;
        }
        let value = body(&tx, ring, now)?;
        tx.commit().map_err(db)?;
        Ok((value, inner))
    }

    /// [`write_locked`](Self::write_locked), releasing the lock at once.
    pub(super) fn write<T>(
        &self,
        sealing: Sealing,
        body: impl FnOnce(&Transaction<'_>, &KeyRing, SystemTime) -> Result<T>,
    ) -> Result<T> {
        self.write_locked(sealing, body).map(|(value, _)| value)
    }
}
