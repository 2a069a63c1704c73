//! The encrypted SQLite vault, the embedded default store.
//!
//! One database file holds every secret's versions as Fernet tokens sealed by the master
//! [`KeyRing`], with the id of the key that sealed each row, stage labels, and an audit trail.
//! The file is refused, like a key file, when group or others can access it, and new files are
//! created with mode 0600 (SQLite gives its `-wal` and `-shm` files the database's mode).
//!
//! Several processes can share one vault: the journal is in WAL mode, writers wait up to a busy
//! timeout (5 s unless set with [`SqliteVault::with_busy_timeout`]), each write is one immediate
//! transaction and `synchronous=FULL` makes an acknowledged write durable.
//!
//! The database records the id of its active master key (ids are one-way digests, not
//! secrets). Every write checks, in its own immediate transaction, that it seals under that
//! key: a handle that opened the vault before another process rotated the key reads its key
//! file again ([`SqliteVault::open_with_key_file`]) or is refused with
//! [`Error::WrongMasterKey`], and so is a key that does not open
//! the vault. Nothing is ever sealed under a retired or a wrong key.
//!
//! Deleted and re-encrypted rows do not linger: `secure_delete` is on for every connection (freed
//! space is overwritten with zeros), and a delete or a master-key rotation ends with a
//! checkpoint that empties the write-ahead log when no other connection is reading it.
//!
//! The file's checks (owner, mode, not a symbolic link) run on one descriptor; SQLite then
//! opens the path again with `SQLITE_OPEN_NOFOLLOW`, and the file it finds there must be the
//! one that was checked (same device and inode), so a file or a link swapped in between is
//! refused.
//!
//! The [`SecretStore`](crate::SecretStore) methods are `async` but SQLite is synchronous and
//! local: each call takes the vault's connection lock and does its work inline, without
//! `spawn_blocking`. Calls are short (one indexed query or one small transaction); only
//! [`SqliteVault::rotate_master_key`], which is synchronous, runs long. A read is one cached
//! `SELECT` (see `sqlite::read`).
//!
//! Reads are audited by default, each read's row committed (and so `fsync`ed) before the read
//! answers. [`SqliteVault::with_grouped_read_audit`] commits read rows in batches instead, from
//! a writer thread, under the durability contract of [`GroupCommit`](crate::audit::GroupCommit)
//! (bounded loss on a crash, never dropped, waits when full, errors to
//! [`SqliteVault::flush_read_audit`]); writes keep their row in their own transaction.

mod audit;
mod chain;
mod files;
mod master_key;
mod policy;
mod read;
mod read_audit;
mod revoke;
mod rotate;
mod schema;
mod store;
mod write;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use keyward_core_crypto::keyfile::write_key_file;
use keyward_core_crypto::private_file::Overwrite;
use keyward_core_crypto::{FernetKey, KeyRing};
use rusqlite::Connection;

use crate::age::RotationPolicy;
use crate::error::{Error, Result};
use crate::{Clock, SystemClock};

pub use crate::age::CredentialAge;
pub use audit::AuditEntry;
pub use chain::{ChainCheck, VAULT_SUBJECT};
pub use rotate::RotationProgress;
pub use schema::SCHEMA_VERSION;

/// How long a writer waits for another process's transaction unless configured.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The encrypted SQLite vault. See the [module docs](self).
pub struct SqliteVault {
    /// The connection and the key ring, behind one lock so that a master-key rotation swaps the
    /// ring exactly when its transaction commits.
    inner: Mutex<Inner>,
    path: PathBuf,
    clock: Arc<dyn Clock>,
    policy: RotationPolicy,
    audit_reads: bool,
    /// The master key file, read again when another process has rotated the key.
    key_file: Option<PathBuf>,
    /// The audit log the trail is chained into, if one is attached.
    chain: Option<chain::Chain>,
    /// The queue of read rows, when reads are audited in groups.
    read_queue: Option<crate::audit::GroupCommit<read_audit::ReadRow>>,
}

/// What the lock guards.
struct Inner {
    conn: Connection,
    ring: KeyRing,
}

impl SqliteVault {
    /// Creates a new vault at `path` with a freshly generated master key, written to
    /// `<path>.key` (mode 0600). Returns the vault and the key file's path. Fails if either file
    /// exists.
    pub fn create(path: impl AsRef<Path>) -> Result<(Self, PathBuf)> {
        let path = path.as_ref();
        let key_path = files::key_path(path);
        files::ensure_absent(path)?;
        files::ensure_absent(&key_path)?;
        let key = FernetKey::generate()?;
        write_key_file(&key_path, &key, Overwrite::No)?;
        let mut vault = Self::create_with_ring(path, KeyRing::new(key))?;
        vault.key_file = Some(key_path.clone());
        Ok((vault, key_path))
    }

