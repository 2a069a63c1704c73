//! What `keyward doctor` reports: findings with a severity and the command that fixes them.

use std::fmt;
use std::path::PathBuf;

use serde_json::{Value, json};

/// How bad a finding is. The process exit code is that of the worst finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Worth knowing; nothing to fix.
    Info,
    /// A weakness that needs another mistake to matter.
    Low,
    /// Fix soon: an old credential, a loose file of moderate value.
    Medium,
    /// Fix now: a secret file others can read, a .gitignore that would let one be committed.
    High,
    /// A secret is exposed: committed to git, or a private key readable by others.
    Critical,
}

impl Severity {
    /// The exit code of a run whose worst finding has this severity (0 for info, so that a
    /// clean project exits 0; 1 and 2 stay the CLI's failure and usage codes).
    pub fn exit_code(self) -> u8 {
        match self {
            Severity::Info => 0,
            Severity::Low => 3,
            Severity::Medium => 4,
            Severity::High => 5,
            Severity::Critical => 6,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// The ANSI colour of the severity on a terminal.
    pub fn colour(self) -> &'static str {
        match self {
            Severity::Info => "\x1b[2m",
            Severity::Low => "\x1b[36m",
            Severity::Medium => "\x1b[33m",
            Severity::High | Severity::Critical => "\x1b[31;1m",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One problem found. Never holds a secret: a finding about a secret in a file names the file,
/// the line and the rule, not the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The check that found it: `permissions`, `gitignore`, `tracked-secret`, `tracked-file`,
    /// `vault`, `rotation`, `clock-skew`, `plain-key`, `weak-key`, `hmac-key`, `rsa-advisory`,
    /// `redis`.
    pub check: &'static str,
    /// How bad it is.
    pub severity: Severity,
    /// The file concerned, if any.
    pub path: Option<PathBuf>,
    /// The line concerned, if any (1-based).
    pub line: Option<usize>,
    /// What is wrong, in one sentence.
    pub message: String,
    /// The command (or edit) that fixes it.
    pub fix: String,
}

impl Finding {
    /// A finding of `check` with `severity`.
    pub fn new(
        check: &'static str,
        severity: Severity,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            check,
            severity,
            path: None,
            line: None,
            message: message.into(),
            fix: fix.into(),
        }
    }

    /// The same, about `path`.
    pub fn at(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// The same, at `line` of its file.
    pub fn line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }

    /// Where it is, as `path[:line]`, or `-`.
    pub fn location(&self) -> String {
        match (&self.path, self.line) {
            (Some(p), Some(l)) => format!("{}:{l}", p.display()),
            (Some(p), None) => p.display().to_string(),
            (None, _) => "-".to_owned(),
        }
    }

    /// The finding as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "check": self.check,
            "severity": self.severity.to_string(),
            "path": self.path.as_ref().map(|p| p.display().to_string()),
            "line": self.line,
            "message": self.message,
            "fix": self.fix,
        })
    }
}

/// Quotes a path for a shell command line when it needs it.
pub fn shell_quote(path: &std::path::Path) -> String {
    let text = path.display().to_string();
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%".contains(c))
    {
        text
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}
