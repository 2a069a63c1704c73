//! An encrypted file store: one file holding a Fernet-encrypted JSON document of every secret
//! and its versions, mode 0600, replaced atomically, refused when group or others can read it.
//!
//! Each version keeps its creation date and when it became current, so the store reports
//! rotation age (`Metadata::rotation_due`, [`SecretStore::credential_ages`]) under a
//! [`RotationPolicy`] (90 days unless configured) on an injectable [`Clock`]. Revocations are
//! kept in the document beside the secrets (see [`crate::revocation`]).
//!
//! Writers on one machine take an exclusive `flock` on `<file>.lock` around read-modify-write,
//! so two processes never lose each other's update.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use keyward_core_crypto::KeyRing;
use keyward_core_crypto::private_file::{Overwrite, read_private_file, write_private_file};
use keyward_core_crypto::secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::age::{CredentialAge, RotationPolicy};
use crate::error::{Error, Result};
use crate::revocation::{Revocation, from_ms, validate_reason};
use crate::store::{
    CURRENT, Capabilities, Metadata, PENDING, PREVIOUS, Secret, SecretStore, Selector,
    validate_name,
};
use crate::value::SecretValue;
use crate::{Clock, SystemClock};

/// The largest store file read.
const MAX_FILE_LEN: u64 = 64 * 1024 * 1024;

#[derive(Serialize, Deserialize, Default)]
struct Document {
    secrets: BTreeMap<String, Vec<Version>>,
    /// Revocations not yet replaced, by secret name (absent in documents written before
    /// revocation existed).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    revoked: BTreeMap<String, Revoked>,
}

#[derive(Serialize, Deserialize, Clone)]
struct Version {
    version: u64,
    /// When it was stored, in seconds since the Unix epoch.
    created: u64,
    /// When it last became current (by `put` or `promote`), in seconds since the Unix epoch;
    /// its rotation age counts from then (absent in documents written before: `created`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    current_since: Option<u64>,
    stages: Vec<String>,
    /// Base64 of the value's stored form (inside the encrypted document).
    value: String,
}

/// A revocation as the document keeps it.
#[derive(Serialize, Deserialize, Clone)]
struct Revoked {
    version: u64,
    at_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

impl Revoked {
    fn public(&self, name: &str) -> Revocation {
        Revocation {
            name: name.to_owned(),
            version: self.version.to_string(),
            at: from_ms(self.at_ms),
            reason: self.reason.clone(),
        }
    }
}

impl Version {
    fn is_current(&self) -> bool {
        self.stages.iter().any(|s| s == CURRENT)
    }

    /// When its rotation age starts.
    fn rotated_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.current_since.unwrap_or(self.created))
    }

    fn meta(&self, name: &str, policy: &RotationPolicy, now: SystemTime) -> Metadata {
        Metadata {
            name: name.to_owned(),
            version: self.version.to_string(),
            created: Some(UNIX_EPOCH + Duration::from_secs(self.created)),
            stages: self.stages.clone(),
            rotation_due: self
                .is_current()
                .then(|| policy.is_due(self.rotated_at(), now)),
        }
    }
}

/// The encrypted file store.
pub struct FileStore {
    path: PathBuf,
    ring: KeyRing,
    /// Serialises this process's writers; the `flock` serialises processes.
    local: Mutex<()>,
    clock: Arc<dyn Clock>,
    policy: RotationPolicy,
}

impl FileStore {
    /// A store in `path` (created on the first write), encrypted under `ring`.
    pub fn new(path: impl AsRef<Path>, ring: KeyRing) -> Self {
        Self {
            path: path.as_ref().to_owned(),
            ring,
            local: Mutex::new(()),
            clock: Arc::new(SystemClock),
            policy: RotationPolicy::default(),
        }
    }

    /// Reads time from `clock` (versions' dates, rotation age, revocation times) instead of the
    /// system clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Uses `policy` to decide when a credential is due for rotation (90 days by default).
    #[must_use]
    pub fn with_rotation_policy(mut self, policy: RotationPolicy) -> Self {
        self.policy = policy;
        self
    }

    fn now(&self) -> SystemTime {
        from_ms(self.clock.now_ms())
    }

    fn now_secs(&self) -> u64 {
        self.clock.now_ms() / 1000
    }

    fn meta(&self, name: &str, version: &Version) -> Metadata {
        version.meta(name, &self.policy, self.now())
    }

