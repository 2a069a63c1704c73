//! End-to-end tests of `keyward nonce next`: processes sharing one state file never issue a nonce
//! twice and each sees a strictly increasing sequence; a run killed with SIGKILL never makes the
//! next run go back; a corrupt state file is a clean error.
#![cfg(unix)]
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

#[path = "../common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use common::{assert_fails, keyward, stderr};

/// Starts `keyward nonce next --state STATE args...` with its standard output piped.
fn spawn(state: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["nonce", "next", "--state"])
        .arg(state)
        .args(args)
        .env_remove("KEYWARD_MASTER_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Runs `keyward nonce next --state STATE args...` to the end and returns its nonces.
fn run(state: &Path, args: &[&str]) -> Vec<u64> {
    let mut all = vec!["nonce", "next", "--state", state.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = keyward(&all, b"", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
    parse(&String::from_utf8(out.stdout).unwrap())
}

/// One nonce per complete line.
fn parse(text: &str) -> Vec<u64> {
    text.lines().map(|l| l.parse().unwrap()).collect()
}

fn assert_strictly_increasing(run: &[u64]) {
    assert!(
        run.windows(2).all(|w| w[0] < w[1]),
        "a run went back or repeated"
    );
}

fn now_ms() -> u64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    u64::try_from(since.as_millis()).unwrap()
}

#[test]
fn four_processes_draw_ten_thousand_each_without_a_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("kraken.nonce");
    // All four start before any is read; each is read on its own thread, so none stalls on a
    // full pipe while another is being read.
    let children: Vec<Child> = (0..4)
        .map(|_| spawn(&state, &["--count", "10000"]))
        .collect();
    let readers: Vec<_> = children
        .into_iter()
        .map(|child| std::thread::spawn(move || child.wait_with_output().unwrap()))
        .collect();
    let outputs: Vec<Output> = readers.into_iter().map(|r| r.join().unwrap()).collect();
    let mut all = Vec::new();
    for out in &outputs {
        assert!(out.status.success(), "{}", stderr(out));
        let run = parse(&String::from_utf8(out.stdout.clone()).unwrap());
        assert_eq!(run.len(), 10_000);
        assert_strictly_increasing(&run);
        all.extend(run);
    }
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 40_000, "a nonce was issued twice");
    // The state file holds a mark above every nonce, and only its owner may read it.
    let mark: u64 = std::fs::read_to_string(&state)
        .unwrap()
        .strip_suffix('\n')
        .unwrap()
        .parse()
        .unwrap();
    assert!(all.iter().all(|&n| n < mark));
    for file in [state.clone(), dir.path().join("kraken.nonce.lock")] {
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", file.display());
    }
}

#[test]
fn a_run_killed_with_sigkill_never_makes_the_next_one_go_back() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("n");
    // Effectively endless, and with small blocks, so the kill lands after many leases.
    let mut child = spawn(&state, &["--count", "100000000", "--block", "16"]);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut printed = Vec::new();
    let mut line = String::new();
    while printed.len() < 500 {
        line.clear();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "keyward stopped");
        printed.push(line.trim_end().parse::<u64>().unwrap());
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "{status:?}");
    // Whatever it printed before it died counts too; a torn last line cannot be a nonce that
    // was used, so only whole lines are kept.
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let whole = rest.rfind('\n').map_or("", |end| &rest[..end]);
    printed.extend(parse(whole));
    assert_strictly_increasing(&printed);
    let highest = *printed.last().unwrap();

    let next = run(&state, &["--count", "1"]);
    assert_eq!(next.len(), 1);
    assert!(next[0] > highest, "{} is not above {highest}", next[0]);
    // And the run after that goes on above it, with or without blocks.
    let after = run(&state, &["--count", "3", "--block", "1"]);
    assert_strictly_increasing(&[&next[..], &after[..]].concat());
}

#[test]
fn a_new_state_file_starts_at_the_clock_in_the_unit_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let before = now_ms();
    let ms = run(&dir.path().join("ms"), &["--count", "2"]);
    let us = run(&dir.path().join("us"), &["--count", "2", "--unit", "us"]);
    let after = now_ms();
    assert!((before..=after).contains(&ms[0]), "{ms:?}");
    assert_eq!(ms[1], ms[0] + 1);
    assert!((before * 1000..=after * 1000).contains(&us[0]), "{us:?}");
    assert_eq!(us[1], us[0] + 1);
}

