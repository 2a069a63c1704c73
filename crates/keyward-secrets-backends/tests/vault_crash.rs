//! Crash safety: a child process writing secrets is killed with SIGKILL at random points, 50
//! times; afterwards every write it acknowledged is readable with its value and the database
//! passes `PRAGMA integrity_check`.
//!
//! A master-key rotation killed the same way leaves every row under the old key or every row
//! under the new one, all readable.
//!
//! The children are this test binary run again on the `child_writer` (or `child_rotator`) test
//! with `KEYWARD_VAULT_CRASH_CHILD` set to the vault's path. Without that variable they return
//! at once, so they pass as ordinary tests when the suite runs.
#![cfg(unix)]
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use std::ops::ControlFlow;

use keyward_core_crypto::keyfile::{load_key_file, write_key_file};
use keyward_core_crypto::private_file::Overwrite;
use keyward_core_crypto::{FernetKey, KeyRing};
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

/// The new master key of the rotation test, beside the vault's key file.
fn new_key_path(path: &Path) -> PathBuf {
    PathBuf::from(format!("{}.new", SqliteVault::key_path(path).display()))
}

/// Both keys; the primary (the rotation's target) is the new key in even rounds and the old key
/// in odd ones, so each round moves every row to the other key.
fn both_keys(path: &Path, round: u64) -> KeyRing {
    let old = load_key_file(SqliteVault::key_path(path)).unwrap();
    let new = load_key_file(new_key_path(path)).unwrap();
    let keys = if round.is_multiple_of(2) {
        [new, old]
    } else {
        [old, new]
    };
    KeyRing::from_keys(keys).unwrap()
}

/// The rotating child: re-encrypts the vault under the round's target key, printing `ROW <n>`
/// every 50 rows and `DONE` once committed. Does nothing unless run by
/// `a_rotation_killed_midway_is_all_old_or_all_new`.
#[test]
fn child_rotator() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let path = PathBuf::from(path);
    let round: u64 = std::env::var(ROUND_ENV).unwrap().parse().unwrap();
    let ring = both_keys(&path, round);
    let vault = SqliteVault::open(&path, ring.clone()).unwrap();
    let mut out = std::io::stdout().lock();
    let rotated = vault.rotate_master_key(&ring, |p| {
        if p.done % 50 == 0
            && writeln!(out, "ROW {}", p.done)
                .and_then(|()| out.flush())
                .is_err()
        {
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    });
    rotated.unwrap();
    writeln!(out, "DONE").unwrap();
}

/// The key ids of the vault's rows, with their counts.
fn key_ids(path: &Path) -> Vec<(String, i64)> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let mut stmt = conn
        .prepare("SELECT key_id, COUNT(*) FROM versions GROUP BY key_id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn a_rotation_killed_midway_is_all_old_or_all_new() {
    const ROWS: u64 = 2_000;
    const ROUNDS: u64 = 8;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    let vault = SqliteVault::create(&path).unwrap().0.with_read_audit(false);
    let values: Vec<(String, SecretValue)> = (0..ROWS)
        .map(|n| (format!("rot/{n}"), SecretValue::bytes(payload("r", n))))
        .collect();
    vault
        .put_many(values.iter().map(|(n, v)| (n.as_str(), v)))
        .unwrap();
    drop(vault);
    write_key_file(
        new_key_path(&path),
        &FernetKey::generate().unwrap(),
        Overwrite::No,
    )
    .unwrap();
    let mut under = load_key_file(SqliteVault::key_path(&path)).unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut rng = XorShift(0xD1B5_4A32_D192_ED03);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut committed = 0;
    for round in 0..ROUNDS {
        let target = both_keys(&path, round).primary().clone();
        // Kill after a random number of progress lines; past the last one, wait for DONE.
        let wanted = rng.next() % (ROWS / 50 + 5);
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "child_rotator",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &path)
            .env(ROUND_ENV, round.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut seen = 0;
        for line in BufReader::new(child.stdout.take().unwrap()).lines() {
            let line = line.unwrap();
            seen += u64::from(line.contains("ROW "));
            if seen > wanted || line.contains("DONE") {
                break;
            }
        }
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();

        // All rows under the key before the round, or all under its target; none lost.
        let ids = key_ids(&path);
        assert_eq!(
            ids.len(),
            1,
            "round {round}: rows under several keys: {ids:?}"
        );
        assert_eq!(ids[0].1, ROWS as i64, "round {round}: rows lost");
        if ids[0].0 == target.id().to_string() {
            committed += 1;
            under = target;
        } else {
            assert_eq!(
                ids[0].0,
                under.id().to_string(),
                "round {round}: unknown key"
            );
        }
        // And that key alone opens them.
        let vault = SqliteVault::open(&path, KeyRing::new(under.clone()))
            .unwrap()
            .with_read_audit(false);
        for n in (0..ROWS).step_by(97) {
            let got = rt
                .block_on(vault.get(&format!("rot/{n}"), &Selector::Current))
                .unwrap();
            let SecretValue::Bytes(bytes) = got.value else {
                panic!("rot/{n} came back as fields");
            };
            assert_eq!(bytes.expose_secret().as_slice(), payload("r", n).as_slice());
        }
    }
    eprintln!("{committed} of {ROUNDS} rotations committed before the kill");
}