    fn read(&self) -> Result<Document> {
        if std::fs::symlink_metadata(&self.path).is_err() {
            return Ok(Document::default());
        }
        let token = read_private_file(&self.path, MAX_FILE_LEN)?;
        let plain = self.ring.decrypt(&token[..])?;
        serde_json::from_slice(plain.expose_secret()).map_err(|e| Error::Corrupt {
            name: self.path.display().to_string(),
            reason: format!("not a keyward file store document (at line {})", e.line()),
        })
    }

    fn write(&self, doc: &Document) -> Result<()> {
        let plain = Zeroizing::new(serde_json::to_vec(doc).map_err(|e| Error::Corrupt {
            name: self.path.display().to_string(),
            reason: e.to_string(),
        })?);
        let mut token = self.ring.encrypt(&plain);
        token.push('\n');
        Ok(write_private_file(
            &self.path,
            token.as_bytes(),
            Overwrite::Yes,
        )?)
    }

    /// Runs `f` on the document under both locks and writes it back.
    fn modify<T>(&self, f: impl FnOnce(&mut Document) -> Result<T>) -> Result<T> {
        let _local = self
            .local
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let _lock = lock_file(&self.path)?;
        let mut doc = self.read()?;
        let out = f(&mut doc)?;
        self.write(&doc)?;
        Ok(out)
    }

    fn add_version(&self, name: &str, value: &SecretValue, pending: bool) -> Result<Metadata> {
        validate_name(name)?;
        let stored = value.to_stored();
        self.modify(|doc| {
            let versions = doc.secrets.entry(name.to_owned()).or_default();
            if !pending {
                shift_current(versions);
            }
            let version = versions.last().map_or(1, |v| v.version + 1);
            let now = self.now_secs();
            let entry = Version {
                version,
                created: now,
                current_since: (!pending).then_some(now),
                stages: vec![if pending { PENDING } else { CURRENT }.to_owned()],
                value: STANDARD.encode(&stored[..]),
            };
            let meta = self.meta(name, &entry);
            versions.push(entry);
            if !pending {
                // Replaced: the revoked version is no longer current.
                doc.revoked.remove(name);
            }
            Ok(meta)
        })
    }
}

/// Moves `current` to `previous` (dropping the old `previous` label).
fn shift_current(versions: &mut [Version]) {
    for v in versions.iter_mut() {
        v.stages.retain(|s| s != PREVIOUS);
        if let Some(i) = v.stages.iter().position(|s| s == CURRENT) {
            v.stages[i] = PREVIOUS.to_owned();
        }
    }
}

fn not_found(name: &str, detail: Option<String>) -> Error {
    Error::NotFound {
        name: name.to_owned(),
        detail,
    }
}

/// An exclusive lock on `<path>.lock`, released when the returned file is dropped. The lock
/// file is opened without following a symbolic link (`O_NOFOLLOW`), and must be a regular file
/// of this user (or root): a link planted there cannot make a write create or truncate another
/// file.
#[cfg(unix)]
fn lock_file(path: &Path) -> Result<std::fs::File> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let lock_path = PathBuf::from(lock_path);
    let io = |source| Error::Io {
        action: "lock",
        path: lock_path.clone(),
        source,
    };
    let refuse = |why: &str| {
        io(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            why.to_owned(),
        ))
    };
    // NONBLOCK: a FIFO planted there fails to open instead of blocking; `flock` still waits.
    let flags =
        rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::CLOEXEC | rustix::fs::OFlags::NONBLOCK;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .custom_flags(flags.bits() as i32)
        .open(&lock_path)
        .map_err(|e| {
            if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
                refuse("it is a symbolic link; remove it")
            } else {
                io(e)
            }
        })?;
    let meta = file.metadata().map_err(io)?;
    if !meta.file_type().is_file() {
        return Err(refuse("it is not a regular file"));
    }
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me && meta.uid() != 0 {
        return Err(refuse("it belongs to another user"));
    }
    rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| io(std::io::Error::from(e)))?;
    Ok(file)
}

/// Off Unix there is no `flock`: writers of one process are still serialised.
#[cfg(not(unix))]
fn lock_file(_: &Path) -> Result<()> {
    Ok(())
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStore")
            .field("path", &self.path)
            .field("ring", &self.ring)
            .finish()
    }
}