#[test]
fn a_corrupt_or_loose_state_file_is_a_clean_error() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("n");
    std::fs::write(&state, "not a number\n").unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o600)).unwrap();
    let path = state.to_str().unwrap();
    let out = keyward(&["nonce", "next", "--state", path], b"", &[]);
    assert_fails(&out, "is corrupt");
    assert_fails(&out, "not reset automatically");
    assert_eq!(
        std::fs::read_to_string(&state).unwrap(),
        "not a number\n",
        "a corrupt state file is left as it is"
    );

    std::fs::write(&state, "5\n").unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = keyward(&["nonce", "next", "--state", path], b"", &[]);
    assert_fails(&out, "chmod 600");
}

#[test]
fn usage_errors_exit_with_2_and_help_shows_an_example() {
    for args in [
        &["nonce", "next", "--state", "n", "--count", "0"][..],
        &["nonce", "next", "--state", "n", "--block", "0"],
        &["nonce", "next", "--state", "n", "--unit", "ns"],
        &["nonce", "next"],
    ] {
        let out = keyward(args, b"", &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
    let help = keyward(&["nonce", "next", "--help"], b"", &[]);
    let text = String::from_utf8(help.stdout).unwrap();
    assert!(text.contains("keyward nonce next --state"), "{text}");
}

/// Finding 20: `--format json` streams the array (each nonce written as it is issued), so a
/// huge `--count` neither holds every nonce in memory nor prints nothing until the end; a
/// finished run is still one JSON document.
#[test]
fn json_output_is_streamed_and_stays_one_document() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("stream.nonce");
    let mut child = spawn(&state, &["--format", "json", "--count", "1000000000000"]);
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // The opening and two whole nonces, or whatever came before the end of the stream.
        let mut seen = Vec::new();
        let mut byte = [0u8; 1];
        while seen.iter().filter(|b| **b == b',').count() < 2 {
            match stdout.read(&mut byte) {
                Ok(1) => seen.push(byte[0]),
                _ => break,
            }
        }
        let _ = tx.send(seen);
    });
    // A ceiling on a wait that the fixed binary ends at once; not a measured duration.
    let seen = rx.recv_timeout(std::time::Duration::from_secs(120));
    let _ = child.kill();
    let _ = child.wait();
    let seen =
        String::from_utf8(seen.expect("no nonce was streamed before the run ended")).unwrap();
    assert!(seen.starts_with("{\"nonces\":["), "{seen}");
    let first: Vec<u64> = seen["{\"nonces\":[".len()..]
        .trim_end_matches(',')
        .split(',')
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(first.len(), 2);
    assert_strictly_increasing(&first);

    let out = keyward(
        &[
            "nonce",
            "next",
            "--state",
            state.to_str().unwrap(),
            "--format",
            "json",
            "--count",
            "3",
        ],
        b"",
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let nonces: Vec<u64> = doc["nonces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_u64().unwrap())
        .collect();
    assert_eq!(nonces.len(), 3);
    assert!(nonces[0] > first[1]);
    assert_strictly_increasing(&nonces);
    assert!(out.stdout.ends_with(b"]}\n"));
}

// --- `--store redis://...`: the sequence a fleet shares -----------------------------------

#[path = "../support/redis_server.rs"]
mod redis_server;

/// Runs `keyward nonce next --store URL --key kraken-main args...` to the end and returns its
/// nonces.
fn run_shared(url: &str, args: &[&str]) -> Vec<u64> {
    let mut all = vec!["nonce", "next", "--store", url, "--key", "kraken-main"];
    all.extend_from_slice(args);
    let out = keyward(&all, b"", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
    parse(&String::from_utf8(out.stdout).unwrap())
}

#[test]
fn runs_with_a_store_draw_from_one_shared_sequence() {
    let Some(server) = redis_server::RedisServer::start() else {
        return;
    };
    let url = server.url();
    let start = now_ms();
    // A block far ahead of the clock, so that the sequence of another key is told apart.
    let first = run_shared(&url, &["--count", "5", "--block", "1000000"]);
    assert_strictly_increasing(&first);
    assert!(first[0] >= start);
    assert_eq!(first[4], first[0] + 4);
    // The next run (another process) leases the next block: never anything of the first run's.
    let second = run_shared(&url, &["--count", "3", "--block", "10"]);
    assert_eq!(second[0], first[0] + 1_000_000, "{first:?} {second:?}");
    // Another prefix or key is another sequence; JSON works as with a state file.
    let out = keyward(
        &[
            "nonce",
            "next",
            "--store",
            &url,
            "--key",
            "kraken-main",
            "--prefix",
            "other",
            "--format",
            "json",
            "--count",
            "2",
        ],
        b"",
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let other: Vec<u64> = serde_json::from_value(json["nonces"].clone()).unwrap();
    assert_eq!(other.len(), 2);
    assert!(
        other[0] >= start && other[0] < first[0] + 1_000_000,
        "{other:?}"
    );
}

#[test]
fn with_a_store_the_state_file_is_the_floor_over_a_redis_restart() {
    let Some(mut server) = redis_server::RedisServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("kraken.nonce");
    let state_arg = state.to_str().unwrap();
    let url = server.url();
    // A block far ahead of the clock: after the restart only the floor file knows about it.
    let before = run_shared(
        &url,
        &["--state", state_arg, "--count", "3", "--block", "1000000"],
    );
    let mark: u64 = std::fs::read_to_string(&state)
        .unwrap()
        .trim_end()
        .parse()
        .unwrap();
    assert_eq!(mark, before[0] + 1_000_000);
    server.restart();
    let after = run_shared(
        &url,
        &["--state", state_arg, "--count", "2", "--block", "10"],
    );
    assert_eq!(
        after[0], mark,
        "the sequence restarts at the floor file's mark"
    );
    assert_strictly_increasing(&[before, after].concat());
}

#[test]
fn a_store_out_of_reach_or_of_another_scheme_is_a_clean_error_that_hides_the_password() {
    let Some(mut server) = redis_server::RedisServer::start() else {
        return;
    };
    let canary = "CANARYpassw0rd";
    // Another scheme is refused before anything is tried, and the URL is not echoed.
    for url in [
        format!("http://:{canary}@127.0.0.1:{}", server.port()),
        format!("valkey://:{canary}@127.0.0.1:{}", server.port()),
        format!("127.0.0.1:{}", server.port()),
    ] {
        let out = keyward(&["nonce", "next", "--store", &url, "--key", "k"], b"", &[]);
        assert_fails(&out, "redis:// or rediss://");
        assert!(!stderr(&out).contains(canary));
    }
    // A password on the command line is refused (anyone on the machine can read it).
    let url = format!("redis://:{canary}@127.0.0.1:{}", server.port());
    let out = keyward(&["nonce", "next", "--store", &url, "--key", "k"], b"", &[]);
    assert_fails(&out, "KEYWARD_REDIS_URL");
    assert!(!stderr(&out).contains(canary), "{}", stderr(&out));
    // From the environment, a password the server does not take: the error says so without it.
    let out = keyward(
        &["nonce", "next", "--store", "env", "--key", "k"],
        b"",
        &[("KEYWARD_REDIS_URL", &url)],
    );
    assert_fails(&out, &format!("@127.0.0.1:{}", server.port()));
    assert_fails(&out, "authentication failed");
    assert!(!stderr(&out).contains(canary), "{}", stderr(&out));
    // Plain redis:// off loopback is refused before anything is tried.
    let out = keyward(
        &[
            "nonce",
            "next",
            "--store",
            "redis://10.0.0.1:6379",
            "--key",
            "k",
        ],
        b"",
        &[],
    );
    assert_fails(&out, "loopback");
    // Redis stopped: a clean error, nothing printed.
    server.stop();
    let out = keyward(
        &["nonce", "next", "--store", &server.url(), "--key", "k"],
        b"",
        &[],
    );
    assert_fails(&out, "Redis");
    // --key without --store, or neither --state nor --store: usage errors.
    let out = keyward(&["nonce", "next", "--key", "k"], b"", &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = keyward(&["nonce", "next"], b"", &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}
