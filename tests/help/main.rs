//! Walks `keyward --help` recursively: every subcommand has a one-line description and help
//! text with an example. The same walk writes the CLI reference, docs/CLI.md, which must match
//! the committed file (regenerate it with `KEYWARD_BLESS=1 cargo test -p keyward-cli --test help`).
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use std::path::Path;
use std::process::Command;

/// `keyward <path...> --help`, at a fixed width so that the reference does not depend on the
/// terminal.
fn help(path: &[String]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(path)
        .arg("--help")
        .env("COLUMNS", "100")
        .env_remove("KEYWARD_MASTER_KEY")
        .output()
        .unwrap();
    assert!(out.status.success(), "keyward {path:?} --help failed");
    String::from_utf8(out.stdout).unwrap()
}

/// The subcommands listed under "Commands:", without `help`.
fn subcommands(help: &str) -> Vec<String> {
    let Some(start) = help.find("\nCommands:\n") else {
        return Vec::new();
    };
    help[start + "\nCommands:\n".len()..]
        .lines()
        .take_while(|line| !line.trim().is_empty())
        // A command's line starts with two spaces and its name; wrapped descriptions are
        // indented further.
        .filter(|line| line.starts_with("  ") && !line.starts_with("   "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

/// Every command path, depth first, with its help text.
fn walk() -> Vec<(Vec<String>, String)> {
    let mut out = Vec::new();
    let mut stack = vec![Vec::new()];
    while let Some(path) = stack.pop() {
        let text = help(&path);
        let mut children = subcommands(&text);
        children.reverse();
        for child in children {
            let mut next = path.clone();
            next.push(child);
            stack.push(next);
        }
        out.push((path, text));
    }
    out
}

#[test]
fn every_subcommand_has_help_with_an_example() {
    let all = walk();
    // The walk found the commands (a parsing mistake would make this test pass vacuously).
    let names: Vec<String> = all.iter().map(|(p, _)| p.join(" ")).collect();
    for expected in [
        "key generate",
        "sign",
        "secret put",
        "vault rotate-key",
        "doctor",
        "nonce next",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} not found in {names:?}"
        );
    }
    for (path, text) in &all {
        let first = text.lines().next().unwrap_or_default();
        assert!(
            !first.trim().is_empty(),
            "keyward {path:?} has no description"
        );
        assert!(
            text.contains("Example"),
            "keyward {} --help has no example:\n{text}",
            path.join(" ")
        );
        assert!(text.contains("Usage: keyward"), "{path:?}");
    }
}

#[test]
fn the_cli_reference_is_up_to_date() {
    let mut doc = String::from(
        "# keyward CLI reference\n\n<!-- Generated from `keyward --help` by tests/help/main.rs: \
         regenerate with `KEYWARD_BLESS=1 cargo test -p keyward-cli --test help`. -->\n",
    );
    for (path, text) in walk() {
        let name = if path.is_empty() {
            "keyward".to_owned()
        } else {
            format!("keyward {}", path.join(" "))
        };
        doc.push_str(&format!(
            "\n## `{name}`\n\n```text\n{}\n```\n",
            text.trim_end()
        ));
    }
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/CLI.md");
    // Hand-written sections after the marker (install lines, guides) are kept as they are.
    let marker = "\n<!-- Hand-written from here on: kept as is by tests/help/main.rs. -->\n";
    let committed = std::fs::read_to_string(&file).unwrap_or_default();
    if let Some(at) = committed.find(marker) {
        doc.push_str(&committed[at..]);
    }
    if std::env::var_os("KEYWARD_BLESS").is_some() {
        std::fs::write(&file, &doc).unwrap();
    }
    let committed = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        committed == doc,
        "docs/CLI.md is out of date: regenerate it with `KEYWARD_BLESS=1 cargo test -p keyward-cli --test help`"
    );
}
