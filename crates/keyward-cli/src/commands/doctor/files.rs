//! Which files of a project hold secrets, and which of them git tracks.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Directories never walked: build output, dependencies, virtual environments, git itself.
const SKIPPED_DIRS: &[&str] = &[
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

/// The files git tracks under `root`, relative to it, or `None` when `root` is not in a git
/// work tree (or git cannot be run).
pub fn tracked(root: &Path) -> Option<Vec<PathBuf>> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["ls-files", "-z", "--full-name", "--", "."])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let prefix = git_prefix(root)?;
    Some(
        out.stdout
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .filter_map(|p| std::str::from_utf8(p).ok())
            .filter_map(|p| {
                Path::new(p)
                    .strip_prefix(&prefix)
                    .ok()
                    .map(Path::to_path_buf)
            })
            .collect(),
    )
}

/// Where `root` is inside its work tree (`git rev-parse --show-prefix`).
fn git_prefix(root: &Path) -> Option<PathBuf> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["rev-parse", "--show-prefix"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim_end()))
}

/// Whether git would ignore `probe` (a path relative to `root` that need not exist), or
/// `None` when git cannot tell (not a work tree).
pub fn ignored(root: &Path, probe: &str) -> Option<bool> {
    let status = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["check-ignore", "-q", "--no-index", "--", probe])
        // Outside a work tree git says "fatal: not a git repository": the finding says it.
        .stderr(Stdio::null())
        .status()
        .ok()?;
    // 0: ignored, 1: not ignored, 128: not a work tree or another fatal error.
    match status.code() {
        Some(0) => Some(true),
        Some(1) => Some(false),
        _ => None,
    }
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
