//! The read path: one `SELECT` per read.
//!
//! A read used to run five statements, each its own implicit read transaction (the stage's
//! version, the revocation mark, the token, the version's dates, its stage labels), and two of
//! them were re-prepared by SQLite on every call: the bundled SQLite is built with
//! `SQLITE_ENABLE_STAT4`, which marks a statement to be re-planned whenever a bound value it
//! compares with changes, and rusqlite clears the bindings of a cached statement when it goes
//! back to the cache. The profile (callgrind, `vault/get`) put 61 % of a read's instructions in
//! `sqlite3Reprepare`. Now the connection asks for the query planner stability guarantee
//! (`SQLITE_DBCONFIG_ENABLE_QPSG`, see `schema::configure`) so a cached statement keeps its
//! plan, and a read is one cached statement joining the version, its secret's row and its
//! labels: one read transaction, one B-tree descent per table.

use rusqlite::{Connection, Row, params};

use super::{db, from_millis};
use crate::error::{Error, Result};
use crate::revocation::Revocation;
use crate::store::Selector;

/// A version by a stage label: the version's row, its secret's row (rotation and revocation)
/// and one row per label on it, labels in order.
const BY_STAGE: &str = "SELECT v.version, v.token, v.key_id, v.created, s.rotated_at, \
     s.revoked_version, s.revoked_at, s.revoked_reason, l.stage \
     FROM stages t JOIN versions v ON v.name = t.name AND v.version = t.version \
     JOIN secrets s ON s.name = v.name \
     LEFT JOIN stages l ON l.name = v.name AND l.version = v.version \
     WHERE t.name = ?1 AND t.stage = ?2 ORDER BY l.stage";

/// A version by its number, as [`BY_STAGE`].
const BY_NUMBER: &str = "SELECT v.version, v.token, v.key_id, v.created, s.rotated_at, \
     s.revoked_version, s.revoked_at, s.revoked_reason, l.stage \
     FROM versions v JOIN secrets s ON s.name = v.name \
     LEFT JOIN stages l ON l.name = v.name AND l.version = v.version \
     WHERE v.name = ?1 AND v.version = ?2 ORDER BY l.stage";

/// One version as a read finds it.
pub(super) struct Found {
    /// The version number.
    pub(super) version: i64,
    /// The Fernet token.
    pub(super) token: String,
    /// The id of the key that sealed it.
    pub(super) key_id: String,
    /// When it was created (ms).
    pub(super) created: i64,
    /// When the secret was last rotated (ms).
    pub(super) rotated_at: Option<i64>,
    /// The stage labels on this version, in order.
    pub(super) stages: Vec<String>,
}

/// Finds the version `which` names, refusing a revoked one ([`Error::Revoked`]) and answering
/// [`Error::NotFound`] (with the same detail as before) when there is none.
pub(super) fn find(conn: &Connection, name: &str, which: &Selector) -> Result<Found> {
    let (sql, detail, number, stage): (_, _, i64, &str) = match which {
        Selector::Current => (BY_STAGE, None, 0, crate::store::CURRENT),
        Selector::Stage(stage) => (BY_STAGE, Some(format!("stage {stage}")), 0, stage.as_str()),
        Selector::Version(v) => match v.parse::<i64>() {
            Ok(n) => (BY_NUMBER, Some(format!("version {v}")), n, ""),
            Err(_) => {
                return Err(Error::NotFound {
                    name: name.to_owned(),
                    detail: Some(format!("version {v}")),
                });
            }
        },
    };
    let mut stmt = conn.prepare_cached(sql).map_err(db)?;
    let mut rows = if sql == BY_STAGE {
        stmt.query(params![name, stage])
    } else {
        stmt.query(params![name, number])
    }
    .map_err(db)?;
    let Some(first) = rows.next().map_err(db)? else {
        return Err(Error::NotFound {
            name: name.to_owned(),
            detail,
        });
    };
    let version: i64 = first.get(0).map_err(db)?;
    if let Some(revoked) = revocation(first, name, version).map_err(db)? {
        return Err(revoked.refusal());
    }
    let mut found = Found {
        version,
        token: first.get(1).map_err(db)?,
        key_id: first.get(2).map_err(db)?,
        created: first.get(3).map_err(db)?,
        rotated_at: first.get(4).map_err(db)?,
        stages: Vec::with_capacity(1),
    };
    push_stage(first, &mut found.stages).map_err(db)?;
    while let Some(row) = rows.next().map_err(db)? {
        push_stage(row, &mut found.stages).map_err(db)?;
    }
    Ok(found)
}

/// The revocation on the secret's row when it names `version`.
fn revocation(row: &Row<'_>, name: &str, version: i64) -> rusqlite::Result<Option<Revocation>> {
    let revoked: Option<i64> = row.get(5)?;
    if revoked != Some(version) {
        return Ok(None);
    }
    Ok(Some(Revocation {
        name: name.to_owned(),
        version: version.to_string(),
        at: from_millis(row.get(6)?),
        reason: row.get(7)?,
    }))
}

fn push_stage(row: &Row<'_>, stages: &mut Vec<String>) -> rusqlite::Result<()> {
    if let Some(stage) = row.get::<_, Option<String>>(8)? {
        stages.push(stage);
    }
    Ok(())
}
