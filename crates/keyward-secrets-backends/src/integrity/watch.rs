//! [`IntegrityWatch`]: the digests of the files a process loaded, and the check that finds
//! them changed.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use super::digest::{FileDigest, FileState, hash_file, probe};
use super::record::IntegrityRecord;
use crate::audit::{AuditLog, Event, EventKind, Outcome};
use crate::error::Result;

/// How a watched file differs from what was loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// Its contents changed (the new digest is given).
    Modified(FileDigest),
    /// It is gone.
    Disappeared,
    /// A symbolic link now stands in its place.
    ReplacedBySymlink,
    /// Something other than a regular file stands in its place.
    NotAFile,
    /// It grew past [`MAX_HASHED_LEN`](super::MAX_HASHED_LEN).
    TooLarge,
    /// It can no longer be read.
    Unreadable,
}

impl Change {
    /// The change a file in `state` is, against `loaded`; `None` when it is unchanged.
    pub fn between(loaded: FileDigest, state: FileState) -> Option<Self> {
        match state {
            FileState::File(now) if now == loaded => None,
            FileState::File(now) => Some(Self::Modified(now)),
            FileState::Missing => Some(Self::Disappeared),
            FileState::Symlink => Some(Self::ReplacedBySymlink),
            FileState::NotAFile => Some(Self::NotAFile),
            FileState::TooLarge => Some(Self::TooLarge),
            FileState::Unreadable => Some(Self::Unreadable),
        }
    }

    /// What happened, in a few words.
    pub fn describe(&self) -> &'static str {
        match self {
            Self::Modified(_) => "its contents changed",
            Self::Disappeared => "it disappeared",
            Self::ReplacedBySymlink => "it was replaced by a symbolic link",
            Self::NotAFile => "it was replaced by something that is not a regular file",
            Self::TooLarge => "it grew larger than 16 MiB",
            Self::Unreadable => "it can no longer be read",
        }
    }
}

/// A watched file found changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrityEvent {
    /// The file.
    pub path: PathBuf,
    /// The digest recorded when it was loaded (or recorded).
    pub loaded: FileDigest,
    /// How it differs now.
    pub change: Change,
}

impl fmt::Display for IntegrityEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} changed since it was loaded: {}",
            self.path.display(),
            self.change.describe()
        )
    }
}

/// One watched file: the digest at load, and the last change reported (so that a change is
/// reported once, and again only if the file changes once more).
#[derive(Debug, Clone, Copy)]
struct Watched {
    loaded: FileDigest,
    reported: Option<Change>,
}

/// The digests of the files a process loaded, and a check that reports changes.
///
/// ```
/// use std::sync::Arc;
/// use keyward_secrets_backends::integrity::{Change, IntegrityWatch};
/// # tokio::runtime::Runtime::new()?.block_on(async {
/// let dir = tempfile::tempdir()?;
/// let config = dir.path().join("bot.toml");
/// std::fs::write(&config, "max_position = 1\n")?;
///
/// let watch = Arc::new(IntegrityWatch::new());
/// watch.track(&config)?;
/// assert!(watch.check().await.is_empty());
///
/// std::fs::write(&config, "max_position = 100\n")?;
/// let events = watch.check().await;
/// assert!(matches!(events[0].change, Change::Modified(_)));
/// assert!(watch.check().await.is_empty()); // reported once
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct IntegrityWatch {
    files: Mutex<BTreeMap<PathBuf, Watched>>,
    audit: Option<Arc<AuditLog>>,
    events: broadcast::Sender<IntegrityEvent>,
}

impl fmt::Debug for IntegrityWatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntegrityWatch")
            .field("files", &self.files().len())
            .field("audit", &self.audit.as_ref().map(|a| a.path().to_owned()))
            .finish()
    }
}

impl Default for IntegrityWatch {
    fn default() -> Self {
        Self::new()
    }
}

