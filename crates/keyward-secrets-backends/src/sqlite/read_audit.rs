//! Grouped read audit ([`SqliteVault::with_grouped_read_audit`]): the `get` rows of the audit
//! trail written in batches, one transaction (one `fsync`) per batch, by a
//! [`GroupCommit`](crate::audit::GroupCommit) writer thread on its own connection.
//!
//! With the default read audit, each read commits its own row (`synchronous=FULL`: one `fsync`
//! of the write-ahead log per read, 5x the read itself). Grouped, a read queues its row and
//! returns; the writer commits everything queued at once, so `fsync`s are shared by every read
//! made while the previous batch was being written. The durability contract is
//! [`GroupCommit`](crate::audit::GroupCommit)'s: at most `capacity` read rows are ever not yet
//! durable (a crash loses at most those), a full queue makes the reader wait (and after
//! `max_wait` refuses the read with [`Error::Backend`] naming the full queue), a row is never
//! dropped, and [`SqliteVault::flush_read_audit`] returns when every row queued before it is
//! committed, or with the error of a batch that failed.
//!
//! Writes keep their row in their own transaction, durable before they return, as without
//! grouping; before its transaction a write waits until the reads queued before it are
//! committed, so the trail keeps the order the operations happened in. So does
//! [`SqliteVault::audit_log`]. With an audit log attached ([`SqliteVault::with_audit_log`]), the
//! grouped rows join its chain at the vault's next operation or [`SqliteVault::chain_pending`].

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior, params};

use super::audit::op;
use super::{SqliteVault, db, files, to_millis};
use crate::audit::{AuditError, BatchSink, GroupCommit, GroupConfig};
use crate::error::{Error, Result};

/// One read to record.
pub(super) struct ReadRow {
    at: i64,
    name: String,
}

/// The writer's side: its own connection to the vault's file.
struct RowSink {
    conn: Connection,
}

impl BatchSink<ReadRow> for RowSink {
    fn write_batch(&mut self, batch: &[ReadRow]) -> std::result::Result<(), AuditError> {
        let store = |e| AuditError::Store(db(e));
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(store)?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO audit(at, name, operation, pid) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(store)?;
            let pid = std::process::id();
            for row in batch {
                insert
                    .execute(params![row.at, row.name, op::GET, pid])
                    .map_err(store)?;
            }
        }
        tx.commit().map_err(store)
    }
}

/// A second connection to the vault at `path`, checked and configured as the first.
fn connect(path: &Path) -> Result<Connection> {
    files::open_checked(path)
}

impl SqliteVault {
    /// Records reads in the audit trail in groups (see the module docs of
    /// `sqlite::read_audit`): a read queues its row and returns, and a writer thread commits
    /// the queued rows together, within `config`'s bounds. Turns read audit on.
    pub fn with_grouped_read_audit(mut self, config: GroupConfig) -> Result<Self> {
        let sink = RowSink {
            conn: connect(&self.path)?,
        };
        self.read_queue = Some(GroupCommit::spawn(sink, config).map_err(audit_error)?);
        self.audit_reads = true;
        Ok(self)
    }

    /// Returns when every read row queued before the call is committed; the error of a batch
    /// that failed since the last flush otherwise (its rows are kept and tried again). Without
    /// grouped read audit there is nothing queued: `Ok`.
    pub fn flush_read_audit(&self) -> std::result::Result<(), AuditError> {
        self.read_queue.as_ref().map_or(Ok(()), GroupCommit::flush)
    }

    /// Records a read of `name`: queued when grouped, committed at once otherwise.
    pub(super) fn audit_read(&self, name: &str, at: std::time::SystemTime) -> Result<()> {
        match &self.read_queue {
            Some(queue) => queue
                .enqueue(ReadRow {
                    at: to_millis(at),
                    name: name.to_owned(),
                })
                .map_err(audit_error),
            None => super::audit::record(&self.lock().conn, at, Some(name), op::GET),
        }
    }

    /// Waits until the queued read rows are committed (or a batch fails), so that what
    /// follows lands after them in the trail.
    pub(super) fn settle_reads(&self) {
        if let Some(queue) = &self.read_queue {
            queue.wait_durable();
        }
    }
}

/// An audit queue's error as the vault's (its text names no value).
fn audit_error(e: AuditError) -> Error {
    Error::Backend {
        store: "sqlite",
        message: e.to_string(),
    }
}