    /// Creates a new vault at `path` (mode 0600) sealed by `ring`, whose keys the caller keeps.
    /// Fails if the file exists.
    pub fn create_with_ring(path: impl AsRef<Path>, ring: KeyRing) -> Result<Self> {
        files::create_db_file(path.as_ref())?;
        let vault = Self::open(path, ring)?;
        {
            let inner = vault.lock();
            master_key::record(&inner.conn, &inner.ring.primary_id().to_string())?;
        }
        Ok(vault)
    }

    /// Opens an existing vault (an empty file is a vault with no secrets) with `ring`, bringing
    /// its schema up to date. Refuses a file that group or others can access, a symbolic link,
    /// and a file swapped in while it was being opened. Writes are refused
    /// ([`Error::WrongMasterKey`]) unless `ring`'s primary key is the vault's active master key.
    pub fn open(path: impl AsRef<Path>, ring: KeyRing) -> Result<Self> {
        let path = path.as_ref();
        let mut conn = files::open_checked(path)?;
        schema::migrate(&mut conn, path)?;
        Ok(Self {
            inner: Mutex::new(Inner { conn, ring }),
            path: path.into(),
            clock: Arc::new(SystemClock),
            policy: RotationPolicy::default(),
            audit_reads: true,
            key_file: None,
            chain: None,
            read_queue: None,
        })
    }

    /// Opens the vault at `path` with the master key in `key_file` (refused if group or others
    /// can access it). If a key-file rotation was interrupted (`<key_file>.next` exists), the
    /// ring holds both keys, so every row stays readable whichever way the rotation ended; the
    /// key that seals new rows is the one the vault records as active (`<key_file>.next` only
    /// if the rotation committed). When another process rotates the key later, the next write
    /// or read that meets the new key reads `key_file` again.
    pub fn open_with_key_file(path: impl AsRef<Path>, key_file: impl AsRef<Path>) -> Result<Self> {
        let key_file = key_file.as_ref();
        let mut vault = Self::open(path, master_key::ring_from_key_file(key_file, None)?)?;
        {
            let mut inner = vault.lock();
            let active = master_key::active(&inner.conn)?;
            inner.ring = master_key::ring_from_key_file(key_file, active.as_deref())?;
        }
        vault.key_file = Some(key_file.into());
        Ok(vault)
    }

    /// The master key file [`SqliteVault::create`] writes for a vault at `path`: `<path>.key`.
    pub fn key_path(path: impl AsRef<Path>) -> PathBuf {
        files::key_path(path.as_ref())
    }

    /// Reads time from `clock` (for rotation age and timestamps) instead of the system clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Uses `policy` to decide when a credential is due for rotation (90 days by default).
    pub fn with_rotation_policy(mut self, policy: RotationPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Whether reads are recorded in the audit trail (they are by default; writes always are).
    pub fn with_read_audit(mut self, audit_reads: bool) -> Self {
        self.audit_reads = audit_reads;
        self
    }

    /// How long a write waits for another process's transaction before failing.
    pub fn with_busy_timeout(self, timeout: Duration) -> Result<Self> {
        self.lock().conn.busy_timeout(timeout).map_err(db)?;
        Ok(self)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The database's schema version ([`SCHEMA_VERSION`] once opened).
    pub fn schema_version(&self) -> Result<u32> {
        schema::version(&self.lock().conn)
    }

    /// The id of the vault's active master key (the one every new row is sealed under), if one
    /// is recorded. Key ids are not secret.
    pub fn active_key_id(&self) -> Result<Option<String>> {
        master_key::active(&self.lock().conn)
    }

    /// The audit trail, oldest first.
    /// With grouped read audit, waits first for the queued read rows.
    pub fn audit_log(&self) -> Result<Vec<AuditEntry>> {
        self.settle_reads();
        audit::entries(&self.lock().conn)
    }

    /// Takes the lock. A panic in another call cannot leave a transaction open (rusqlite rolls
    /// back on drop), so a poisoned lock is still usable.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The current time from the vault's clock (its wall time; the vault keeps milliseconds).
    fn now(&self) -> SystemTime {
        from_millis(i64::try_from(self.clock.now_ms()).unwrap_or(i64::MAX))
    }
}

impl fmt::Debug for SqliteVault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteVault")
            .field("path", &self.path)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// A database error as the crate's error. SQLite's messages name tables and constraints, never
/// bound values.
fn db(e: rusqlite::Error) -> Error {
    Error::Backend {
        store: "sqlite",
        message: e.to_string(),
    }
}

/// A time as milliseconds since the Unix epoch, as the database stores it.
fn to_millis(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
    }
}

/// The inverse of [`to_millis`].
fn from_millis(ms: i64) -> SystemTime {
    let d = Duration::from_millis(ms.unsigned_abs());
    let t = if ms >= 0 {
        UNIX_EPOCH.checked_add(d)
    } else {
        UNIX_EPOCH.checked_sub(d)
    };
    t.unwrap_or(UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_through_millis() {
        for ms in [0, 1, -1, 1_700_000_000_123, -86_400_000] {
            assert_eq!(to_millis(from_millis(ms)), ms);
        }
    }
}
