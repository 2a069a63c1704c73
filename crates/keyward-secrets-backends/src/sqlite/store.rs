//! The vault as a [`SecretStore`]: numbered versions, stage labels, reads that decrypt, and
//! every change in one transaction with its audit row.

use std::time::SystemTime;

use async_trait::async_trait;
use keyward_core_crypto::{KeyId, KeyRing};
use rusqlite::{Connection, OptionalExtension, params};
use secrecy::ExposeSecret;

use super::audit::{self, op};
use super::revoke;
use super::write::Sealing;
use super::{SqliteVault, db, from_millis, master_key, schema, to_millis};
use crate::age::{CredentialAge, RotationPolicy};
use crate::error::{Error, Result};
use crate::revocation::Revocation;
use crate::store::{
    CURRENT, Capabilities, Metadata, PENDING, PREVIOUS, Secret, SecretStore, Selector,
    validate_name,
};
use crate::value::SecretValue;

impl SqliteVault {
    /// Stores several values in one transaction, each as [`SecretStore::put`] would: all of
    /// them are stored, or none. Returns the new versions' metadata, in order.
    pub fn put_many<'a>(
        &self,
        entries: impl IntoIterator<Item = (&'a str, &'a SecretValue)>,
    ) -> Result<Vec<Metadata>> {
        self.write(Sealing::Checked, |tx, ring, now| {
            let mut metas = Vec::new();
            for (name, value) in entries {
                validate_name(name)?;
                let version = insert_version(tx, ring, name, value, now)?;
                make_current(tx, name, version, now)?;
                audit::record(tx, now, Some(name), op::PUT)?;
                metas.push(metadata(tx, name, version, &self.policy, now)?);
            }
            Ok(metas)
        })
    }

    /// Stores a new version, made current or labelled pending.
    fn store(&self, name: &str, value: &SecretValue, current: bool) -> Result<Metadata> {
        validate_name(name)?;
        self.write(Sealing::Checked, |tx, ring, now| {
            let version = insert_version(tx, ring, name, value, now)?;
            if current {
                make_current(tx, name, version, now)?;
            } else {
                tx.execute(
                    "INSERT OR REPLACE INTO stages(name, stage, version) VALUES (?1, ?2, ?3)",
                    params![name, PENDING, version],
                )
                .map_err(db)?;
            }
            let operation = if current { op::PUT } else { op::PUT_PENDING };
            audit::record(tx, now, Some(name), operation)?;
            metadata(tx, name, version, &self.policy, now)
        })
    }

    fn get_sync(&self, name: &str, which: &Selector) -> Result<Secret> {
        validate_name(name)?;
        let now = self.now();
        let mut inner = self.lock();
        let found = super::read::find(&inner.conn, name, which)?;
        // A row sealed under a key this handle does not hold: another process rotated the master
        // key since this handle opened the vault; the key file has it.
        let known = found
            .key_id
            .parse::<KeyId>()
            .is_ok_and(|id| inner.ring.keys().iter().any(|k| k.id() == id));
        if let (false, Some(key_file)) = (known, self.key_file.as_deref()) {
            let active = master_key::active(&inner.conn)?;
            inner.ring = master_key::ring_from_key_file(key_file, active.as_deref())?;
        }
        let plain = inner
            .ring
            .decrypt(&found.token)
            .map_err(|_| unreadable(name, &found.key_id, &inner.ring))?;
        drop(inner);
        let value = SecretValue::from_stored(plain.expose_secret());
        let meta = Metadata {
            name: name.to_owned(),
            version: found.version.to_string(),
            created: Some(from_millis(found.created)),
            stages: found.stages,
            rotation_due: found
                .rotated_at
                .map(|at| self.policy.is_due(from_millis(at), now)),
        };
        if self.audit_reads {
            self.audit_read(name, now)?;
        }
        Ok(Secret { value, meta })
    }

    fn promote_sync(&self, name: &str, version: &str) -> Result<()> {
        validate_name(name)?;
        self.write(Sealing::None, |tx, _, now| {
            let number = resolve(tx, name, &Selector::Version(version.to_owned()))?;
            make_current(tx, name, number, now)?;
            audit::record(tx, now, Some(name), op::PROMOTE)
        })
    }

    fn delete_sync(&self, name: &str) -> Result<()> {
        validate_name(name)?;
        let ((), inner) = self.write_locked(Sealing::None, |tx, _, now| {
            let deleted = tx
                .execute("DELETE FROM secrets WHERE name = ?1", params![name])
                .map_err(db)?;
            if deleted == 0 {
                return Err(not_found(name, None));
            }
            audit::record(tx, now, Some(name), op::DELETE)
        })?;
        schema::checkpoint(&inner.conn);
        Ok(())
    }

    fn list_sync(&self) -> Result<Vec<String>> {
        let inner = self.lock();
        let mut stmt = inner
            .conn
            .prepare("SELECT name FROM secrets ORDER BY name")
            .map_err(db)?;
        let names = stmt.query_map([], |row| row.get(0)).map_err(db)?;
        names.collect::<rusqlite::Result<_>>().map_err(db)
    }

    fn versions_sync(&self, name: &str) -> Result<Vec<Metadata>> {
        validate_name(name)?;
        let now = self.now();
        let inner = self.lock();
        let numbers: Vec<i64> = {
            let mut stmt = inner
                .conn
                .prepare("SELECT version FROM versions WHERE name = ?1 ORDER BY version")
                .map_err(db)?;
            let rows = stmt.query_map([name], |row| row.get(0)).map_err(db)?;
            rows.collect::<rusqlite::Result<_>>().map_err(db)?
        };
        if numbers.is_empty() {
            return Err(not_found(name, None));
        }
        numbers
            .into_iter()
            .map(|v| metadata(&inner.conn, name, v, &self.policy, now))
            .collect()
    }

    fn metadata_sync(&self, name: &str) -> Result<Metadata> {
        validate_name(name)?;
        let now = self.now();
        let inner = self.lock();
        let version = resolve(&inner.conn, name, &Selector::Current)?;
        metadata(&inner.conn, name, version, &self.policy, now)
    }
}

