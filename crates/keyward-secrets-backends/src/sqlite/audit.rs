//! The audit trail: each operation on the vault, with the secret's name, the time and the
//! process. Never a value, a token or a key.

use std::time::SystemTime;

use rusqlite::Connection;

use super::{db, from_millis, to_millis};
use crate::error::Result;

/// What was done, as recorded in the audit trail.
pub(crate) mod op {
    /// A version was read.
    pub(crate) const GET: &str = "get";
    /// A new current version was stored.
    pub(crate) const PUT: &str = "put";
    /// A pending version was stored.
    pub(crate) const PUT_PENDING: &str = "put_pending";
    /// A version was made current.
    pub(crate) const PROMOTE: &str = "promote";
    /// A secret and all its versions were deleted.
    pub(crate) const DELETE: &str = "delete";
    /// The current version was revoked (marked compromised).
    pub(crate) const REVOKE: &str = "revoke";
    /// Every row was re-encrypted under a new master key.
    pub(crate) const ROTATE_MASTER_KEY: &str = "rotate_master_key";
}

/// One row of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// The row's id (increasing).
    pub id: i64,
    /// When the operation happened.
    pub at: SystemTime,
    /// The secret's name; `None` for operations on the whole vault (master-key rotation).
    pub name: Option<String>,
    /// What was done: `get`, `put`, `put_pending`, `promote`, `delete`, `revoke` or
    /// `rotate_master_key`.
    pub operation: String,
    /// The id of the process that did it.
    pub pid: u32,
    /// The sequence number of its entry in an attached audit log's hash chain, once chained.
    pub chain_seq: Option<u64>,
    /// The hex SHA-256 of that entry's line, once chained.
    pub chain_hash: Option<String>,
}

/// Records an operation (inside the caller's transaction when it has one, so the trail and the
/// change commit together).
pub(crate) fn record(
    conn: &Connection,
    at: SystemTime,
    name: Option<&str>,
    operation: &str,
) -> Result<()> {
    conn.prepare_cached("INSERT INTO audit(at, name, operation, pid) VALUES (?1, ?2, ?3, ?4)")
        .and_then(|mut stmt| {
            stmt.execute(rusqlite::params![
                to_millis(at),
                name,
                operation,
                std::process::id()
            ])
        })
        .map_err(db)?;
    Ok(())
}

/// The whole trail, oldest first.
pub(crate) fn entries(conn: &Connection) -> Result<Vec<AuditEntry>> {
    let mut stmt = conn
        .prepare(
            "SELECT id, at, name, operation, pid, chain_seq, chain_hash FROM audit ORDER BY id",
        )
        .map_err(db)?;
    let rows = stmt
        .query_map([], |row| {
            Ok(AuditEntry {
                id: row.get(0)?,
                at: from_millis(row.get(1)?),
                name: row.get(2)?,
                operation: row.get(3)?,
                pid: row.get(4)?,
                chain_seq: row
                    .get::<_, Option<i64>>(5)?
                    .and_then(|s| u64::try_from(s).ok()),
                chain_hash: row.get(6)?,
            })
        })
        .map_err(db)?;
    rows.collect::<rusqlite::Result<_>>().map_err(db)
}
