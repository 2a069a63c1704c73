//! The test virtualenv's Python, for the interoperability tests (and, through `#[path]`, the
//! key module's unit test and keyward-exchange-client's TOTP tests): found once per test, a
//! script run with JSON on stdin and JSON read from stdout. Paths are relative to the crate
//! that includes this file.
//!
//! Python comes from `KEYWARD_PYTHON` (set by `cargo xtask ci`), else `.venv/bin/python` at the
//! workspace root, else `python3`. When `KEYWARD_REQUIRE_INTEROP` is set (as `cargo xtask ci`
//! does), a Python that cannot import what a test needs is a failure; otherwise the test says
//! why it did not run and passes, so that a bare `cargo test` works without Python.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

/// A Python that imports what a test needs.
pub struct Python {
    exe: PathBuf,
}

impl Python {
    /// The Python that imports `modules` (a comma-separated `import` list), or None after
    /// saying SKIPPED (a failure when `KEYWARD_REQUIRE_INTEROP` is set).
    pub fn find(modules: &str) -> Option<Self> {
        let venv = crate_dir().join("../../.venv/bin/python");
        let exe = match std::env::var_os("KEYWARD_PYTHON") {
            Some(p) => PathBuf::from(p),
            None if venv.exists() => venv,
            None => PathBuf::from("python3"),
        };
        let works = Command::new(&exe)
            .args(["-c", &format!("import {modules}")])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !works {
            assert!(
                std::env::var_os("KEYWARD_REQUIRE_INTEROP").is_none(),
                "KEYWARD_REQUIRE_INTEROP is set but {} cannot import {modules}; run `cargo xtask python`",
                exe.display()
            );
            eprintln!(
                "SKIPPED: {} cannot import {modules} (run `cargo xtask python`)",
                exe.display()
            );
            return None;
        }
        Some(Self { exe })
    }

    /// Runs `script` (a path in this crate) with `args`, `input` as JSON on stdin, and reads its
    /// stdout as JSON; a failed script fails the test with its stderr.
    pub fn run(&self, script: &str, args: &[&str], input: &Value) -> Value {
        let mut child = Command::new(&self.exe)
            .arg(crate_dir().join(script))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python starts");
        child
            .stdin
            .take()
            .expect("stdin is piped")
            .write_all(input.to_string().as_bytes())
            .expect("python reads its input");
        let out = child.wait_with_output().expect("python runs");
        assert!(
            out.status.success(),
            "{script} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("python prints JSON")
    }
}

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
