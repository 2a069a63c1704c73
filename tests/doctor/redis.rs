//! `keyward doctor` with a fleet's Redis (`KEYWARD_REDIS_URL` or `--redis`), against a real
//! redis-server: reachable and on loopback is info; `maxmemory-policy` other than noeviction is
//! high; a server that requires a password answers NOAUTH to the anonymous probe (info) and the
//! password never shows; unreachable, NOAUTH without a password, plain redis:// off loopback
//! and a password on the command line are high findings or refusals.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::common;
use crate::redis_server::RedisServer;

const CANARY: &str = "CANARY-redis-pass-7c1d";

/// One inline command to the server (no client library in this suite); the first answer line.
fn command(server: &RedisServer, auth: Option<&str>, line: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut answer = String::new();
    if let Some(password) = auth {
        write!(stream, "AUTH {password}\r\n").unwrap();
        reader.read_line(&mut answer).unwrap();
        answer.clear();
    }
    write!(stream, "{line}\r\n").unwrap();
    reader.read_line(&mut answer).unwrap();
    answer.trim_end().to_owned()
}

/// `keyward doctor DIR [extra] --format json` with `env`; the run and its `redis` findings.
fn doctor(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> (Output, Vec<Value>) {
    let home = tempfile::tempdir().unwrap();
    let home = home.path().to_str().unwrap().to_owned();
    let mut args = vec!["doctor", dir.to_str().unwrap(), "--format", "json"];
    args.extend_from_slice(extra);
    let mut env = env.to_vec();
    env.push(("KEYWARD_HOME", &home));
    let out = common::keyward(&args, b"", &env);
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(!text.contains(CANARY), "{text}");
    assert!(!common::stderr(&out).contains(CANARY));
    let doc: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{e}: {text} {}", common::stderr(&out)));
    let found = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "redis")
        .cloned()
        .collect();
    (out, found)
}

fn severities(found: &[Value]) -> Vec<&str> {
    found
        .iter()
        .map(|f| f["severity"].as_str().unwrap())
        .collect()
}

fn project() -> tempfile::TempDir {
    // Not a git work tree and empty: its only other finding is info at most.
    tempfile::tempdir().unwrap()
}

#[test]
fn a_healthy_loopback_redis_is_info_only() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let dir = project();
    let (out, found) = doctor(dir.path(), &[], &[("KEYWARD_REDIS_URL", &server.url())]);
    assert_eq!(severities(&found), ["info", "info"], "{found:?}");
    let messages: Vec<&str> = found
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(
        messages.iter().any(|m| m.contains("plain TCP on loopback")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("without credentials")),
        "{messages:?}"
    );
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn an_eviction_policy_other_than_noeviction_is_high() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    assert_eq!(
        command(&server, None, "CONFIG SET maxmemory-policy allkeys-lru"),
        "+OK"
    );
    let dir = project();
    let (out, found) = doctor(dir.path(), &["--redis", &server.url()], &[]);
    let high: Vec<&Value> = found.iter().filter(|f| f["severity"] == "high").collect();
    assert_eq!(high.len(), 1, "{found:?}");
    assert!(high[0]["message"].as_str().unwrap().contains("allkeys-lru"));
    assert!(high[0]["fix"].as_str().unwrap().contains("noeviction"));
    assert_eq!(out.status.code(), Some(5));
}

#[test]
fn a_password_is_used_never_shown_and_required_of_others() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    assert_eq!(
        command(&server, None, &format!("CONFIG SET requirepass {CANARY}")),
        "+OK"
    );
    let dir = project();
    let with = format!("redis://:{CANARY}@127.0.0.1:{}", server.port());
    let (out, found) = doctor(dir.path(), &[], &[("KEYWARD_REDIS_URL", &with)]);
    assert_eq!(severities(&found), ["info", "info"], "{found:?}");
    assert!(
        found
            .iter()
            .any(|f| f["message"].as_str().unwrap().contains("NOAUTH")),
        "{found:?}"
    );
    assert_eq!(out.status.code(), Some(0));

    // Without the password, doctor cannot get in: high.
    let (out, found) = doctor(dir.path(), &["--redis", &server.url()], &[]);
    assert_eq!(severities(&found), ["high"], "{found:?}");
    assert!(
        found[0]["message"].as_str().unwrap().contains("NOAUTH"),
        "{found:?}"
    );
    assert_eq!(out.status.code(), Some(5));

    // The password on the command line is refused (and not echoed).
    let (out, found) = doctor(dir.path(), &["--redis", &with], &[]);
    assert_eq!(severities(&found), ["high"], "{found:?}");
    assert!(
        found[0]["message"]
            .as_str()
            .unwrap()
            .contains("KEYWARD_REDIS_URL")
    );
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(command(&server, Some(CANARY), "PING"), "+PONG");
}

#[test]
fn unreachable_and_refused_configurations_are_high() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = project();
    let (out, found) = doctor(
        dir.path(),
        &[],
        &[("KEYWARD_REDIS_URL", &format!("redis://127.0.0.1:{port}"))],
    );
    assert_eq!(severities(&found), ["high"], "{found:?}");
    assert!(
        found[0]["message"]
            .as_str()
            .unwrap()
            .contains("not reachable")
    );
    assert_eq!(out.status.code(), Some(5));

    let (_, found) = doctor(dir.path(), &["--redis", "redis://10.0.0.1:6379"], &[]);
    assert_eq!(severities(&found), ["high"], "{found:?}");
    assert!(found[0]["fix"].as_str().unwrap().contains("rediss://"));
    let (_, found) = doctor(
        dir.path(),
        &["--redis", "rediss://redis.example#insecure"],
        &[],
    );
    assert_eq!(severities(&found), ["high"], "{found:?}");
    assert!(found[0]["message"].as_str().unwrap().contains("#insecure"));
}
