//! The vault's schema, its migrations (counted by `PRAGMA user_version`) and the connection's
//! settings.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use super::db;
use crate::error::{Error, Result};

/// Migrations in order; `MIGRATIONS[i]` takes a database from schema version `i` to `i + 1`.
/// Never edit a released one: append a new one.
const MIGRATIONS: &[&str] = &[
    // 1: secrets, their versions (Fernet tokens with the id of the key that sealed them) and
    // stage labels (one version per label and secret).
    "CREATE TABLE secrets (
         name       TEXT PRIMARY KEY NOT NULL,
         created    INTEGER NOT NULL,
         rotated_at INTEGER
     ) STRICT;
     CREATE TABLE versions (
         id      INTEGER PRIMARY KEY,
         name    TEXT NOT NULL REFERENCES secrets(name) ON DELETE CASCADE,
         version INTEGER NOT NULL,
         created INTEGER NOT NULL,
         key_id  TEXT NOT NULL,
         token   TEXT NOT NULL,
         UNIQUE (name, version)
     ) STRICT;
     CREATE TABLE stages (
         name    TEXT NOT NULL,
         stage   TEXT NOT NULL,
         version INTEGER NOT NULL,
         PRIMARY KEY (name, stage),
         FOREIGN KEY (name, version) REFERENCES versions(name, version) ON DELETE CASCADE
     ) STRICT;",
    // 2: the audit trail: who did what to which secret, when; never a value.
    "CREATE TABLE audit (
         id        INTEGER PRIMARY KEY,
         at        INTEGER NOT NULL,
         name      TEXT,
         operation TEXT NOT NULL,
         pid       INTEGER NOT NULL
     ) STRICT;
     CREATE INDEX audit_name ON audit(name);",
];

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Sets the connection up for several processes and durable writes: WAL journal, a busy
/// timeout, `synchronous=FULL` (an acknowledged commit survives power loss) and foreign keys.
pub(crate) fn configure(conn: &Connection, busy_timeout: Duration) -> Result<()> {
    conn.busy_timeout(busy_timeout).map_err(db)?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(db)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::Backend {
            store: "sqlite",
            message: format!("the database refused WAL mode (journal mode is {mode})"),
        });
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(db)?;
    conn.pragma_update(None, "foreign_keys", true).map_err(db)?;
    Ok(())
}

/// Brings the database to [`SCHEMA_VERSION`] in one transaction; returns the version found.
/// Refuses a database from a newer build.
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<u32> {
    apply(conn, path, MIGRATIONS)
}

/// Applies `migrations` past the database's version (the whole list in the build, a prefix in
/// tests).
fn apply(conn: &mut Connection, path: &Path, migrations: &[&str]) -> Result<u32> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db)?;
    let found: i64 = tx
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(db)?;
    let from = u32::try_from(found)
        .ok()
        .filter(|v| *v <= SCHEMA_VERSION)
        .ok_or_else(|| Error::SchemaTooNew {
            path: path.into(),
            found,
            supported: SCHEMA_VERSION,
        })?;
    for (i, sql) in migrations.iter().enumerate().skip(from as usize) {
        tx.execute_batch(sql).map_err(db)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)
            .map_err(db)?;
    }
    tx.commit().map_err(db)?;
    Ok(from)
}

/// The database's schema version.
pub(crate) fn version(conn: &Connection) -> Result<u32> {
    let v: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(db)?;
    Ok(u32::try_from(v).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_migration_applies_on_top_of_the_previous_one() {
        let mut conn = Connection::open_in_memory().unwrap();
        let path = Path::new(":memory:");
        assert_eq!(apply(&mut conn, path, &MIGRATIONS[..1]).unwrap(), 0);
        conn.execute(
            "INSERT INTO secrets(name, created, rotated_at) VALUES ('a', 1, 1)",
            [],
        )
        .unwrap();
        assert_eq!(migrate(&mut conn, path).unwrap(), 1);
        assert_eq!(version(&conn).unwrap(), SCHEMA_VERSION);
        let kept: i64 = conn
            .query_row("SELECT COUNT(*) FROM secrets", [], |r| r.get(0))
            .unwrap();
        assert_eq!(kept, 1);
        assert_eq!(migrate(&mut conn, path).unwrap(), SCHEMA_VERSION);
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        let err = migrate(&mut conn, Path::new("v.db")).unwrap_err();
        assert!(
            matches!(err, Error::SchemaTooNew { found: 99, .. }),
            "{err}"
        );
    }
}
