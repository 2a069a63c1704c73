//! An encrypted file store: one file holding a Fernet-encrypted JSON document of every secret
//! and its versions, mode 0600, replaced atomically, refused when group or others can read it.
//!
//! Writers on one machine take an exclusive `flock` on `<file>.lock` around read-modify-write,
//! so two processes never lose each other's update.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use keyward_core_crypto::KeyRing;
use keyward_core_crypto::private_file::{Overwrite, read_private_file, write_private_file};
use keyward_core_crypto::secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::store::{
    CURRENT, Capabilities, Metadata, PENDING, PREVIOUS, Secret, SecretStore, Selector,
    validate_name,
};
use crate::value::SecretValue;

/// The largest store file read.
const MAX_FILE_LEN: u64 = 64 * 1024 * 1024;

#[derive(Serialize, Deserialize, Default)]
struct Document {
    secrets: BTreeMap<String, Vec<Version>>,
}

#[derive(Serialize, Deserialize, Clone)]
struct Version {
    version: u64,
    created: u64,
    stages: Vec<String>,
    /// Base64 of the value's stored form (inside the encrypted document).
    value: String,
}

impl Version {
    fn meta(&self, name: &str) -> Metadata {
        Metadata {
            name: name.to_owned(),
            version: self.version.to_string(),
            created: Some(UNIX_EPOCH + Duration::from_secs(self.created)),
            stages: self.stages.clone(),
            rotation_due: None,
        }
    }
}

/// The encrypted file store.
pub struct FileStore {
    path: PathBuf,
    ring: KeyRing,
    /// Serialises this process's writers; the `flock` serialises processes.
    local: Mutex<()>,
}

impl FileStore {
    /// A store in `path` (created on the first write), encrypted under `ring`.
    pub fn new(path: impl AsRef<Path>, ring: KeyRing) -> Self {
        Self {
            path: path.as_ref().to_owned(),
            ring,
            local: Mutex::new(()),
        }
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
            let entry = Version {
                version,
                created: now_secs(),
                stages: vec![if pending { PENDING } else { CURRENT }.to_owned()],
                value: STANDARD.encode(&stored[..]),
            };
            let meta = entry.meta(name);
            versions.push(entry);
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

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
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
        let stored = Zeroizing::new(STANDARD.decode(&found.value).map_err(|_| Error::Corrupt {
            name: name.to_owned(),
            reason: "a value is not base64".into(),
        })?);
        Ok(Secret {
            value: SecretValue::from_stored(&stored),
            meta: found.meta(name),
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
            let v = &mut versions[target];
            v.stages.retain(|s| s != PENDING && s != PREVIOUS);
            v.stages.push(CURRENT.to_owned());
            Ok(())
        })
    }

    async fn delete(&self, name: &str) -> Result<()> {
        validate_name(name)?;
        self.modify(|doc| {
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
        Ok(versions.iter().map(|v| v.meta(name)).collect())
    }
}
