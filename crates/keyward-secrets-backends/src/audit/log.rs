//! The writer: appends one MACed, hash-chained line per event to a 0600 file.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use keyward_core_crypto::Clock;

use super::entry::{Body, Event, join_mac};
use super::error::AuditError;
use super::key::{AuditKey, Head};
use super::verify::{line_hash, verify_with_key};
use crate::store::SecretStore;

/// An append-only, hash-chained, MACed audit log in one file.
///
/// Each [`append`](AuditLog::append) writes one JSON line and syncs it, under a lock, so tasks of
/// one process never interleave their lines; then it records the new head in the key's store.
/// One process writes a given log at a time (the chain's state is kept in memory).
///
/// An append that fails returns an [`AuditError`] for the caller to report; the caller's own
/// operation goes on. Never make a secret read wait for, or fail because of, the audit log.
pub struct AuditLog {
    path: PathBuf,
    store: Arc<dyn SecretStore>,
    key: AuditKey,
    clock: Arc<dyn Clock>,
    state: tokio::sync::Mutex<State>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("path", &self.path)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// The chain's state: the file open for append, and the next entry's number and `prev`.
struct State {
    file: File,
    next_seq: u64,
    prev: String,
}

impl AuditLog {
    /// Opens the log at `path` for appending, creating it (mode 0600) when absent.
    ///
    /// The MAC key is read from `store` under `key_name`, and generated there from the
    /// operating system's RNG when absent; the head is kept beside it as `key_name.head`. An
    /// existing log is verified with the key first, and refused (an [`AuditError::Broken`]) if
    /// it does not verify, as is a missing log whose head is stored. A log that is a symbolic
    /// link, not a regular file, another user's, or accessible by group or others is refused.
    pub async fn open(
        path: impl AsRef<Path>,
        store: Arc<dyn SecretStore>,
        key_name: &str,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, AuditError> {
        let path = path.as_ref().to_owned();
        let key = AuditKey::load_or_create(&*store, key_name).await?;
        let head = key.head(&*store).await?;
        let exists = std::fs::symlink_metadata(&path).is_ok();
        let last = if exists || head.is_some() {
            verify_with_key(&path, &key, head.as_ref())?.last
        } else {
            None
        };
        let file = open_append(&path)?;
        let (next_seq, prev) = match last {
            Some(last) => (last.seq + 1, last.hash),
            None => (0, chain_id()?),
        };
        Ok(Self {
            path,
            store,
            key,
            clock,
            state: tokio::sync::Mutex::new(State {
                file,
                next_seq,
                prev,
            }),
        })
    }

    /// The log file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `event` with the time from the log's clock, and returns the entry's sequence
    /// number. On an error the chain is not advanced when the line was not written; when the
    /// line was written but the head could not be stored, the chain is advanced and
    /// [`AuditError::Store`] is returned (verification still passes: a head behind the log is
    /// not a cut).
    pub async fn append(&self, event: &Event) -> Result<u64, AuditError> {
        let appended = self.append_head(event).await?;
        match appended.head_error {
            Some(e) => Err(e),
            None => Ok(appended.head.seq),
        }
    }

    /// Appends `event` as [`append`](Self::append) does, and returns the written entry's
    /// sequence number and line hash (what a record kept elsewhere, such as the vault's audit
    /// table, carries to be checked against the log). A failure to store the head after the
    /// line was written is returned in [`Appended::head_error`], not as an error: the entry is
    /// in the chain.
    pub async fn append_head(&self, event: &Event) -> Result<Appended, AuditError> {
        let mut state = self.state.lock().await;
        let seq = state.next_seq;
        let body = Body {
            seq,
            prev: &state.prev,
            time_ms: self.clock.now_ms(),
            event: event.kind,
            subject: &event.subject,
            outcome: event.outcome,
        };
        let body = serde_json::to_string(&body).map_err(|e| AuditError::Io {
            action: "encode an entry for",
            path: self.path.clone(),
            source: e.into(),
        })?;
        let line = join_mac(&body, &self.key.mac_hex(body.as_bytes()));
        let hash = line_hash(line.as_bytes());
        let mut bytes = line.into_bytes();
        bytes.push(b'\n');
        let io = |source| AuditError::Io {
            action: "append to",
            path: self.path.clone(),
            source,
        };
        state.file.write_all(&bytes).map_err(io)?;
        state.file.flush().map_err(io)?;
        state.file.sync_data().map_err(io)?;
        state.next_seq = seq + 1;
        state.prev.clone_from(&hash);
        let head = Head { seq, hash };
        let head_error = self.key.save_head(&*self.store, &head).await.err();
        Ok(Appended { head, head_error })
    }

    /// Whether `name` is one of the log's own entries in its key store (the MAC key or the
    /// head). Writes of those are the log's bookkeeping: auditing them would append an entry
    /// per entry, so [`AuditedStore`](crate::AuditedStore) and the vault leave them out.
    pub fn keeps(&self, name: &str) -> bool {
        name == self.key.name() || name == self.key.head_name()
    }
}

/// An entry written by [`AuditLog::append_head`].
#[derive(Debug)]
#[non_exhaustive]
pub struct Appended {
    /// The entry's sequence number and line hash.
    pub head: Head,
    /// The error storing the chain's head after the line was written, if any.
    pub head_error: Option<AuditError>,
}

/// A fresh chain id: 32 bytes from the operating system's RNG, in hex.
fn chain_id() -> Result<String, AuditError> {
    let mut id = [0u8; 32];
    getrandom::getrandom(&mut id).map_err(AuditError::Random)?;
    Ok(hex::encode(id))
}

/// Opens `path` for appending (created with mode 0600), without following a symbolic link,
/// and checks the opened file as private files are checked.
fn open_append(path: &Path) -> Result<File, AuditError> {
    keyward_core_crypto::private_file::open_private_append(path).map_err(AuditError::File)
}