#[async_trait]
impl SecretStore for SqliteVault {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            writable: true,
            versioned: true,
            stages: true,
        }
    }

    async fn get(&self, name: &str, which: &Selector) -> Result<Secret> {
        let result = self.get_sync(name, which);
        self.chain_pending().await;
        result
    }

    async fn put(&self, name: &str, value: &SecretValue) -> Result<Metadata> {
        let result = self.store(name, value, true);
        self.chain_pending().await;
        result
    }

    async fn put_pending(&self, name: &str, value: &SecretValue) -> Result<Metadata> {
        let result = self.store(name, value, false);
        self.chain_pending().await;
        result
    }

    async fn promote(&self, name: &str, version: &str) -> Result<()> {
        let result = self.promote_sync(name, version);
        self.chain_pending().await;
        result
    }

    async fn delete(&self, name: &str) -> Result<()> {
        let result = self.delete_sync(name);
        self.chain_pending().await;
        result
    }

    async fn list(&self) -> Result<Vec<String>> {
        self.list_sync()
    }

    async fn versions(&self, name: &str) -> Result<Vec<Metadata>> {
        self.versions_sync(name)
    }

    async fn metadata(&self, name: &str) -> Result<Metadata> {
        self.metadata_sync(name)
    }

    async fn revoke(&self, name: &str, reason: Option<&str>) -> Result<Revocation> {
        let result = self.revoke_sync(name, reason);
        self.chain_pending().await;
        result
    }

    async fn revocation(&self, name: &str) -> Result<Option<Revocation>> {
        self.revocation_sync(name)
    }

    async fn revocations(&self) -> Result<Vec<Revocation>> {
        self.revocations_sync()
    }

    /// The vault's [`SqliteVault::credential_ages`].
    async fn credential_ages(&self) -> Result<Vec<CredentialAge>> {
        SqliteVault::credential_ages(self)
    }
}

/// Seals `value` under the ring's primary key as the secret's next version; returns its number.
fn insert_version(
    conn: &Connection,
    ring: &KeyRing,
    name: &str,
    value: &SecretValue,
    now: SystemTime,
) -> Result<i64> {
    let at = to_millis(now);
    conn.prepare_cached(
        "INSERT INTO secrets(name, created) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
    )
    .and_then(|mut stmt| stmt.execute(params![name, at]))
    .map_err(db)?;
    let version: i64 = conn
        .prepare_cached("SELECT COALESCE(MAX(version), 0) + 1 FROM versions WHERE name = ?1")
        .and_then(|mut stmt| stmt.query_row([name], |row| row.get(0)))
        .map_err(db)?;
    let secs = u64::try_from(at / 1000).unwrap_or_default();
    let token = ring.encrypt_at(&value.to_stored(), secs);
    conn.prepare_cached(
        "INSERT INTO versions(name, version, created, key_id, token) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            name,
            version,
            at,
            ring.primary_id().to_string(),
            token
        ])
    })
    .map_err(db)?;
    Ok(version)
}

