//! What git knows of a scanned project, read from its files without running git.
//!
//! The scanned tree is untrusted: running `git` in it runs whatever its `.git/config` names
//! (`core.fsmonitor` on any index read, filter and diff drivers through `.gitattributes`,
//! hooks, pagers, credential helpers, `include.path` pulling more of the same), and that
//! program inherits doctor's environment, `KEYWARD_MASTER_KEY` included. So doctor starts no
//! process at all: `gix-discover` finds the repository, `gix-index` reads the index, and the
//! `ignore` crate matches `.gitignore` files and `info/exclude`. None of them executes anything
//! or consults the repository's config for a program to run.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};

use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder};

use super::files::SKIPPED_DIRS;

/// Ceiling on what a hostile index may make the reader allocate.
const MAX_INDEX_ALLOCATION: usize = 256 << 20;

/// The git work tree a project directory lies in.
pub struct Repo {
    /// The project directory, canonical.
    root: PathBuf,
    /// The work tree's top directory, canonical.
    work_dir: PathBuf,
    /// The repository's private directory (`.git`, or `.git/worktrees/NAME` for a linked one).
    git_dir: PathBuf,
    /// Its shared directory (the same as `git_dir` unless this is a linked work tree).
    common_dir: PathBuf,
}

impl Repo {
    /// The work tree `root` lies in, or `None` when it lies in none (or in a bare repository).
    pub fn discover(root: &Path) -> Option<Self> {
        let root = root.canonicalize().ok()?;
        let (path, _trust) = gix_discover::upwards(&root).ok()?;
        let (git_dir, work_dir) = path.into_repository_and_work_tree_directories();
        let work_dir = work_dir?.canonicalize().ok()?;
        let git_dir = git_dir.canonicalize().ok()?;
        root.strip_prefix(&work_dir).ok()?;
        let common_dir = gix_discover::path::from_plain_file(&git_dir.join("commondir"))
            .and_then(Result::ok)
            .map(|dir| git_dir.join(dir))
            .and_then(|dir| dir.canonicalize().ok())
            .unwrap_or_else(|| git_dir.clone());
        Some(Self {
            root,
            work_dir,
            git_dir,
            common_dir,
        })
    }

    /// Where the project directory is inside the work tree (empty at its top).
    fn prefix(&self) -> &Path {
        self.root
            .strip_prefix(&self.work_dir)
            .unwrap_or(Path::new(""))
    }

    /// The files the index holds under the project directory, relative to it and sorted; an
    /// error says why the index cannot be read. A work tree with no index yet tracks nothing.
    pub fn tracked(&self) -> Result<Vec<PathBuf>, String> {
        let index = self.git_dir.join("index");
        if !index.exists() {
            return Ok(Vec::new());
        }
        let options = gix_index::decode::Options {
            thread_limit: Some(1),
            alloc_limit_bytes: Some(MAX_INDEX_ALLOCATION),
            ..Default::default()
        };
        let file = gix_index::File::at(&index, gix_hash_kind::SHA1, false, options)
            .or_else(|_| gix_index::File::at(&index, gix_hash_kind::SHA256, false, options))
            .map_err(|e| format!("{} cannot be read: {e}", index.display()))?;
        let prefix = self.prefix();
        let mut out: Vec<PathBuf> = file
            .entries()
            .iter()
            .filter(|entry| !entry.mode.is_sparse())
            .filter_map(|entry| {
                let path = Path::new(OsStr::from_bytes(entry.path(&file)));
                path.strip_prefix(prefix).ok().map(Path::to_path_buf)
            })
            .collect();
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Whether git would ignore a file at `rel` (relative to the project directory; it need
    /// not exist): the `.gitignore` files from the work tree's top down to the file's
    /// directory, the deepest that decides winning, then `info/exclude`. This machine's global
    /// excludes file is left out on purpose: a teammate's clone does not have it.
    pub fn ignored(&self, rel: &Path) -> bool {
        let full = self.prefix().join(rel);
        let mut dirs = vec![PathBuf::new()];
        let mut dir = PathBuf::new();
        for part in full.parent().into_iter().flat_map(Path::components) {
            dir.push(part);
            dirs.push(dir.clone());
        }
        for dir in dirs.iter().rev() {
            let matcher = self.matcher(dir, &[".gitignore"]);
            let Ok(rest) = full.strip_prefix(dir) else {
                continue;
            };
            match matcher.matched_path_or_any_parents(rest, false) {
                Match::Ignore(_) => return true,
                Match::Whitelist(_) => return false,
                Match::None => {}
            }
        }
        let exclude = self.exclude_matcher();
        exclude
            .matched_path_or_any_parents(&full, false)
            .is_ignore()
    }

    /// The `.gitignore` of `dir` (relative to the work tree's top).
    fn matcher(&self, dir: &Path, names: &[&str]) -> Gitignore {
        let base = self.work_dir.join(dir);
        let mut builder = GitignoreBuilder::new(&base);
        for name in names {
            // A missing file adds nothing; a malformed line is skipped, as git skips it.
            let _ = builder.add(base.join(name));
        }
        builder.build().unwrap_or_else(|_| Gitignore::empty())
    }

    /// The repository's `info/exclude`, rooted at the work tree's top.
    fn exclude_matcher(&self) -> Gitignore {
        let mut builder = GitignoreBuilder::new(&self.work_dir);
        let _ = builder.add(self.common_dir.join("info").join("exclude"));
        builder.build().unwrap_or_else(|_| Gitignore::empty())
    }

    /// Every regular file under the project directory that git does not ignore (tracked or
    /// not), relative to it and sorted; the walk follows no symlink and skips the directories
    /// doctor never walks.
    pub fn not_ignored(&self) -> Vec<PathBuf> {
        let walk = ignore::WalkBuilder::new(&self.root)
            .standard_filters(false)
            .git_ignore(true)
            .git_exclude(true)
            .parents(true)
            .require_git(true)
            .follow_links(false)
            .filter_entry(|entry| {
                !(entry.depth() > 0
                    && entry.file_type().is_some_and(|t| t.is_dir())
                    && SKIPPED_DIRS.iter().any(|d| entry.file_name() == *d))
            })
            .build();
        let mut out: Vec<PathBuf> = walk
            .flatten()
            .filter(|entry| entry.file_type().is_some_and(|t| t.is_file()))
            .filter_map(|entry| {
                entry
                    .path()
                    .strip_prefix(&self.root)
                    .ok()
                    .map(Path::to_path_buf)
            })
            .collect();
        out.sort();
        out
    }
}

/// The object formats an index may be written in.
mod gix_hash_kind {
    /// SHA-1, git's default.
    pub const SHA1: gix_index::hash::Kind = gix_index::hash::Kind::Sha1;
    /// SHA-256 (`extensions.objectFormat = sha256`).
    pub const SHA256: gix_index::hash::Kind = gix_index::hash::Kind::Sha256;
}
