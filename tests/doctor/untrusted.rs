//! `keyward doctor` on a tree it must not trust (finding 4) and on the cases a clean project
//! must pass and an untracked secret must fail (finding 22).

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use crate::{AWS_KEY, GITIGNORE, HIGH_ENTROPY, clean_project, common, doctor, git, of};

/// A master key planted in doctor's environment: no child process may see it, no output may
/// show it.
const CANARY_MASTER_KEY: &str = "Q2FuYXJ5LW1hc3Rlci1rZXktMDEyMzQ1Njc4OWFiY2Q=";

/// A script that records that it ran (the marker) and the environment it ran with.
fn spy_script(dir: &Path, marker: &Path) -> std::path::PathBuf {
    let script = dir.join("spy.sh");
    fs::write(
        &script,
        format!(
            "#!/bin/sh\ntouch '{m}'\nenv >> '{m}.env'\ncat\n",
            m = marker.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    script
}

#[test]
fn a_tree_whose_git_config_runs_programs_runs_none_of_them() {
    let dir = clean_project();
    let spy_dir = tempfile::tempdir().unwrap();
    let marker = spy_dir.path().join("ran");
    let spy = spy_script(spy_dir.path(), &marker);
    // A secret file git tracks, so that the scan must read the index to report it.
    fs::write(dir.path().join(".env.production"), "A=b\n").unwrap();
    fs::set_permissions(
        dir.path().join(".env.production"),
        fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    git(dir.path(), &["add", "-f", ".env.production"]);
    // Only now does the tree turn hostile: every program its config names is the spy.
    let spy = spy.to_str().unwrap();
    for (key, value) in [
        ("core.fsmonitor", spy),
        ("core.hooksPath", spy_dir.path().to_str().unwrap()),
        ("core.pager", spy),
        ("core.sshCommand", spy),
        ("core.editor", spy),
        ("diff.external", spy),
        ("filter.spy.clean", spy),
        ("filter.spy.smudge", spy),
        ("filter.spy.process", spy),
        ("diff.spy.textconv", spy),
        ("credential.helper", &format!("!{spy}")),
    ] {
        git(dir.path(), &["config", key, value]);
    }
    fs::write(dir.path().join(".gitattributes"), "* filter=spy diff=spy\n").unwrap();
    for hook in [
        "post-index-change",
        "pre-commit",
        "post-checkout",
        "fsmonitor-watchman",
    ] {
        fs::copy(spy, spy_dir.path().join(hook)).unwrap();
    }

    let out = common::keyward(
        &["doctor", dir.path().to_str().unwrap(), "--format", "json"],
        b"",
        &[("KEYWARD_MASTER_KEY", CANARY_MASTER_KEY)],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let env = fs::read_to_string(spy_dir.path().join("ran.env")).unwrap_or_default();
    assert!(
        !marker.exists(),
        "doctor ran a program the tree's git config names; it saw the master key: {}",
        env.contains(CANARY_MASTER_KEY)
    );
    assert!(!text.contains(CANARY_MASTER_KEY), "{text}");
    assert!(!common::stderr(&out).contains(CANARY_MASTER_KEY));
    // The index is still read: the tracked secret file is reported.
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        of(&doc, "tracked-file"),
        vec![("critical".into(), ".env.production".into(), None)],
        "{doc}"
    );
}

#[test]
fn a_clean_project_without_a_vault_needs_no_vault_ignore_pattern() {
    let dir = clean_project();
    fs::write(dir.path().join(".gitignore"), ".env*\n*.key\n*.token\n").unwrap();
    let (out, doc) = doctor(dir.path(), None);
    assert_eq!(doc["findings"], serde_json::json!([]), "{doc}");
    assert_eq!(out.status.code(), Some(0));
    // Once the project holds a vault, the pattern matters.
    let vault = dir.path().join("data/vault.db");
    fs::create_dir(dir.path().join("data")).unwrap();
    fs::write(&vault, "").unwrap();
    fs::set_permissions(&vault, fs::Permissions::from_mode(0o600)).unwrap();
    let (out, doc) = doctor(dir.path(), None);
    assert_eq!(
        of(&doc, "gitignore"),
        vec![("high".into(), ".gitignore".into(), None)]
    );
    assert!(
        doc["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("vault.db*"),
        "{doc}"
    );
    assert_eq!(out.status.code(), Some(5));
}

#[test]
fn a_vault_configured_inside_the_project_needs_the_pattern_too() {
    let dir = clean_project();
    fs::write(dir.path().join(".gitignore"), ".env*\n*.key\n*.token\n").unwrap();
    // KEYWARD_HOME inside the project: the vault `vault init` would create lives there.
    let out = common::keyward(
        &["doctor", dir.path().to_str().unwrap(), "--format", "json"],
        b"",
        &[(
            "KEYWARD_HOME",
            dir.path().join(".keyward").to_str().unwrap(),
        )],
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        of(&doc, "gitignore"),
        vec![("high".into(), ".gitignore".into(), None)],
        "{doc}"
    );
}

#[test]
fn secrets_in_untracked_files_that_git_would_add_are_found() {
    let dir = clean_project();
    fs::write(
        dir.path().join("config.yaml"),
        format!("aws:\n  key: {AWS_KEY}\n"),
    )
    .unwrap();
    // Ignored files are git's business to keep out: not scanned.
    fs::write(
        dir.path().join(".gitignore"),
        format!("{GITIGNORE}local/\n"),
    )
    .unwrap();
    fs::create_dir(dir.path().join("local")).unwrap();
    fs::write(
        dir.path().join("local/scratch.py"),
        format!("token = \"{HIGH_ENTROPY}\"\n"),
    )
    .unwrap();
    let (out, doc) = doctor(dir.path(), None);
    assert_eq!(
        of(&doc, "untracked-secret"),
        vec![("critical".into(), "config.yaml".into(), Some(2))],
        "{doc}"
    );
    assert_eq!(of(&doc, "tracked-secret"), vec![], "{doc}");
    assert_eq!(out.status.code(), Some(6));
}

#[test]
fn a_master_key_in_the_environment_is_noted_without_its_value() {
    let dir = clean_project();
    let home = tempfile::tempdir().unwrap();
    let out = common::keyward(
        &["doctor", dir.path().to_str().unwrap(), "--format", "json"],
        b"",
        &[
            ("KEYWARD_MASTER_KEY", CANARY_MASTER_KEY),
            ("KEYWARD_HOME", home.path().to_str().unwrap()),
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains(CANARY_MASTER_KEY), "{text}");
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        of(&doc, "environment"),
        vec![("info".into(), String::new(), None)],
        "{doc}"
    );
    assert_eq!(out.status.code(), Some(0));
}
