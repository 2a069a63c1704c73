//! The vault's audit trail in an [`AuditLog`]'s hash chain.
//!
//! With a log attached ([`SqliteVault::with_audit_log`]), each row the vault writes to its
//! `audit` table is also appended to the log, as an [`Event`] of the matching kind, and the row
//! records the entry's sequence number and line hash (`chain_seq`, `chain_hash`). The row is
//! written in the operation's own transaction (as without a log); the log entry follows, after
//! the commit, and the row is updated with its place in the chain. A failed append is a
//! `tracing::warn!`: the operation has already succeeded, and the row stays unchained until
//! the next operation retries it (in order) or [`SqliteVault::chain_pending`] is called.
//!
//! [`SqliteVault::verify_audit_chain`] checks both ways: the log verifies (so an edited log line
//! is found), and each chained row names an entry of the log with the same line hash, event and
//! subject (so an edited row is found).
//!
//! Only this process's rows written since the log was attached are chained (another process
//! sharing the vault chains its own into its own log). The log's own key and head, when kept in
//! this vault, are not chained (see [`AuditLog::keeps`]). A row removed from the table is not
//! found by the check: the table is a view of the chain, the log is the record.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use rusqlite::params;

use super::audit::op;
use super::{SqliteVault, db};
use crate::audit::{AuditError, AuditKey, AuditLog, Event, EventKind, Head, Outcome, Summary};
use crate::error::Result;

/// The subject of vault-wide operations (master-key rotation), which have no secret name.
pub const VAULT_SUBJECT: &str = "vault-master-key";

/// Rows chained per query.
const BATCH: i64 = 64;

/// An attached log and how far this handle has chained.
pub(super) struct Chain {
    log: Arc<AuditLog>,
    /// The id of the last row looked at (rows after it are chained next); one chaining task at
    /// a time.
    last: tokio::sync::Mutex<i64>,
}

/// The event kind of a vault operation.
pub(crate) fn event_kind(operation: &str) -> Option<EventKind> {
    Some(match operation {
        op::GET => EventKind::SecretRead,
        op::PUT | op::PUT_PENDING | op::DELETE => EventKind::SecretWrite,
        op::PROMOTE | op::ROTATE_MASTER_KEY => EventKind::Rotation,
        op::REVOKE => EventKind::Revocation,
        _ => return None,
    })
}

/// What [`SqliteVault::verify_audit_chain`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainCheck {
    /// The log's verification.
    pub log: Summary,
    /// Rows that name a log entry, each checked.
    pub rows_checked: u64,
    /// Rows not (yet) in the chain: written before a log was attached, by another process,
    /// or while the log failed.
    pub rows_unchained: u64,
}

impl SqliteVault {
    /// Appends every audit row this handle writes to `log`'s hash chain, from now on (see the
    /// module docs of `sqlite::chain`).
    pub fn with_audit_log(mut self, log: Arc<AuditLog>) -> Result<Self> {
        let last: i64 = self
            .lock()
            .conn
            .query_row("SELECT COALESCE(MAX(id), 0) FROM audit", [], |r| r.get(0))
            .map_err(db)?;
        self.chain = Some(Chain {
            log,
            last: tokio::sync::Mutex::new(last),
        });
        Ok(self)
    }

