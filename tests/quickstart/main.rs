//! `keyward quickstart`, the real binary: every step ok and the temporary directory gone
//! afterwards; a permanent fault makes steps FAIL and the exit code 1; a bad fault spec is a
//! clean error; with --keep the vault is usable while the testnet runs, and no credential in
//! it ever shows in the output. Loopback only; the binary's own short waits (backoff, the open
//! circuit, Retry-After) are all the time these tests take.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

#[path = "../common/mod.rs"]
mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use keyward_testnet::{SERVICE_SCHEMES, VENUES};
use serde_json::Value;
use tempfile::TempDir;

use common::{assert_fails, keyward, stderr};

/// A temporary directory for the run's TMPDIR, and another for KEYWARD_HOME: the quickstart
/// must leave the first empty and never touch the second.
struct Dirs {
    tmp: TempDir,
    home: TempDir,
}

impl Dirs {
    fn new() -> Self {
        Self {
            tmp: tempfile::tempdir().unwrap(),
            home: tempfile::tempdir().unwrap(),
        }
    }

    fn env(&self) -> [(&str, &str); 3] {
        [
            ("TMPDIR", self.tmp.path().to_str().unwrap()),
            ("KEYWARD_HOME", self.home.path().to_str().unwrap()),
            ("NO_COLOR", "1"),
        ]
    }

    fn assert_clean(&self) {
        for dir in [self.tmp.path(), self.home.path()] {
            let left: Vec<_> = std::fs::read_dir(dir).unwrap().collect();
            assert!(left.is_empty(), "{} holds {left:?}", dir.display());
        }
    }
}

fn quickstart(args: &[&str], dirs: &Dirs) -> Output {
    let mut all = vec!["quickstart"];
    all.extend_from_slice(args);
    keyward(&all, b"", &dirs.env())
}

/// The (step, venue) pairs the summary must hold.
fn expected_rows() -> BTreeSet<(String, String)> {
    let mut rows = BTreeSet::new();
    let mut add = |step: &str, venue: &str| rows.insert((step.to_owned(), venue.to_owned()));
    // Every venue preset with a REST API (BitMart's is WebSocket login only).
    for venue in VENUES.iter().filter(|v| **v != "bitmart") {
        add("rest", venue);
    }
    for scheme in SERVICE_SCHEMES {
        add("service", scheme);
    }
    // Every venue and scheme with WebSocket auth (Coinbase Advanced Trade's HMAC keys have
    // none).
    for name in VENUES.iter().chain(&SERVICE_SCHEMES) {
        if *name != "coinbase-advanced" {
            add("websocket", name);
        }
    }
    // The asymmetric keys: REST and WebSocket (Binance's session.logon, Coinbase Advanced's
    // subscribe with a CDP JWT).
    for pair in ["binance-ed25519", "coinbase-advanced-p256"] {
        add("rest", pair);
        add("websocket", pair);
    }
    add("clock skew", "binance");
    add("retry 5xx", "okx");
    add("circuit breaker", "bitmex");
    add("broker login", "upstox");
    add("rate limit", "binance");
    add("retry-after 429", "deribit");
    rows
}

/// Runs of hex or base64 long enough to be a key or a secret.
fn secret_looking(text: &str) -> Vec<String> {
    let pattern = regex::Regex::new(r"[0-9a-fA-F]{32,}|[A-Za-z0-9+/]{40,}={0,2}").unwrap();
    pattern
        .find_iter(text)
        .map(|m| m.as_str().to_owned())
        .collect()
}

#[test]
fn every_step_is_ok_and_nothing_is_left_behind() {
    let dirs = Dirs::new();
    let out = quickstart(&["--format", "json"], &dirs);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "stderr: {err}");
    assert!(err.is_empty(), "{err}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = doc["steps"].as_array().unwrap();
    let seen: BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| {
            assert_eq!(r["result"], "ok", "{r}");
            assert!(!r["detail"].as_str().unwrap().is_empty(), "{r}");
            (
                r["step"].as_str().unwrap().to_owned(),
                r["venue"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(seen, expected_rows());
    assert_eq!(rows.len(), seen.len(), "a row appears twice");
    assert_eq!(
        (doc["ok"].as_bool(), doc["failed"].as_u64()),
        (Some(true), Some(0))
    );
    let dir = doc["dir"].as_str().unwrap();
    assert!(Path::new(dir).starts_with(dirs.tmp.path()), "{dir}");
    assert!(!Path::new(dir).exists(), "{dir} was not removed");
    dirs.assert_clean();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(secret_looking(&stdout), Vec::<String>::new());
}

#[test]
fn the_text_summary_has_a_row_per_step_and_the_totals() {
    let dirs = Dirs::new();
    let out = quickstart(&[], &dirs);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    for (step, venue) in expected_rows() {
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("{step:<16} {venue:<22} ok "))),
            "no ok row for {step} {venue} in\n{text}"
        );
    }
    let total = expected_rows().len();
    assert!(
        text.contains(&format!("{total} steps: {total} ok, 0 failed")),
        "{text}"
    );
    // NO_COLOR is set (and stdout is a pipe): no escape codes.
    assert!(!text.contains('\x1b'), "{text}");
    assert!(text.contains("removed"), "{text}");
    assert_eq!(secret_looking(&text), Vec::<String>::new());
    dirs.assert_clean();
}