impl IntegrityWatch {
    /// A watch with no files and no audit log.
    pub fn new() -> Self {
        Self {
            files: Mutex::new(BTreeMap::new()),
            audit: None,
            events: broadcast::channel(64).0,
        }
    }

    /// The same, auditing each change to `log` as an `integrity_alert` (outcome `failure`).
    pub fn with_audit(mut self, log: Arc<AuditLog>) -> Self {
        self.audit = Some(log);
        self
    }

    /// Hashes the regular file at `path` now (never through a symbolic link) and watches it.
    pub fn track(&self, path: impl AsRef<Path>) -> Result<FileDigest> {
        let path = path.as_ref();
        let digest = hash_file(path)?;
        self.insert(path, digest);
        Ok(digest)
    }

    /// Watches `path` as loaded with contents `data` (the bytes actually parsed, so that a
    /// change between reading and hashing cannot slip through).
    pub fn track_bytes(&self, path: impl AsRef<Path>, data: &[u8]) -> FileDigest {
        let digest = FileDigest::of(data);
        self.insert(path.as_ref(), digest);
        digest
    }

    fn insert(&self, path: &Path, loaded: FileDigest) {
        self.lock().insert(
            path.to_owned(),
            Watched {
                loaded,
                reported: None,
            },
        );
    }

    /// The watched files and their digests at load.
    pub fn files(&self) -> Vec<(PathBuf, FileDigest)> {
        self.lock()
            .iter()
            .map(|(p, w)| (p.clone(), w.loaded))
            .collect()
    }

    /// Receives every event a [`check`](Self::check) reports from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<IntegrityEvent> {
        self.events.subscribe()
    }

    /// Looks at every watched file and reports each one that differs from its digest at load
    /// and was not already reported in that state. Each event is logged (`tracing` warning,
    /// path and change only), sent to subscribers and, with an audit log, appended as an
    /// `integrity_alert`; a failed audit append is logged and does not stop the check. A file
    /// back to its loaded contents is reported again if it changes again.
    pub async fn check(&self) -> Vec<IntegrityEvent> {
        let events = {
            let mut files = self.lock();
            let mut events = Vec::new();
            for (path, watched) in files.iter_mut() {
                let change = Change::between(watched.loaded, probe(path));
                if change != watched.reported {
                    watched.reported = change;
                    if let Some(change) = change {
                        events.push(IntegrityEvent {
                            path: path.clone(),
                            loaded: watched.loaded,
                            change,
                        });
                    }
                }
            }
            events
        };
        for event in &events {
            tracing::warn!(
                path = %event.path.display(),
                change = event.change.describe(),
                "a configuration file changed since it was loaded"
            );
            if let Some(log) = &self.audit {
                let entry = Event::new(
                    EventKind::IntegrityAlert,
                    &subject(&event.path),
                    Outcome::Failure,
                );
                match entry {
                    Ok(entry) => {
                        if let Err(e) = log.append(&entry).await {
                            tracing::warn!(error = %e, "could not audit a configuration file change");
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "could not audit a configuration file change")
                    }
                }
            }
            // No subscriber is not an error.
            let _ = self.events.send(event.clone());
        }
        events
    }

    /// Records the watched files' digests at load in the record file `record` (merged with
    /// what it holds, written atomically with mode 0600), for `keyward doctor` to compare.
    pub fn persist(&self, record: &mut IntegrityRecord) -> Result<()> {
        for (path, digest) in self.files() {
            record.insert(&path, digest);
        }
        record.save()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<PathBuf, Watched>> {
        // A panic while the lock was held left plain data behind: keep using it.
        self.files
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The audit subject of a file: its path when it is a valid subject, else its file name, else
/// `config-file`.
fn subject(path: &Path) -> String {
    let candidates = [
        path.to_str().map(str::to_owned),
        path.file_name().and_then(|n| n.to_str()).map(str::to_owned),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|s| crate::store::validate_name(s).is_ok())
        .unwrap_or_else(|| "config-file".to_owned())
}
