//! The test virtualenv's Python for the CLI's suites that drive Python programs (`tests/sdk`,
//! `tests/metrics`, `tests/run`, `tests/proxy`), included with `#[path]`; and `/metrics`
//! scraped and parsed by Python's `prometheus_client`, an independent parser of the Prometheus
//! text format.
//!
//! Python comes from `KEYWARD_PYTHON` (set by `cargo xtask ci`), else `.venv/bin/python` at the
//! workspace root (`cargo xtask python` makes it). When `KEYWARD_REQUIRE_INTEROP` is set (as
//! `cargo xtask ci` does), a missing interpreter or a module it cannot import is a failure;
//! otherwise the test says why it did not run (SKIPPED on stderr) and passes, so that a bare
//! `cargo test` works without Python.
#![allow(dead_code)] // reason: each suite uses its own subset of the helpers

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The interpreter, or None after saying SKIPPED (a failure when interop is required).
pub fn interpreter() -> Option<PathBuf> {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    match std::env::var_os("KEYWARD_PYTHON") {
        Some(p) => Some(PathBuf::from(p)),
        None if venv.exists() => Some(venv),
        None => {
            assert!(
                std::env::var_os("KEYWARD_REQUIRE_INTEROP").is_none(),
                "KEYWARD_REQUIRE_INTEROP is set but there is no Python: run `cargo xtask python`"
            );
            eprintln!("SKIPPED: no KEYWARD_PYTHON and no .venv (run `cargo xtask python`)");
            None
        }
    }
}

/// Whether `python` imports `module`; when it does not, SKIPPED on stderr (a failure when
/// interop is required).
pub fn imports(python: &Path, module: &str) -> bool {
    let ok = Command::new(python)
        .args(["-c", &format!("import {module}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var_os("KEYWARD_REQUIRE_INTEROP").is_none(),
            "KEYWARD_REQUIRE_INTEROP is set but {} cannot import {module}: run `cargo xtask python`",
            python.display()
        );
        eprintln!("SKIPPED: {} cannot import {module}", python.display());
    }
    ok
}

/// The interpreter when it imports `module`, else None (see [`imports`]).
pub fn importing(module: &str) -> Option<PathBuf> {
    interpreter().filter(|python| imports(python, module))
}

/// The Python side of [`scrape`]: no proxy, the answer's Content-Type, every sample.
const SCRAPE: &str = r#"
import json, sys, urllib.request
from prometheus_client.parser import text_string_to_metric_families
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
with opener.open(sys.argv[1], timeout=30) as answer:
    ctype = answer.headers.get("Content-Type")
    text = answer.read().decode("utf-8")
samples = []
for family in text_string_to_metric_families(text):
    for s in family.samples:
        samples.append([s.name, s.labels, s.value])
print(json.dumps({"text": text, "content_type": ctype, "samples": samples}))
"#;

/// Scrapes `url` and parses it with `prometheus_client`: `{"text": the raw text,
/// "content_type": ..., "samples": [[name, labels, value], ...]}`.
pub fn scrape(python: &Path, url: &str) -> serde_json::Value {
    let out = Command::new(python)
        .args(["-c", SCRAPE, url])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the scrape prints JSON")
}

/// The value of the sample `name` whose labels include `labels`, if any.
pub fn sample(scraped: &serde_json::Value, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scraped["samples"].as_array()?.iter().find_map(|s| {
        let matches = s[0] == name && labels.iter().all(|(k, v)| s[1][*k].as_str() == Some(*v));
        matches.then(|| s[2].as_f64()).flatten()
    })
}
