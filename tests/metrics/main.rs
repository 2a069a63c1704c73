//! End-to-end tests of observability in the real binary (issue 19): `keyward testnet serve
//! --metrics 127.0.0.1:0` exposes Prometheus counters on loopback, parsed here by an
//! independent parser (Python `prometheus_client.parser.text_string_to_metric_families`);
//! a canary key and secret reach neither the scraped text nor the `-vv` log; `-v`, `-vv` and
//! `RUST_LOG` change what stderr shows.
//!
//! Python comes from `KEYWARD_PYTHON`, else `.venv/bin/python` at the workspace root. When
//! `KEYWARD_REQUIRE_INTEROP` is set, a missing interpreter or `prometheus_client` is a failure;
//! otherwise the parser test says why it did not run and passes.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

#[path = "../support/python.rs"]
mod python;

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use keyward::signing::{Credentials, Request, Scheme, SignOptions, Signer};
use serde_json::{Value, json};

/// The canary: a key and secret that must never be printed or exported.
const CANARY_KEY: &str = "CANARYKEY7f3a9d";
const CANARY_SECRET: &str = "CANARYSECRET2b8e41";

/// A running `keyward testnet serve`, killed when dropped.
struct Served {
    child: Child,
    urls: Value,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    fn url(&self, name: &str) -> String {
        self.urls[name].as_str().unwrap().to_owned()
    }

    /// Stops the server and returns its standard error.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut err = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        err
    }
}

/// Writes a 0600 credentials file with the canary for binance.
fn credentials(dir: &Path) -> PathBuf {
    let path = dir.join("creds.json");
    let doc = json!({"credentials": [
        {"venue": "binance", "api_key": CANARY_KEY, "secret": CANARY_SECRET},
    ]});
    std::fs::write(&path, doc.to_string()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// Starts `keyward [pre] testnet serve --credentials FILE [args]` with `env`, and reads its
/// first line.
fn serve(pre: &[&str], args: &[&str], env: &[(&str, &str)], dir: &Path) -> Served {
    let file = credentials(dir);
    let mut command = Command::new(env!("CARGO_BIN_EXE_keyward"));
    command
        .args(pre)
        .args(["testnet", "serve", "--credentials", file.to_str().unwrap()])
        .args(args)
        .env("KEYWARD_HOME", dir)
        .env_remove("KEYWARD_MASTER_KEY")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let urls: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    Served { child, urls }
}

/// Signs `GET /api/v3/account` for Binance with `secret` and sends it to `base`: the status.
fn account(base: &str, secret: &str) -> u16 {
    let creds = Credentials::new(CANARY_KEY, secret.into());
    let signed = Signer::new(Scheme::Binance, &creds)
        .unwrap()
        .sign(Request::get("/api/v3/account"), &SignOptions::default())
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut builder = reqwest::Client::new().get(format!("{base}{}", signed.url()));
        for (name, value) in &signed.headers {
            builder = builder.header(name, value);
        }
        builder.send().await.unwrap().status().as_u16()
    })
}

/// Scrapes `url` and parses the text with prometheus_client: the raw text, the Content-Type,
/// and every sample as `[name, labels, value]`.

#[test]
fn testnet_serve_exposes_counters_that_an_independent_parser_reads() {
    let Some(python) = python::importing("prometheus_client.parser") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let served = serve(&["-vv"], &["--metrics", "127.0.0.1:0"], &[], dir.path());
    let metrics = served.url("metrics");
    assert!(metrics.starts_with("http://127.0.0.1:") && metrics.ends_with("/metrics"));
    let binance = served.url("binance");
    assert_eq!(account(&binance, CANARY_SECRET), 200);
    assert_eq!(account(&binance, CANARY_SECRET), 200);
    assert_eq!(account(&binance, "a-wrong-secret"), 400);

    let scraped = python::scrape(&python, &metrics);
    assert!(
        scraped["content_type"]
            .as_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
        "{scraped}"
    );
    let count = |name, labels: &[(&str, &str)]| python::sample(&scraped, name, labels);
    assert_eq!(
        count(
            "keyward_testnet_requests_total",
            &[("venue", "binance"), ("status", "200")]
        ),
        Some(2.0),
        "{}",
        scraped["text"]
    );
    assert_eq!(
        count(
            "keyward_testnet_requests_total",
            &[("venue", "binance"), ("status", "400")]
        ),
        Some(1.0)
    );
    assert_eq!(
        count(
            "keyward_verifications_total",
            &[("scheme", "binance"), ("outcome", "accepted")]
        ),
        Some(2.0)
    );
    assert_eq!(
        count(
            "keyward_verifier_refusals_total",
            &[("scheme", "binance"), ("kind", "bad_signature")]
        ),
        Some(1.0)
    );
    assert_eq!(count("keyward_testnet_rate_limited_total", &[]), None);

    // The canary reaches neither the scraped text nor the -vv log.
    let text = scraped["text"].as_str().unwrap();
    let err = served.stop();
    assert!(err.contains("testnet answered"), "-vv logs: {err}");
    for haystack in [text, err.as_str()] {
        assert!(
            !haystack.contains(CANARY_KEY) && !haystack.contains(CANARY_SECRET),
            "{haystack}"
        );
    }
}

#[test]
fn a_429_is_counted_per_venue() {
    let Some(python) = python::importing("prometheus_client.parser") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let served = serve(
        &[],
        &[
            "--metrics",
            "127.0.0.1:0",
            "--faults",
            "force_429=1,venue=binance",
        ],
        &[],
        dir.path(),
    );
    assert_eq!(account(&served.url("binance"), CANARY_SECRET), 429);
    let scraped = python::scrape(&python, &served.url("metrics"));
    assert_eq!(
        python::sample(
            &scraped,
            "keyward_testnet_rate_limited_total",
            &[("venue", "binance")]
        ),
        Some(1.0),
        "{}",
        scraped["text"]
    );
}

#[test]
fn a_non_loopback_metrics_address_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = credentials(dir.path());
    let out = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["testnet", "serve", "--credentials", file.to_str().unwrap()])
        .args(["--metrics", "0.0.0.0:0"])
        .env("KEYWARD_HOME", dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("loopback only"), "{err}");
}

/// Serves with `pre` and `env`, sends one signed request, and returns stderr.
fn logged(pre: &[&str], env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(pre, &[], env, dir.path());
    assert_eq!(account(&served.url("binance"), CANARY_SECRET), 200);
    served.stop()
}

#[test]
fn v_vv_and_rust_log_change_what_stderr_shows() {
    // "testnet serving" is an info event of keyward_cli, "testnet answered" a debug event of
    // keyward_testnet.
    let quiet = logged(&[], &[]);
    assert!(
        !quiet.contains("testnet serving") && !quiet.contains("testnet answered"),
        "{quiet}"
    );
    let info = logged(&["-v"], &[]);
    assert!(
        info.contains("testnet serving") && !info.contains("testnet answered"),
        "{info}"
    );
    let debug = logged(&["-vv"], &[]);
    assert!(
        debug.contains("testnet serving") && debug.contains("testnet answered"),
        "{debug}"
    );
    let env = logged(&["-v"], &[("RUST_LOG", "keyward_testnet=debug")]);
    assert!(
        !env.contains("testnet serving") && env.contains("testnet answered"),
        "{env}"
    );
    for err in [quiet, info, debug, env] {
        assert!(
            !err.contains(CANARY_KEY) && !err.contains(CANARY_SECRET),
            "{err}"
        );
    }
}