/// Makes `version` current: the old current becomes previous, a pending label on `version` is
/// removed, and the secret's rotation age restarts.
fn make_current(conn: &Connection, name: &str, version: i64, now: SystemTime) -> Result<()> {
    let old = stage_version(conn, name, CURRENT)?;
    let run = |sql: &str, params: &[&dyn rusqlite::ToSql]| {
        conn.prepare_cached(sql)
            .and_then(|mut stmt| stmt.execute(params))
            .map_err(db)
    };
    run(
        "DELETE FROM stages WHERE name = ?1 AND stage = ?2 AND version = ?3",
        &[&name, &PENDING, &version],
    )?;
    revoke::clear_replaced(conn, name, version)?;
    if old == Some(version) {
        return Ok(());
    }
    if old.is_some() {
        run(
            "INSERT OR REPLACE INTO stages(name, stage, version) \
             SELECT name, ?2, version FROM stages WHERE name = ?1 AND stage = ?3",
            &[&name, &PREVIOUS, &CURRENT],
        )?;
    }
    run(
        "INSERT OR REPLACE INTO stages(name, stage, version) VALUES (?1, ?2, ?3)",
        &[&name, &CURRENT, &version],
    )?;
    run(
        "UPDATE secrets SET rotated_at = ?2 WHERE name = ?1",
        &[&name, &to_millis(now)],
    )?;
    Ok(())
}

/// The version carrying `stage`, if any.
fn stage_version(conn: &Connection, name: &str, stage: &str) -> Result<Option<i64>> {
    conn.prepare_cached("SELECT version FROM stages WHERE name = ?1 AND stage = ?2")
        .and_then(|mut stmt| stmt.query_row([name, stage], |row| row.get(0)).optional())
        .map_err(db)
}

/// The version number a selector names; [`Error::NotFound`] if there is none.
pub(super) fn resolve(conn: &Connection, name: &str, which: &Selector) -> Result<i64> {
    let (found, detail) = match which {
        Selector::Current => (stage_version(conn, name, CURRENT)?, None),
        Selector::Stage(stage) => (
            stage_version(conn, name, stage)?,
            Some(format!("stage {stage}")),
        ),
        Selector::Version(v) => {
            let number = match v.parse::<i64>() {
                Ok(n) => conn
                    .prepare_cached("SELECT version FROM versions WHERE name = ?1 AND version = ?2")
                    .and_then(|mut stmt| {
                        stmt.query_row(params![name, n], |row| row.get(0))
                            .optional()
                    })
                    .map_err(db)?,
                Err(_) => None,
            };
            (number, Some(format!("version {v}")))
        }
    };
    found.ok_or_else(|| not_found(name, detail))
}

/// What the vault knows about one version (never the value).
fn metadata(
    conn: &Connection,
    name: &str,
    version: i64,
    policy: &RotationPolicy,
    now: SystemTime,
) -> Result<Metadata> {
    let (created, rotated_at): (i64, Option<i64>) = conn
        .prepare_cached(
            "SELECT v.created, s.rotated_at FROM versions v JOIN secrets s ON s.name = v.name \
             WHERE v.name = ?1 AND v.version = ?2",
        )
        .and_then(|mut stmt| stmt.query_row(params![name, version], |r| Ok((r.get(0)?, r.get(1)?))))
        .map_err(db)?;
    let stages = conn
        .prepare_cached("SELECT stage FROM stages WHERE name = ?1 AND version = ?2 ORDER BY stage")
        .and_then(|mut stmt| {
            stmt.query_map(params![name, version], |row| row.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()
        })
        .map_err(db)?;
    Ok(Metadata {
        name: name.to_owned(),
        version: version.to_string(),
        created: Some(from_millis(created)),
        stages,
        rotation_due: rotated_at.map(|at| policy.is_due(from_millis(at), now)),
    })
}

/// The error for a token the ring cannot open, naming the key that sealed it (ids are not
/// secret).
fn unreadable(name: &str, key_id: &str, ring: &KeyRing) -> Error {
    let known = ring.key_ids().iter().any(|id| id.to_string() == key_id);
    let reason = if known {
        format!("the token sealed by key {key_id} fails verification (altered or corrupt)")
    } else {
        format!("it is sealed by master key {key_id}, which is not in the key ring")
    };
    Error::Corrupt {
        name: name.to_owned(),
        reason,
    }
}

/// A secret (or one of its versions or stages) that does not exist.
fn not_found(name: &str, detail: Option<String>) -> Error {
    Error::NotFound {
        name: name.to_owned(),
        detail,
    }
}
