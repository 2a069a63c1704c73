//! [`IntegrityRecord`]: digests persisted in a 0600 JSON file, so that a later run (or
//! `keyward doctor`) can tell a file that changed since.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use keyward_core_crypto::private_file::{Overwrite, read_private_file, write_private_file};
use serde::{Deserialize, Serialize};

use super::digest::{FileDigest, probe};
use super::watch::{Change, IntegrityEvent};
use crate::error::{Error, Result};

/// The directory, in a project, that holds the record.
pub const RECORD_DIR: &str = ".keyward";
/// The record's file name in [`RECORD_DIR`].
pub const RECORD_FILE: &str = "integrity.json";
/// The largest record read.
const MAX_RECORD_LEN: u64 = 4 * 1024 * 1024;
/// The record format's version.
const FORMAT: u32 = 1;

/// The file's JSON: `{"version":1,"files":{"<path>":{"sha256":"<hex>"}}}`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    version: u32,
    files: BTreeMap<String, Recorded>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Recorded {
    sha256: String,
}

/// Recorded digests of files, kept in a JSON file with mode 0600 that is replaced atomically
/// (temporary file, fsync, rename). Paths under the project directory are kept relative to
/// it, others absolute; a path that is not UTF-8 is not recorded.
#[derive(Debug, Clone)]
pub struct IntegrityRecord {
    file: PathBuf,
    base: PathBuf,
    files: BTreeMap<String, FileDigest>,
}

impl IntegrityRecord {
    /// The record of the project directory `dir`: `<dir>/.keyward/integrity.json`, read if it
    /// exists (empty otherwise).
    pub fn for_project(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        Self::load(dir.join(RECORD_DIR).join(RECORD_FILE), dir)
    }

    /// The record in `file`, its relative paths taken from `base`; an absent file is an empty
    /// record. A file that is a symbolic link, another user's or open to group or others is
    /// refused, as is one that is not a record.
    pub fn load(file: impl AsRef<Path>, base: impl AsRef<Path>) -> Result<Self> {
        let file = file.as_ref().to_owned();
        let base = std::path::absolute(base.as_ref()).map_err(|source| Error::Io {
            action: "resolve",
            path: base.as_ref().to_owned(),
            source,
        })?;
        let mut record = Self {
            file,
            base,
            files: BTreeMap::new(),
        };
        refuse_linked_dir(&record.file)?;
        if std::fs::symlink_metadata(&record.file)
            .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
        {
            return Ok(record);
        }
        let data = read_private_file(&record.file, MAX_RECORD_LEN)?;
        let corrupt = |reason: String| Error::Corrupt {
            name: record.file.display().to_string(),
            reason,
        };
        let doc: Document = serde_json::from_slice(&data).map_err(|e| {
            corrupt(format!(
                "not an integrity record ({:?} error)",
                e.classify()
            ))
        })?;
        if doc.version != FORMAT {
            return Err(corrupt(format!(
                "record format {} is not the {FORMAT} this keyward knows",
                doc.version
            )));
        }
        for (path, recorded) in doc.files {
            let digest = FileDigest::from_hex(&recorded.sha256)
                .ok_or_else(|| corrupt(format!("the digest of {path} is not 64 hex digits")))?;
            record.files.insert(path, digest);
        }
        Ok(record)
    }

    /// The record file.
    pub fn path(&self) -> &Path {
        &self.file
    }

    /// Records `digest` for `path` (in memory; [`save`](Self::save) writes it). Returns
    /// `false`, recording nothing, for a path that is not UTF-8.
    pub fn insert(&mut self, path: &Path, digest: FileDigest) -> bool {
        match self.key(path) {
            Some(key) => {
                self.files.insert(key, digest);
                true
            }
            None => false,
        }
    }

    /// Forgets `path`.
    pub fn remove(&mut self, path: &Path) {
        if let Some(key) = self.key(path) {
            self.files.remove(&key);
        }
    }

    /// The recorded files (as paths to read) and their digests.
    pub fn entries(&self) -> Vec<(PathBuf, FileDigest)> {
        self.files
            .iter()
            .map(|(k, d)| (self.base.join(k), *d))
            .collect()
    }

    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Each recorded file that is not as recorded now (changed, gone, a link ...).
    pub fn compare(&self) -> Vec<IntegrityEvent> {
        self.entries()
            .into_iter()
            .filter_map(|(path, loaded)| {
                let change = Change::between(loaded, probe(&path))?;
                Some(IntegrityEvent {
                    path,
                    loaded,
                    change,
                })
            })
            .collect()
    }

    /// Writes the record atomically with mode 0600, creating its directory (mode 0700) when
    /// absent.
    pub fn save(&self) -> Result<()> {
        refuse_linked_dir(&self.file)?;
        if let Some(dir) = self.file.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir)?;
        }
        let doc = Document {
            version: FORMAT,
            files: self
                .files
                .iter()
                .map(|(k, d)| (k.clone(), Recorded { sha256: d.to_hex() }))
                .collect(),
        };
        let mut text = serde_json::to_vec_pretty(&doc).map_err(|e| Error::Io {
            action: "encode",
            path: self.file.clone(),
            source: e.into(),
        })?;
        text.push(b'\n');
        write_private_file(&self.file, &text, Overwrite::Yes)?;
        Ok(())
    }

    /// The key of `path`: relative to the base when under it, else absolute.
    fn key(&self, path: &Path) -> Option<String> {
        let absolute = std::path::absolute(path).ok()?;
        let key = absolute
            .strip_prefix(&self.base)
            .map(Path::to_path_buf)
            .unwrap_or(absolute);
        key.to_str().map(str::to_owned)
    }
}

/// Refuses a record whose directory is a symbolic link (a project could plant `.keyward` as a
/// link to send the record, and its writes, elsewhere).
fn refuse_linked_dir(file: &Path) -> Result<()> {
    let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    match std::fs::symlink_metadata(dir) {
        Ok(meta) if meta.file_type().is_symlink() => Err(keyward_core_crypto::Error::Symlink {
            path: dir.to_owned(),
        }
        .into()),
        _ => Ok(()),
    }
}

/// Creates `dir` (and its parents) with mode 0700 when it does not exist.
fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|source| Error::Io {
        action: "create the directory",
        path: dir.to_owned(),
        source,
    })
}
