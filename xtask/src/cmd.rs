//! Where the workspace is, and running external commands the way a shell script would: print the
//! command, run it with inherited output, fail if it fails.

use anyhow::{Context, Result, bail};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The workspace root: the parent of this crate's directory (`xtask/`).
pub fn project_root() -> PathBuf {
    let xtask_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    xtask_dir
        .parent()
        .map_or_else(|| xtask_dir.to_path_buf(), Path::to_path_buf)
}

/// A `cargo` command that runs in the workspace root.
///
/// Uses the cargo that runs xtask (`$CARGO`, set by `cargo run`), so every step uses the same
/// toolchain; plain `cargo` from `PATH` otherwise (for instance under a test runner).
pub fn cargo() -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(program);
    command.current_dir(project_root());
    command
}

/// Quotes a word for display if a shell would need it quoted.
fn shell_word(word: &OsStr) -> String {
    let word = word.to_string_lossy();
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@+%^".contains(c));
    if plain {
        word.into_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The command as a shell line: the variables it sets, the program and its arguments.
///
/// The cargo that runs xtask (`$CARGO`) is shown as plain `cargo`.
pub fn display(command: &Command) -> String {
    let mut words: Vec<String> = command
        .get_envs()
        .filter_map(|(name, value)| {
            value.map(|value| format!("{}={}", name.to_string_lossy(), shell_word(value)))
        })
        .collect();
    // `$CARGO` is a long toolchain path; `cargo` reads better and means the same here.
    let program = command.get_program();
    if std::env::var_os("CARGO").is_some_and(|cargo| cargo == program) {
        words.push("cargo".to_owned());
    } else {
        words.push(shell_word(program));
    }
    words.extend(command.get_args().map(shell_word));
    words.join(" ")
}

/// Prints the command (`$ ...`) on standard error, runs it and fails unless it exits with 0.
pub fn run(command: &mut Command) -> Result<()> {
    let shown = display(command);
    eprintln!("$ {shown}");
    let status = command
        .status()
        .with_context(|| format!("could not start `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

/// Runs the command quietly and returns its standard output, or fails unless it exits with 0.
pub fn output(command: &mut Command) -> Result<String> {
    let shown = display(command);
    let output = command
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("could not start `{shown}`"))?;
    if !output.status.success() {
        bail!("`{shown}` failed ({})", output.status);
    }
    String::from_utf8(output.stdout).with_context(|| format!("`{shown}` printed non-UTF-8 output"))
}

/// `cargo metadata --format-version 1 --no-deps`, parsed: the workspace's own packages, its root
/// and its target directory.
pub fn metadata() -> Result<serde_json::Value> {
    let text = output(cargo().args(["metadata", "--format-version", "1", "--no-deps"]))?;
    serde_json::from_str(&text).context("`cargo metadata` printed something that is not JSON")
}

#[cfg(test)]
mod tests {
    use super::{display, project_root, shell_word};
    use std::ffi::OsStr;
    use std::process::Command;

    #[test]
    fn quotes_only_words_that_need_it() {
        assert_eq!(shell_word(OsStr::new("--all-features")), "--all-features");
        assert_eq!(shell_word(OsStr::new("-D warnings")), "'-D warnings'");
        assert_eq!(shell_word(OsStr::new("")), "''");
        assert_eq!(shell_word(OsStr::new("it's")), r"'it'\''s'");
    }

    #[test]
    fn displays_env_program_and_args() {
        let mut command = Command::new("cargo");
        command
            .args(["doc", "--no-deps"])
            .env("RUSTDOCFLAGS", "-D warnings");
        assert_eq!(
            display(&command),
            "RUSTDOCFLAGS='-D warnings' cargo doc --no-deps"
        );
    }

    #[test]
    fn root_holds_the_workspace_manifest() {
        assert!(project_root().join("Cargo.toml").is_file());
        assert!(project_root().join("xtask").is_dir());
    }
}
