//! `keyward doctor --clock-skew`: the offset to a venue's clock, measured against the
//! in-process testnet whose clock a fault moves; the severity follows the size of the offset;
//! an unreachable venue is a finding, not a failure.

use std::path::Path;
use std::process::Output;

use keyward_testnet::{Testnet, TestnetConfig};
use serde_json::Value;

use crate::common;

/// A testnet on 127.0.0.1, served by a runtime of its own while the binary runs.
fn testnet() -> (tokio::runtime::Runtime, Testnet) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let testnet = runtime
        .block_on(Testnet::start(TestnetConfig::default()))
        .unwrap();
    (runtime, testnet)
}

/// `keyward doctor DIR --clock-skew URL --venue VENUE --format json`, with an empty
/// KEYWARD_HOME; returns the run and its clock-skew finding.
fn skew(dir: &Path, url: &str, venue: &str) -> (Output, Value) {
    let home = tempfile::tempdir().unwrap();
    let out = common::keyward(
        &[
            "doctor",
            dir.to_str().unwrap(),
            "--clock-skew",
            url,
            "--venue",
            venue,
            "--format",
            "json",
        ],
        b"",
        &[("KEYWARD_HOME", home.path().to_str().unwrap())],
    );
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", common::stderr(&out)));
    assert_eq!(common::stderr(&out), "");
    let found: Vec<&Value> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "clock-skew")
        .collect();
    assert_eq!(found.len(), 1, "{doc}");
    (out, found[0].clone())
}

#[test]
fn the_offset_to_a_venue_is_reported_with_a_severity_by_size() {
    let (_runtime, t) = testnet();
    // An empty project that is not a git work tree: its only other finding is info.
    let dir = tempfile::tempdir().unwrap();
    let url = t.url("binance").unwrap().to_owned();
    for (offset_ms, severity, code, words) in [
        (0, "info", 0, "within"),
        (3_000, "medium", 4, "behind"),
        (-3_000, "medium", 4, "ahead of"),
        (8_000, "high", 5, "behind"),
    ] {
        let spec = format!("clock_offset_ms={offset_ms},venue=binance");
        t.faults().apply(&spec.parse().unwrap());
        let (out, finding) = skew(dir.path(), &url, "binance");
        assert_eq!(finding["severity"], severity, "{offset_ms}: {finding}");
        assert_eq!(out.status.code(), Some(code), "{offset_ms}: {finding}");
        let message = finding["message"].as_str().unwrap();
        assert!(
            message.contains(words) && message.contains(&url),
            "{message}"
        );
        let fix = finding["fix"].as_str().unwrap();
        if severity != "info" {
            assert!(fix.contains("chronyc makestep"), "{fix}");
        }
    }
    // Another venue's time endpoint is found at its own paths only.
    t.faults()
        .apply(&"clock_offset_ms=2500,venue=kraken".parse().unwrap());
    let (_, finding) = skew(dir.path(), t.url("kraken").unwrap(), "kraken");
    assert_eq!(finding["severity"], "medium", "{finding}");
}

#[test]
fn an_unreachable_venue_is_a_low_finding_not_a_failure() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let (out, finding) = skew(dir.path(), &format!("http://127.0.0.1:{port}"), "okx");
    assert_eq!(finding["severity"], "low", "{finding}");
    assert!(
        finding["message"].as_str().unwrap().contains("not checked"),
        "{finding}"
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(!common::stderr(&out).contains("panicked"));
}

#[test]
fn a_url_needs_its_venue_and_a_name_must_be_a_venue() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    for (args, needle) in [
        (
            vec!["--clock-skew", "http://127.0.0.1:9"],
            "needs --venue NAME",
        ),
        (vec!["--clock-skew", "nasdaq"], "is not a venue"),
        (
            vec!["--clock-skew", "binance", "--venue", "okx"],
            "names the venue already",
        ),
        (
            vec!["--clock-skew", "http://198.51.100.7", "--venue", "okx"],
            "loopback",
        ),
    ] {
        let mut all = vec!["doctor", path];
        all.extend(args);
        common::assert_fails(&common::keyward(&all, b"", &[]), needle);
    }
}

/// Finding 19: a --clock-skew URL, refused or unparsable, is echoed without its user info
/// and query.
#[test]
fn a_refused_url_is_echoed_without_user_info_or_query() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    for (args, needle) in [
        (
            vec![
                "--clock-skew",
                "https://u:CANARY-pw@venue.example/?key=CANARY-q",
            ],
            "https://venue.example/ needs --venue",
        ),
        (
            vec![
                "--clock-skew",
                "https://u:CANARY-pw@bad host/?key=CANARY-q",
                "--venue",
                "binance",
            ],
            "is not a URL",
        ),
    ] {
        let mut all = vec!["doctor", path];
        all.extend(args);
        let out = common::keyward(&all, b"", &[]);
        common::assert_fails(&out, needle);
        assert!(
            !common::stderr(&out).contains("CANARY"),
            "{}",
            common::stderr(&out)
        );
    }
}
