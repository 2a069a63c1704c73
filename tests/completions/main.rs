//! End-to-end tests of `keyward completions` and `keyward man`: the scripts load in the real
//! shells and complete subcommand names; the man pages are roff that `groff`/`man` render
//! without a warning, one page per subcommand. A shell or renderer that is not installed is
//! skipped with a printed reason (the structural checks of the pages run everywhere).
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

#[path = "../common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{assert_fails, keyward, stderr};

/// The standard output of a successful `keyward args...`.
fn stdout_of(args: &[&str]) -> String {
    let out = keyward(args, b"", &[]);
    assert!(out.status.success(), "keyward {args:?}: {}", stderr(&out));
    String::from_utf8(out.stdout).unwrap()
}

/// The path of `program` on `PATH`, if it is installed.
fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// `program args...` with no environment of the user's shell beyond `PATH` and `HOME`.
fn run(program: &Path, args: &[&str], home: &Path) -> Output {
    Command::new(program)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .output()
        .unwrap()
}

/// Asserts success and returns the standard output.
fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// The top-level subcommands listed under "Commands:" in `keyward --help`, without `help`.
fn top_level_subcommands() -> Vec<String> {
    let help = stdout_of(&["--help"]);
    let start = help.find("\nCommands:\n").unwrap() + "\nCommands:\n".len();
    let names: Vec<String> = help[start..]
        .lines()
        .take_while(|line| !line.trim().is_empty())
        .filter(|line| line.starts_with("  ") && !line.starts_with("   "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect();
    for expected in ["secret", "vault", "completions", "man"] {
        assert!(names.iter().any(|n| n == expected), "{expected}: {names:?}");
    }
    names
}

/// Writes `keyward completions SHELL` into `dir` and returns the file.
fn script(shell: &str, dir: &Path) -> PathBuf {
    let text = stdout_of(&["completions", shell]);
    assert!(!text.is_empty(), "empty {shell} script");
    let path = dir.join(format!("keyward.{shell}"));
    std::fs::write(&path, text).unwrap();
    path
}

/// Completes the words of `line` (the last one being completed) with the bash script's
/// function, as bash's programmable completion calls it, and returns the candidates.
fn bash_complete(bash: &Path, script: &Path, home: &Path, words: &[&str]) -> Vec<String> {
    let program = r#"source "$1" || exit 3
spec=$(complete -p keyward) || exit 4
printf 'SPEC %s\n' "$spec"
func=$(printf '%s\n' "$spec" | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
[ -n "$func" ] || exit 5
shift
COMP_WORDS=("$@")
COMP_CWORD=$(( $# - 1 ))
COMP_LINE="$*"
COMP_POINT=${#COMP_LINE}
prev=""
[ "$COMP_CWORD" -gt 0 ] && prev="${COMP_WORDS[COMP_CWORD-1]}"
"$func" keyward "${COMP_WORDS[COMP_CWORD]}" "$prev"
printf 'REPLY %s\n' "${COMPREPLY[@]}""#;
    let mut args = vec!["--norc", "--noprofile", "-c", program, "bash"];
    let script = script.to_str().unwrap();
    args.push(script);
    args.extend_from_slice(words);
    let out = ok(&run(bash, &args, home), "bash completion");
    let spec = out
        .lines()
        .find_map(|line| line.strip_prefix("SPEC "))
        .unwrap();
    assert!(
        spec.starts_with("complete ")
            && spec.contains(" -F _keyward")
            && spec.ends_with(" keyward"),
        "{spec}"
    );
    out.lines()
        .filter_map(|line| line.strip_prefix("REPLY "))
        .flat_map(|line| line.split_whitespace().map(str::to_owned))
        .collect()
}

#[test]
fn bash_script_registers_and_completes_subcommands() {
    let Some(bash) = which("bash") else {
        println!("skipped: bash is not installed");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let script = script("bash", dir.path());
    assert_eq!(
        bash_complete(&bash, &script, dir.path(), &["keyward", "sec"]),
        ["secret"]
    );
    assert_eq!(
        bash_complete(&bash, &script, dir.path(), &["keyward", "secret", "p"]),
        ["put"]
    );
    assert_eq!(
        bash_complete(&bash, &script, dir.path(), &["keyward", "compl"]),
        ["completions"]
    );
    // The shells are the argument's values.
    let mut shells = bash_complete(&bash, &script, dir.path(), &["keyward", "completions", ""]);
    shells.retain(|word| !word.starts_with('-'));
    shells.sort();
    assert_eq!(shells, ["bash", "fish", "zsh"]);
    // Every top-level subcommand is offered after `keyward `.
    let all = bash_complete(&bash, &script, dir.path(), &["keyward", ""]);
    for name in top_level_subcommands() {
        assert!(all.contains(&name), "{name} not offered: {all:?}");
    }
}

#[test]
fn zsh_script_defines_the_completion_function() {
    let Some(zsh) = which("zsh") else {
        println!("skipped: zsh is not installed");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let script = script("zsh", dir.path());
    let text = std::fs::read_to_string(&script).unwrap();
    assert!(text.starts_with("#compdef keyward"), "{}", &text[..40]);
    ok(
        &run(&zsh, &["-n", script.to_str().unwrap()], dir.path()),
        "zsh -n",
    );
    // Loaded after compinit, the script registers _keyward for the keyward command.
    let program = r#"autoload -Uz compinit && compinit -u -d "$HOME/.zcompdump" || exit 3
source "$1" || exit 4
(( $+functions[_keyward] )) || exit 5
print -r -- "COMP ${_comps[keyward]}""#;
    let out = ok(
        &run(
            &zsh,
            &["-f", "-c", program, "zsh", script.to_str().unwrap()],
            dir.path(),
        ),
        "zsh compinit",
    );
    assert!(out.lines().any(|line| line == "COMP _keyward"), "{out}");
}

#[test]
fn fish_script_completes_subcommands() {
    let Some(fish) = which("fish") else {
        println!("skipped: fish is not installed");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let script = script("fish", dir.path());
    let complete = |line: &str| -> Vec<String> {
        let program = format!("source $argv[1]; or exit 3; complete -C '{line}'");
        let out = ok(
            &run(
                &fish,
                &["--no-config", "-c", &program, script.to_str().unwrap()],
                dir.path(),
            ),
            "fish complete -C",
        );
        // Each candidate is `word<TAB>description`.
        out.lines()
            .filter_map(|line| line.split('\t').next())
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(complete("keyward sec"), ["secret"]);
    assert_eq!(complete("keyward secret p"), ["put"]);
}

#[test]
fn unknown_shell_is_a_usage_error() {
    let out = keyward(&["completions", "powershell"], b"", &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert!(stderr(&out).contains("bash, zsh, fish"), "{}", stderr(&out));
}

/// Asserts that a roff page renders without a warning where a renderer is installed; the
/// structural checks are the caller's.
fn renders_cleanly(page: &Path, home: &Path) {
    if let Some(groff) = which("groff") {
        let out = run(
            &groff,
            &["-man", "-Tutf8", "-ww", "-z", page.to_str().unwrap()],
            home,
        );
        ok(&out, "groff");
        assert!(
            out.stderr.is_empty(),
            "groff warns about {}: {}",
            page.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        println!(
            "skipped rendering {}: groff is not installed",
            page.display()
        );
    }
}

#[test]
fn man_page_is_roff_naming_every_subcommand() {
    let page = stdout_of(&["man"]);
    assert!(page.contains("\n.TH KEYWARD 1 "), "{}", &page[..200]);
    assert!(page.contains("\n.SH NAME\n"), "no NAME section");
    assert!(page.contains("\n.SH SYNOPSIS\n"), "no SYNOPSIS section");
    for name in top_level_subcommands() {
        // roff escapes `-` as `\-`: `keyward\-secret(1)`.
        let reference = format!("keyward\\-{}(1)", name.replace('-', "\\-"));
        assert!(page.contains(&reference), "{reference} not in keyward.1");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("keyward.1");
    std::fs::write(&file, &page).unwrap();
    renders_cleanly(&file, dir.path());
    // `man -l` formats the page as a reader sees it: the header and the sections.
    match which("man") {
        Some(man) => {
            let mut command = Command::new(man);
            command
                .args(["-l", file.to_str().unwrap()])
                .env("MANPAGER", "cat")
                .env("PAGER", "cat")
                .env("MANWIDTH", "80")
                .env("HOME", dir.path());
            let text = ok(&command.output().unwrap(), "man -l");
            assert!(text.contains("KEYWARD(1)"), "{text}");
            assert!(text.contains("NAME"), "{text}");
            assert!(text.contains("keyward-secret(1)"), "{text}");
        }
        None => println!("skipped man -l: man is not installed"),
    }
}

#[test]
fn man_out_writes_one_page_per_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("man").join("man1");
    let out = keyward(&["man", "--out", out_dir.to_str().unwrap()], b"", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "--out prints nothing");
    let mut pages: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    pages.sort();
    assert!(pages.contains(&"keyward.1".to_owned()), "{pages:?}");
    for name in top_level_subcommands() {
        assert!(
            pages.contains(&format!("keyward-{name}.1")),
            "{name}: {pages:?}"
        );
    }
    for nested in [
        "keyward-secret-put.1",
        "keyward-vault-init.1",
        "keyward-key-generate.1",
    ] {
        assert!(pages.contains(&nested.to_owned()), "{nested}: {pages:?}");
    }
    assert!(!pages.iter().any(|page| page.contains("help")), "{pages:?}");
    for page in &pages {
        let path = out_dir.join(page);
        let text = std::fs::read_to_string(&path).unwrap();
        let title = page.trim_end_matches(".1").to_uppercase();
        assert!(
            text.contains(&format!("\n.TH {title} 1 ")),
            "{page} has no .TH {title} 1 line"
        );
        renders_cleanly(&path, dir.path());
    }
    // Running it again replaces the pages.
    let again = keyward(&["man", "--out", out_dir.to_str().unwrap()], b"", &[]);
    assert!(again.status.success(), "{}", stderr(&again));
}

#[test]
fn man_out_onto_a_file_fails_with_a_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let out = keyward(&["man", "--out", file.to_str().unwrap()], b"", &[]);
    assert_fails(&out, "could not create the directory");
}
