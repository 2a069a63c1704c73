//! The project checks: permissions of secret files, .gitignore coverage, secrets and secret
//! files that git tracks.

use std::path::Path;

use super::files::{self, Kind};
use super::finding::{Finding, Severity, shell_quote};
use super::scan;

/// Files larger than this are not scanned for secrets (data, not configuration).
const MAX_SCANNED_BYTES: u64 = 1 << 20;

/// Probes for .gitignore coverage: each must be ignored.
const IGNORE_PROBES: &[(&str, &str)] = &[
    (".env", ".env*"),
    (".env.production", ".env*"),
    ("master.key", "*.key"),
    ("credentials.token", "*.token"),
    ("vault.db", "vault.db*"),
];

/// Group or other may access a secret file (the OpenSSH rule keyward applies to its own
/// files).
pub fn permissions(root: &Path, all: &[std::path::PathBuf], out: &mut Vec<Finding>) {
    for rel in all {
        let Some(kind) = files::classify(rel) else {
            continue;
        };
        let path = root.join(rel);
        if let Some(mode) = loose_mode(&path) {
            let severity = match kind {
                Kind::Key => Severity::Critical,
                Kind::DotEnv | Kind::Vault | Kind::Token => Severity::High,
            };
            out.push(
                Finding::new(
                    "permissions",
                    severity,
                    format!(
                        "{} has mode {mode:04o}: group or others can access it",
                        kind.noun()
                    ),
                    format!("chmod 600 {}", shell_quote(&path)),
                )
                .at(path),
            );
        }
    }
}

/// The permission bits of `path` if group or others have any access to it.
pub fn loose_mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::symlink_metadata(path).ok()?.permissions().mode() & 0o7777;
    (mode & 0o077 != 0).then_some(mode)
}

/// .gitignore must keep .env files, keys, tokens and vaults out of commits.
pub fn gitignore(root: &Path, out: &mut Vec<Finding>) {
    let mut missing: Vec<&str> = Vec::new();
    for (probe, pattern) in IGNORE_PROBES {
        match files::ignored(root, probe) {
            Some(true) => {}
            Some(false) => {
                if !missing.contains(pattern) {
                    missing.push(pattern);
                }
            }
            None => {
                out.push(Finding::new(
                    "gitignore",
                    Severity::Info,
                    "not a git work tree: .gitignore coverage and tracked files not checked",
                    format!("git -C {} init", shell_quote(root)),
                ));
                return;
            }
        }
    }
    if !missing.is_empty() {
        let gitignore = root.join(".gitignore");
        out.push(
            Finding::new(
                "gitignore",
                Severity::High,
                format!(
                    ".gitignore does not cover {}: such files could be committed",
                    missing.join(", ")
                ),
                format!(
                    "printf '%s\\n' {} >> {}",
                    missing
                        .iter()
                        .map(|p| format!("'{p}'"))
                        .collect::<Vec<_>>()
                        .join(" "),
                    shell_quote(&gitignore)
                ),
            )
            .at(gitignore),
        );
    }
}

/// Secret files that git tracks, and plaintext secrets inside tracked files. Without git,
/// every file under the project is scanned.
pub fn tracked(root: &Path, all: &[std::path::PathBuf], out: &mut Vec<Finding>) {
    let tracked = files::tracked(root);
    let scanned = tracked.as_deref().unwrap_or(all);
    for rel in scanned {
        let path = root.join(rel);
        if tracked.is_some() {
            if let Some(kind) = files::classify(rel) {
                out.push(
                    Finding::new(
                        "tracked-file",
                        Severity::Critical,
                        format!(
                            "{} is tracked by git: its secrets are in the history",
                            kind.noun()
                        ),
                        format!(
                            "git -C {} rm --cached {} (then rotate what it holds)",
                            shell_quote(root),
                            shell_quote(rel)
                        ),
                    )
                    .at(&path),
                );
                continue;
            }
        }
        let Some(text) = read_text(&path) else {
            continue;
        };
        for hit in scan::scan(&text) {
            let fix = if tracked.is_some() {
                "move the secret to the vault (`keyward secret put NAME`), remove it from the file and its git history, and rotate it"
            } else {
                "move the secret to the vault (`keyward secret put NAME`), remove it from the file, and rotate it"
            };
            out.push(
                Finding::new(
                    "tracked-secret",
                    hit.severity,
                    format!("{} in plaintext", hit.rule),
                    fix,
                )
                .at(&path)
                .line(hit.line),
            );
        }
    }
}

/// The file as text, if it is a small regular text file.
fn read_text(path: &Path) -> Option<String> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_SCANNED_BYTES {
        return None;
    }
    let bytes = std::fs::read(path).ok()?;
    if bytes.contains(&0) {
        return None;
    }
    Some(String::from_utf8_lossy(&bytes).into_owned())
}