    /// Appends this process's audit rows not yet in the attached log's chain (oldest first)
    /// and records their place in it; returns how many were chained. Every vault operation
    /// calls it after its commit; call it after [`SqliteVault::rotate_master_key`] (which is
    /// synchronous) to chain that row at once. A failed append is a warning and stops here;
    /// the rows are tried again next time. Without a log, or while another task is chaining,
    /// it does nothing.
    pub async fn chain_pending(&self) -> usize {
        let Some(chain) = &self.chain else {
            return 0;
        };
        // Busy: the task chaining (perhaps this very call, storing the log's head in this
        // vault) picks the new rows up.
        let Ok(mut last) = chain.last.try_lock() else {
            return 0;
        };
        let mut chained = 0;
        loop {
            let rows = match self.unchained(*last) {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::warn!(target: "keyward_secrets::audit", error = %e, "could not read the vault's audit rows to chain");
                    return chained;
                }
            };
            if rows.is_empty() {
                return chained;
            }
            for (id, name, operation) in rows {
                let subject = name.as_deref().unwrap_or(VAULT_SUBJECT);
                let event = event_kind(&operation)
                    .filter(|_| !chain.log.keeps(subject))
                    .and_then(|kind| Event::new(kind, subject, Outcome::Success).ok());
                let Some(event) = event else {
                    *last = id;
                    continue;
                };
                match chain.log.append_head(&event).await {
                    Ok(appended) => {
                        if let Some(e) = appended.head_error {
                            tracing::warn!(target: "keyward_secrets::audit", error = %e, "the audit log's head could not be stored");
                        }
                        if let Err(e) = self.mark_chained(id, &appended.head) {
                            tracing::warn!(target: "keyward_secrets::audit", row = id, error = %e, "could not record a vault audit row's place in the chain");
                        }
                        *last = id;
                        chained += 1;
                    }
                    Err(e) => {
                        tracing::warn!(target: "keyward_secrets::audit", row = id, secret = subject, error = %e, "the audit log could not record a vault operation; it is tried again at the next one");
                        return chained;
                    }
                }
            }
        }
    }

    /// This process's rows after `after` with no place in the chain.
    fn unchained(&self, after: i64) -> Result<Vec<(i64, Option<String>, String)>> {
        let inner = self.lock();
        let mut stmt = inner
            .conn
            .prepare_cached(
                "SELECT id, name, operation FROM audit \
                 WHERE id > ?1 AND pid = ?2 AND chain_seq IS NULL ORDER BY id LIMIT ?3",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map(params![after, std::process::id(), BATCH], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(db)?;
        rows.collect::<rusqlite::Result<_>>().map_err(db)
    }

    fn mark_chained(&self, id: i64, head: &Head) -> Result<()> {
        let seq = i64::try_from(head.seq).unwrap_or(i64::MAX);
        self.lock()
            .conn
            .prepare_cached("UPDATE audit SET chain_seq = ?1, chain_hash = ?2 WHERE id = ?3")
            .and_then(|mut stmt| stmt.execute(params![seq, head.hash, id]))
            .map_err(db)?;
        Ok(())
    }

    /// Checks the vault's audit table against the log at `path`: the log verifies (with `key`
    /// and its stored head, when given: MACs and a cut tail too), and every row that names a
    /// chain entry matches it (line hash, event kind, subject). The first difference is an
    /// [`AuditError::VaultRow`]; a log that does not verify is [`AuditError::Broken`].
    pub fn verify_audit_chain(
        &self,
        path: &Path,
        key: Option<(&AuditKey, Option<&Head>)>,
    ) -> std::result::Result<ChainCheck, AuditError> {
        let (log, entries) = crate::audit::read_entries(path, key)?;
        let by_seq: HashMap<u64, _> = entries.iter().map(|(e, h)| (e.seq, (e, h))).collect();
        let rows = self.audit_log().map_err(AuditError::Store)?;
        let mut check = ChainCheck {
            log,
            rows_checked: 0,
            rows_unchained: 0,
        };
        for row in rows {
            let (Some(seq), Some(hash)) = (row.chain_seq, row.chain_hash.as_deref()) else {
                check.rows_unchained += 1;
                continue;
            };
            let bad = |problem| AuditError::VaultRow {
                row: row.id,
                seq,
                problem,
            };
            let Some((entry, line_hash)) = by_seq.get(&seq) else {
                return Err(bad("the log has no entry with that sequence number"));
            };
            if *line_hash != hash {
                return Err(bad("the entry's line hash differs from the row's"));
            }
            let kind = event_kind(&row.operation).map(EventKind::word);
            if kind != Some(entry.event.as_str()) {
                return Err(bad("the entry's event is not the row's operation"));
            }
            let subject = row.name.as_deref().unwrap_or(VAULT_SUBJECT);
            if entry.subject.as_str() != subject {
                return Err(bad("the entry's subject is not the row's secret name"));
            }
            check.rows_checked += 1;
        }
        Ok(check)
    }
}