#[async_trait]
impl SecretStore for FileStore {
    fn kind(&self) -> &'static str {
        "file"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            writable: true,
            versioned: true,
            stages: true,
        }
    }

    async fn get(&self, name: &str, which: &Selector) -> Result<Secret> {
        validate_name(name)?;
        let doc = self.read()?;
        let versions = doc.secrets.get(name).ok_or_else(|| not_found(name, None))?;
        let found = match which {
            Selector::Current => versions
                .iter()
                .find(|v| v.stages.iter().any(|s| s == CURRENT)),
            Selector::Stage(stage) => versions.iter().find(|v| v.stages.contains(stage)),
            Selector::Version(id) => versions.iter().find(|v| v.version.to_string() == *id),
        }
        .ok_or_else(|| not_found(name, Some(format!("{which:?}"))))?;
        if let Some(revoked) = doc.revoked.get(name).filter(|r| r.version == found.version) {
            return Err(revoked.public(name).refusal());
        }
        let stored = Zeroizing::new(STANDARD.decode(&found.value).map_err(|_| Error::Corrupt {
            name: name.to_owned(),
            reason: "a value is not base64".into(),
        })?);
        Ok(Secret {
            value: SecretValue::from_stored(&stored),
            meta: self.meta(name, found),
        })
    }

    async fn put(&self, name: &str, value: &SecretValue) -> Result<Metadata> {
        self.add_version(name, value, false)
    }

    async fn put_pending(&self, name: &str, value: &SecretValue) -> Result<Metadata> {
        self.add_version(name, value, true)
    }

    async fn promote(&self, name: &str, version: &str) -> Result<()> {
        validate_name(name)?;
        self.modify(|doc| {
            let versions = doc
                .secrets
                .get_mut(name)
                .ok_or_else(|| not_found(name, None))?;
            let target = versions
                .iter()
                .position(|v| v.version.to_string() == version)
                .ok_or_else(|| not_found(name, Some(format!("version {version}"))))?;
            shift_current(versions);
            let now = self.now_secs();
            let v = &mut versions[target];
            v.stages.retain(|s| s != PENDING && s != PREVIOUS);
            v.stages.push(CURRENT.to_owned());
            v.current_since = Some(now);
            let promoted = v.version;
            if doc.revoked.get(name).is_some_and(|r| r.version != promoted) {
                doc.revoked.remove(name);
            }
            Ok(())
        })
    }

    async fn delete(&self, name: &str) -> Result<()> {
        validate_name(name)?;
        self.modify(|doc| {
            doc.revoked.remove(name);
            doc.secrets
                .remove(name)
                .map(|_| ())
                .ok_or_else(|| not_found(name, None))
        })
    }

    async fn list(&self) -> Result<Vec<String>> {
        Ok(self.read()?.secrets.into_keys().collect())
    }

    async fn versions(&self, name: &str) -> Result<Vec<Metadata>> {
        validate_name(name)?;
        let doc = self.read()?;
        let versions = doc.secrets.get(name).ok_or_else(|| not_found(name, None))?;
        Ok(versions.iter().map(|v| self.meta(name, v)).collect())
    }

    /// The current version's metadata, without decoding its value (so a revoked secret's
    /// metadata is still readable).
    async fn metadata(&self, name: &str) -> Result<Metadata> {
        validate_name(name)?;
        let doc = self.read()?;
        let versions = doc.secrets.get(name).ok_or_else(|| not_found(name, None))?;
        let current = versions
            .iter()
            .find(|v| v.is_current())
            .ok_or_else(|| not_found(name, Some(format!("stage {CURRENT}"))))?;
        Ok(self.meta(name, current))
    }

    async fn revoke(&self, name: &str, reason: Option<&str>) -> Result<Revocation> {
        validate_name(name)?;
        let reason = validate_reason(reason)?;
        let at_ms = self.clock.now_ms();
        self.modify(|doc| {
            let versions = doc.secrets.get(name).ok_or_else(|| not_found(name, None))?;
            let current = versions
                .iter()
                .find(|v| v.is_current())
                .ok_or_else(|| not_found(name, Some(format!("stage {CURRENT}"))))?;
            let version = current.version;
            let kept = doc.revoked.entry(name.to_owned()).or_insert(Revoked {
                version,
                at_ms,
                reason,
            });
            Ok(kept.public(name))
        })
    }

    async fn revocation(&self, name: &str) -> Result<Option<Revocation>> {
        validate_name(name)?;
        Ok(self.read()?.revoked.get(name).map(|r| r.public(name)))
    }

    async fn revocations(&self) -> Result<Vec<Revocation>> {
        Ok(self
            .read()?
            .revoked
            .iter()
            .map(|(name, r)| r.public(name))
            .collect())
    }

    /// Each secret's current version's age, from when it became current.
    async fn credential_ages(&self) -> Result<Vec<CredentialAge>> {
        let doc = self.read()?;
        let now = self.now();
        Ok(doc
            .secrets
            .iter()
            .map(|(name, versions)| {
                let at = versions
                    .iter()
                    .find(|v| v.is_current())
                    .map(Version::rotated_at);
                CredentialAge::at(name.clone(), at, &self.policy, now)
            })
            .collect())
    }
}
