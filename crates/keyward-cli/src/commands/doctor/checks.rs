//! The project checks: permissions of secret files, .gitignore coverage, secrets and secret
//! files that git tracks.

use std::path::{Path, PathBuf};

use super::files::{self, Kind};
use super::finding::{Finding, Severity, shell_quote};
use super::git::Repo;
use super::scan;

/// Files larger than this are not scanned for secrets (data, not configuration).
const MAX_SCANNED_BYTES: u64 = 1 << 20;

/// Probes for .gitignore coverage: each must be ignored.
const IGNORE_PROBES: &[(&str, &str)] = &[
    (".env", ".env*"),
    (".env.production", ".env*"),
    ("master.key", "*.key"),
    ("credentials.token", "*.token"),
    ("vault.db", VAULT_PATTERN),
];

/// The pattern that keeps vaults out of commits.
const VAULT_PATTERN: &str = "vault.db*";

/// Group or other may access a secret file (the OpenSSH rule keyward applies to its own
/// files).
pub fn permissions(root: &Path, all: &[PathBuf], out: &mut Vec<Finding>) {
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

/// .gitignore must keep .env files, keys and tokens out of commits, and vaults too when the
/// project has one (`vault_in_project`): a project with no vault needs no pattern for it.
pub fn gitignore(root: &Path, repo: Option<&Repo>, vault_in_project: bool, out: &mut Vec<Finding>) {
    let Some(repo) = repo else {
        out.push(Finding::new(
            "gitignore",
            Severity::Info,
            "not a git work tree: .gitignore coverage and tracked files not checked",
            format!("git -C {} init", shell_quote(root)),
        ));
        return;
    };
    let mut missing: Vec<&str> = Vec::new();
    for (probe, pattern) in IGNORE_PROBES {
        if *pattern == VAULT_PATTERN && !vault_in_project {
            continue;
        }
        if !repo.ignored(Path::new(probe)) && !missing.contains(pattern) {
            missing.push(pattern);
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

/// Secret files that git tracks or would add, and plaintext secrets inside the files git
/// tracks (`tracked-secret`) or would add with `git add .` (`untracked-secret`: found before
/// it is committed). Ignored files are left alone. Without git, every file under the project
/// is scanned.
pub fn tracked(root: &Path, repo: Option<&Repo>, all: &[PathBuf], out: &mut Vec<Finding>) {
    let Some(repo) = repo else {
        for rel in all {
            secrets_in(&root.join(rel), "tracked-secret", FIX_UNVERSIONED, out);
        }
        return;
    };
    let tracked = match repo.tracked() {
        Ok(tracked) => tracked,
        Err(e) => {
            out.push(Finding::new(
                "tracked-file",
                Severity::Low,
                format!("the git index could not be read ({e}): every file is scanned instead"),
                format!("git -C {} status", shell_quote(root)),
            ));
            for rel in all {
                secrets_in(&root.join(rel), "tracked-secret", FIX_UNVERSIONED, out);
            }
            return;
        }
    };
    for rel in &tracked {
        let path = root.join(rel);
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
        secrets_in(&path, "tracked-secret", FIX_TRACKED, out);
    }
    for rel in repo.not_ignored() {
        if tracked.binary_search(&rel).is_ok() {
            continue;
        }
        let path = root.join(&rel);
        if let Some(kind) = files::classify(&rel) {
            out.push(
                Finding::new(
                    "unignored-file",
                    Severity::High,
                    format!(
                        "{} is not ignored by git: `git add .` would commit it",
                        kind.noun()
                    ),
                    format!(
                        "printf '%s\\n' {} >> {}",
                        shell_quote(&Path::new("/").join(&rel)),
                        shell_quote(&root.join(".gitignore"))
                    ),
                )
                .at(&path),
            );
            continue;
        }
        secrets_in(&path, "untracked-secret", FIX_UNVERSIONED, out);
    }
}

const FIX_TRACKED: &str = "move the secret to the vault (`keyward secret put NAME`), remove it from the file and its git history, and rotate it";
const FIX_UNVERSIONED: &str = "move the secret to the vault (`keyward secret put NAME`), remove it from the file, and rotate it";

/// The plaintext secrets in the file at `path`, reported under `check`.
fn secrets_in(path: &Path, check: &'static str, fix: &str, out: &mut Vec<Finding>) {
    let Some(text) = read_text(path) else {
        return;
    };
    for hit in scan::scan(&text) {
        out.push(
            Finding::new(
                check,
                hit.severity,
                format!("{} in plaintext", hit.rule),
                fix,
            )
            .at(path)
            .line(hit.line),
        );
    }
}

/// A `KEYWARD_MASTER_KEY` exported in the environment doctor runs in: every program started
/// from that shell can read the vault's master key. Information only; the value is never read
/// into the finding.
pub fn environment(out: &mut Vec<Finding>) {
    if std::env::var_os("KEYWARD_MASTER_KEY").is_some() {
        out.push(Finding::new(
            "environment",
            Severity::Info,
            "KEYWARD_MASTER_KEY is exported in this environment: every program started from it can read the vault's master key",
            "unset KEYWARD_MASTER_KEY and keep the key in the key file beside the vault (mode 0600), or set it for one command at a time",
        ));
    }
}

/// The file as text, if it is a small regular text file.
pub fn read_text(path: &Path) -> Option<String> {
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
