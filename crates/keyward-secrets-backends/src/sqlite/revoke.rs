//! Revocation in the vault: the secret's row records the version that was current when it was
//! revoked, the time and the reason (`revoked_version`, `revoked_at`, `revoked_reason`). A read
//! of that version is refused; the mark is cleared when another version becomes current
//! (`make_current`), and goes with the row when the secret is deleted.

use rusqlite::{Connection, OptionalExtension, params};

use super::audit::{self, op};
use super::write::Sealing;
use super::{SqliteVault, db, from_millis, to_millis};
use crate::error::Result;
use crate::revocation::{Revocation, validate_reason};
use crate::store::validate_name;

impl SqliteVault {
    /// Marks the current version of `name` revoked (kept as it was if it already is), in one
    /// transaction with its audit row.
    pub(super) fn revoke_sync(&self, name: &str, reason: Option<&str>) -> Result<Revocation> {
        validate_name(name)?;
        let reason = validate_reason(reason)?;
        self.write(Sealing::None, |tx, _, now| {
            let version = super::store::resolve(tx, name, &crate::Selector::Current)?;
            tx.prepare_cached(
                "UPDATE secrets SET revoked_version = ?2, revoked_at = ?3, revoked_reason = ?4 \
                 WHERE name = ?1 AND revoked_version IS NULL",
            )
            .and_then(|mut stmt| stmt.execute(params![name, version, to_millis(now), reason]))
            .map_err(db)?;
            audit::record(tx, now, Some(name), op::REVOKE)?;
            let found = revocation(tx, name)?;
            found.ok_or_else(|| crate::Error::Backend {
                store: "sqlite",
                message: format!("the revocation of {name} was not recorded"),
            })
        })
    }

    pub(super) fn revocation_sync(&self, name: &str) -> Result<Option<Revocation>> {
        validate_name(name)?;
        revocation(&self.lock().conn, name)
    }

    pub(super) fn revocations_sync(&self) -> Result<Vec<Revocation>> {
        let inner = self.lock();
        let mut stmt = inner
            .conn
            .prepare(
                "SELECT name, revoked_version, revoked_at, revoked_reason FROM secrets \
                 WHERE revoked_version IS NOT NULL ORDER BY name",
            )
            .map_err(db)?;
        let rows = stmt.query_map([], row).map_err(db)?;
        rows.collect::<rusqlite::Result<_>>().map_err(db)
    }
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Revocation> {
    Ok(Revocation {
        name: r.get(0)?,
        version: r.get::<_, i64>(1)?.to_string(),
        at: from_millis(r.get(2)?),
        reason: r.get(3)?,
    })
}

/// The revocation of `name`, if any.
pub(super) fn revocation(conn: &Connection, name: &str) -> Result<Option<Revocation>> {
    conn.prepare_cached(
        "SELECT name, revoked_version, revoked_at, revoked_reason FROM secrets \
         WHERE name = ?1 AND revoked_version IS NOT NULL",
    )
    .and_then(|mut stmt| stmt.query_row([name], row).optional())
    .map_err(db)
}

/// Clears the revocation of `name` when `current` (the version now current) is not the
/// revoked one: the secret was replaced.
pub(super) fn clear_replaced(conn: &Connection, name: &str, current: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE secrets SET revoked_version = NULL, revoked_at = NULL, revoked_reason = NULL \
         WHERE name = ?1 AND revoked_version != ?2",
    )
    .and_then(|mut stmt| stmt.execute(params![name, current]))
    .map_err(db)?;
    Ok(())
}