#[test]
fn a_permanent_fault_fails_the_steps_and_the_exit_code() {
    let dirs = Dirs::new();
    let out = quickstart(&["--faults", "fail_5xx=1000000"], &dirs);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    let total = expected_rows().len();
    assert_eq!(
        err.trim_end(),
        format!("keyward: error: {total} of {total} steps failed (marked FAIL in the summary)")
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let failed = text.lines().filter(|l| l.contains(" FAIL ")).count();
    assert_eq!(failed, total, "{text}");
    assert!(text.contains("503"), "{text}");
    dirs.assert_clean();
}

#[test]
fn a_fault_on_one_venue_fails_only_the_steps_that_use_it() {
    let dirs = Dirs::new();
    let out = quickstart(
        &[
            "--faults",
            "fail_5xx=1000000,venue=kraken",
            "--format",
            "json",
        ],
        &dirs,
    );
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let failed: BTreeSet<(String, String)> = doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["result"] == "FAIL")
        .map(|r| {
            (
                r["step"].as_str().unwrap().to_owned(),
                r["venue"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let kraken = |step: &str| (step.to_owned(), "kraken".to_owned());
    assert_eq!(
        failed,
        BTreeSet::from([kraken("rest"), kraken("websocket")])
    );
    assert_eq!(doc["failed"], 2);
    dirs.assert_clean();
}

#[test]
fn a_bad_fault_spec_is_a_clean_error_before_anything_starts() {
    let dirs = Dirs::new();
    for (spec, needle) in [
        ("explode=1", "unknown key \"explode\""),
        ("fail_5xx", "is not key=value"),
        ("error_rate=2", "error_rate"),
    ] {
        let out = quickstart(&["--faults", spec], &dirs);
        assert_fails(&out, needle);
        assert!(stderr(&out).contains("invalid fault specification"));
    }
    dirs.assert_clean();
    let out = quickstart(&["--format", "yaml"], &dirs);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn keep_leaves_a_usable_vault_and_never_prints_a_credential() {
    let dirs = Dirs::new();
    let mut child = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["quickstart", "--keep"])
        .envs(dirs.env())
        .env_remove("KEYWARD_MASTER_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    // Read up to the last instruction: by then the testnet serves and the vault is complete.
    let mut shown = String::new();
    while !shown.contains("Press Ctrl-C") {
        let before = shown.len();
        stdout.read_line(&mut shown).unwrap();
        assert!(shown.len() > before, "ended early:\n{shown}");
    }
    // The line of the instructions (the header's says more after the path).
    let vault = shown
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("vault "))
        .unwrap()
        .trim()
        .to_owned();
    let store = format!("sqlite:{vault}");
    let reveal = |name: &str, field: &str| {
        let out = keyward(
            &[
                "secret", "get", name, "--store", &store, "--reveal", "--field", field,
            ],
            b"",
            &[],
        );
        out.status
            .success()
            .then(|| String::from_utf8(out.stdout).unwrap().trim_end().to_owned())
    };
    let mut credentials = Vec::new();
    for name in VENUES.iter().chain(&SERVICE_SCHEMES) {
        let secret = format!("testnet/{name}");
        let api_key = reveal(&secret, "api_key").unwrap();
        // hmac-newline-v0 has no API key: its entry holds its name, shown in every row.
        if api_key != *name {
            credentials.push(api_key);
        }
        credentials.push(reveal(&secret, "secret").unwrap());
        credentials.extend(reveal(&secret, "passphrase"));
    }
    assert!(credentials.len() > 20, "{}", credentials.len());
    // Ctrl-C, sent to this process only.
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    stdout.read_to_string(&mut shown).unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0), "{err}");
    let total = expected_rows().len();
    assert!(
        shown.contains(&format!("{total} steps: {total} ok")),
        "{shown}"
    );
    for value in &credentials {
        assert!(!shown.contains(value.as_str()), "a credential in stdout");
        assert!(!err.contains(value.as_str()), "a credential in stderr");
    }
    // The vault is kept, as --keep says.
    assert!(err.contains("the vault stays in"), "{err}");
    assert!(Path::new(&vault).exists());
}
