//! Which files of a project hold secrets (what git knows of them is in `git.rs`).

use std::path::{Path, PathBuf};

/// Directories never walked: build output, dependencies, virtual environments, git itself.
pub const SKIPPED_DIRS: &[&str] = &[
    ".git",
    "target",
    "node_modules",
    ".venv",
    "venv",
    "__pycache__",
];

/// The kinds of files that hold secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `.env` and `.env.<environment>` (not the `.example`/`.sample`/`.template` ones).
    DotEnv,
    /// A key: `*.key`, `*.pem`, `*.p12`, `id_rsa`, `id_ecdsa`, `id_ed25519`.
    Key,
    /// A Fernet token: `*.token`.
    Token,
    /// A keyward vault: `vault.db` (and its `-wal`/`-shm` files).
    Vault,
}

impl Kind {
    /// What the kind is called in a finding.
    pub fn noun(self) -> &'static str {
        match self {
            Kind::DotEnv => ".env file",
            Kind::Key => "key file",
            Kind::Token => "token file",
            Kind::Vault => "vault file",
        }
    }
}

/// The kind of secret file `path` is, from its name alone.
pub fn classify(path: &Path) -> Option<Kind> {
    let name = path.file_name()?.to_str()?;
    if name == ".env" {
        return Some(Kind::DotEnv);
    }
    if let Some(env) = name.strip_prefix(".env.") {
        return (!matches!(env, "example" | "sample" | "template" | "dist"))
            .then_some(Kind::DotEnv);
    }
    if matches!(name, "id_rsa" | "id_ecdsa" | "id_ed25519" | "id_dsa") {
        return Some(Kind::Key);
    }
    if name.starts_with("vault.db") {
        return Some(Kind::Vault);
    }
    match Path::new(name).extension()?.to_str()? {
        "key" | "pem" | "p12" | "pfx" => Some(Kind::Key),
        "token" => Some(Kind::Token),
        _ => None,
    }
}

/// Every regular file under `root` (not following symlinks), skipping build and dependency
/// directories, relative to `root`, sorted.
pub fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(root.join(&rel)) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let name = entry.file_name();
            let child = rel.join(&name);
            if kind.is_dir() {
                if !SKIPPED_DIRS.iter().any(|d| name == *d) {
                    stack.push(child);
                }
            } else if kind.is_file() {
                out.push(child);
            }
        }
    }
    out.sort();
    out
}

/// Whether `path` (which need not exist) lies under the directory `dir`, compared as absolute
/// paths and, where they exist, as canonical ones.
pub fn is_inside(path: &Path, dir: &Path) -> bool {
    let absolute = |p: &Path| std::path::absolute(p).ok();
    let canonical = |p: &Path| {
        // The nearest existing ancestor, canonical, with the rest appended.
        p.ancestors().find_map(|a| {
            let rest = p.strip_prefix(a).ok()?;
            a.canonicalize().ok().map(|c| c.join(rest))
        })
    };
    let (Some(path_abs), Some(dir_abs)) = (absolute(path), absolute(dir)) else {
        return false;
    };
    if path_abs.starts_with(&dir_abs) {
        return true;
    }
    matches!((canonical(&path_abs), canonical(&dir_abs)), (Some(p), Some(d)) if p.starts_with(&d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_classified() {
        for (name, kind) in [
            (".env", Some(Kind::DotEnv)),
            (".env.production", Some(Kind::DotEnv)),
            (".env.example", None),
            ("master.key", Some(Kind::Key)),
            ("deploy/id_ed25519", Some(Kind::Key)),
            ("cert.pem", Some(Kind::Key)),
            ("api.token", Some(Kind::Token)),
            ("vault.db", Some(Kind::Vault)),
            ("vault.db-wal", Some(Kind::Vault)),
            ("main.rs", None),
            ("keys.rs", None),
        ] {
            assert_eq!(classify(Path::new(name)), kind, "{name}");
        }
    }
}
