//! The vault's schema, its migrations (counted by `PRAGMA user_version`) and the connection's
//! settings.

use std::path::Path;
use std::time::Duration;

use rusqlite::config::DbConfig;
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
    // 3: the id of the active master key, the only key new rows may be sealed under. A vault
    // whose rows are all under one key records that key; one with rows under several keys (left
    // by a write racing a rotation before this schema) records none until a write or a
    // rotation with a key that opens it.
    "CREATE TABLE master_key (
         id     INTEGER PRIMARY KEY CHECK (id = 1),
         key_id TEXT NOT NULL
     ) STRICT;
     INSERT INTO master_key(id, key_id)
         SELECT 1, key_id FROM versions GROUP BY key_id
         HAVING (SELECT COUNT(DISTINCT key_id) FROM versions) = 1;",
    // 4: revocations on the secret's row (the version marked compromised, when and why; NULL
    // when it is not revoked, cleared when another version becomes current), and the audit
    // trail's place in an attached audit log's hash chain (the entry's sequence number and
    // line hash; NULL until it is chained).
    "ALTER TABLE secrets ADD COLUMN revoked_version INTEGER;
     ALTER TABLE secrets ADD COLUMN revoked_at INTEGER;
     ALTER TABLE secrets ADD COLUMN revoked_reason TEXT;
     ALTER TABLE audit ADD COLUMN chain_seq INTEGER;
     ALTER TABLE audit ADD COLUMN chain_hash TEXT;",
];

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Sets the connection up for several processes and durable writes: WAL journal, a busy
/// timeout, `synchronous=FULL` (an acknowledged commit survives power loss), foreign keys,
/// `secure_delete` (deleted or re-encrypted ciphertext is overwritten, not left in free pages)
/// and stable query plans (cached statements are not re-prepared per call).
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
    conn.pragma_update(None, "secure_delete", true)
        .map_err(db)?;
    // The bundled SQLite has STAT4, which re-plans a statement whenever a value bound to a
    // compared column changes: every cached statement was re-prepared on every call (61 % of a
    // read's instructions). The query planner stability guarantee keeps each plan; the vault's
    // queries are all index lookups, whose plan does not depend on the values.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
        .map_err(db)?;
    Ok(())
}

/// Moves the write-ahead log into the database and empties it, so that pages holding deleted
/// or replaced ciphertext do not stay in the log. Best effort: while another connection reads,
/// the log cannot be emptied and is left for a later checkpoint.
pub(crate) fn checkpoint(conn: &Connection) {
    let done = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
        row.get::<_, i64>(0)
    });
    if !matches!(done, Ok(0)) {
        tracing::debug!(target: "keyward_secrets::sqlite", "the write-ahead log is in use; it is emptied at a later checkpoint");
    }
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
    fn migration_3_records_the_key_of_a_vault_with_one_key_and_none_for_several() {
        for (keys, expected) in [
            (&["k1", "k1"][..], Some("k1")),
            (&["k1", "k2"][..], None),
            (&[][..], None),
        ] {
            let mut conn = Connection::open_in_memory().unwrap();
            let path = Path::new(":memory:");
            apply(&mut conn, path, &MIGRATIONS[..2]).unwrap();
            conn.execute("INSERT INTO secrets(name, created) VALUES ('a', 1)", [])
                .unwrap();
            for (v, key) in keys.iter().enumerate() {
                conn.execute(
                    "INSERT INTO versions(name, version, created, key_id, token) \
                     VALUES ('a', ?1, 1, ?2, 't')",
                    rusqlite::params![v as i64 + 1, key],
                )
                .unwrap();
            }
            migrate(&mut conn, path).unwrap();
            let found = crate::sqlite::master_key::active(&conn).unwrap();
            assert_eq!(found.as_deref(), expected, "{keys:?}");
        }
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
