//! Crash safety: a child process writing secrets is killed with SIGKILL at random points, 50
//! times; afterwards every write it acknowledged is readable with its value and the database
//! passes `PRAGMA integrity_check`.
//!
//! The child is this test binary run again on the `child_writer` test with
//! `KEYWARD_VAULT_CRASH_CHILD` set to the vault's path. Without that variable `child_writer`
//! returns at once, so it passes as an ordinary test when the suite runs.
#![cfg(unix)]
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use keyward_secrets_backends::{SecretStore, SecretValue, Selector, SqliteVault};
use secrecy::ExposeSecret;

/// Tells the child which vault to write to.
const CHILD_ENV: &str = "KEYWARD_VAULT_CRASH_CHILD";
/// Tells the child which round it is, so each round writes values of its own.
const ROUND_ENV: &str = "KEYWARD_VAULT_CRASH_ROUND";
const ROUNDS: u64 = 50;

/// The value of write `n` of `round`, made longer than a line so rows span more of a page.
fn payload(round: &str, n: u64) -> Vec<u8> {
    let mut v = format!("value {round}-{n} ").into_bytes();
    v.resize(v.len() + (n as usize % 5) * 100, b'x');
    v
}

/// The child: writes secrets forever, printing `ACK <name> <version> <round> <n>` after each
/// committed `put`. Does nothing unless run by `acknowledged_writes_survive_sigkill`.
#[test]
fn child_writer() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let path = PathBuf::from(path);
    let round = std::env::var(ROUND_ENV).unwrap();
    let vault = SqliteVault::open_with_key_file(&path, SqliteVault::key_path(&path))
        .unwrap()
        .with_read_audit(false);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut out = std::io::stdout().lock();
    for n in 0u64.. {
        let name = format!("crash/{}", n % 7);
        let meta = rt
            .block_on(vault.put(&name, &SecretValue::bytes(payload(&round, n))))
            .unwrap();
        let acked =
            writeln!(out, "ACK {name} {} {round} {n}", meta.version).and_then(|()| out.flush());
        if acked.is_err() {
            return;
        }
    }
}

/// An acknowledged write: name, version, round, index.
#[derive(Debug, Clone)]
struct Ack {
    name: String,
    version: String,
    round: String,
    n: u64,
}

/// Reads an `ACK` line (libtest may print its own text before it on the same line).
fn parse_ack(line: &str) -> Option<Ack> {
    let mut parts = line[line.find("ACK ")? + 4..].split_whitespace();
    Some(Ack {
        name: parts.next()?.to_owned(),
        version: parts.next()?.to_owned(),
        round: parts.next()?.to_owned(),
        n: parts.next()?.parse().ok()?,
    })
}

/// xorshift64: seeded, so a failing run can be replayed.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn check(path: &Path, acks: &[Ack]) {
    let vault = SqliteVault::open_with_key_file(path, SqliteVault::key_path(path))
        .unwrap()
        .with_read_audit(false);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for ack in acks {
        let got = rt
            .block_on(vault.get(&ack.name, &Selector::Version(ack.version.clone())))
            .unwrap_or_else(|e| panic!("acknowledged write {ack:?} lost: {e}"));
        let SecretValue::Bytes(bytes) = got.value else {
            panic!("{ack:?} came back as fields");
        };
        assert_eq!(
            bytes.expose_secret().as_slice(),
            payload(&ack.round, ack.n).as_slice(),
            "{ack:?}"
        );
    }
    drop(vault);
    let conn = rusqlite::Connection::open(path).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    drop(SqliteVault::create(&path).unwrap());
    let exe = std::env::current_exe().unwrap();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut all = Vec::new();
    for round in 0..ROUNDS {
        let wanted = 1 + rng.next() % 30;
        let mut child = Command::new(&exe)
            .args(["--exact", "child_writer", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &path)
            .env(ROUND_ENV, round.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut acks = Vec::new();
        while (acks.len() as u64) < wanted {
            let line = lines
                .next()
                .unwrap_or_else(|| panic!("round {round}: the child stopped after {acks:?}"))
                .unwrap();
            acks.extend(parse_ack(&line));
        }
        // Let the child run on a little (a random number of yields, no sleep) so the kill lands
        // at a different point of a write each round.
        for _ in 0..rng.next() % 2_000 {
            std::thread::yield_now();
        }
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        drop(lines);
        check(&path, &acks);
        all.extend(acks);
    }
    check(&path, &all);
}
