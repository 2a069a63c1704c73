//! `RedisNonce` against a real redis-server: leases from one counter, the local floor file, a
//! Redis restarted empty, a Redis stopped, a counter another program wrote, and four processes
//! of four threads sharing one sequence (the processes are this test binary run again).
#![cfg(unix)]
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

#[path = "../../../tests/support/redis_server.rs"]
mod redis_server;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use keyward_signing::redis::{ConnectionManager, RedisError, RedisNonce};
use keyward_signing::{Error, FixedClock, NonceSource, NonceUnit};

/// The frozen time every source here starts from.
const NOW: u64 = 1_700_000_000_000;

/// A short timeout, so the calls to a stopped Redis give up quickly.
const TIMEOUT: Duration = Duration::from_millis(300);

async fn connect(url: &str) -> ConnectionManager {
    redis::Client::open(url)
        .unwrap()
        .get_connection_manager()
        .await
        .unwrap()
}

fn source(conn: &ConnectionManager, clock: &Arc<FixedClock>, lease: u64) -> RedisNonce {
    RedisNonce::new(
        conn.clone(),
        "fleet",
        "kraken-main",
        NonceUnit::Millis,
        clock.clone(),
    )
    .with_lease(lease)
    .with_timeout(TIMEOUT)
}

async fn draw(source: &RedisNonce, n: usize) -> Vec<u64> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(source.next_nonce_async().await.unwrap());
    }
    out
}

async fn get(conn: &ConnectionManager, key: &str) -> Option<String> {
    redis::cmd("GET")
        .arg(key)
        .query_async(&mut conn.clone())
        .await
        .unwrap()
}

fn state(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// The next nonce after a Redis restart: the connection manager may answer the first call
/// after the restart with the broken connection's error before it reconnects, and that error
/// is the documented outcome (nothing issued); the call is tried again a bounded number of
/// times. A try whose reply is late (past the source's timeout, on a loaded machine) after
/// Redis ran its script has taken a lease this process never hears of; the sequence then goes
/// on a whole lease higher, which is as safe. So the nonce is `first` or a whole number of
/// `lease`s above it, one per failed try at most.
async fn next_after_restart(source: &RedisNonce, first: u64, lease: u64) -> u64 {
    for tries in 0..20 {
        match source.next_nonce_async().await {
            Ok(nonce) => {
                let skipped = nonce.checked_sub(first).map(|d| (d / lease, d % lease));
                assert!(
                    matches!(skipped, Some((leases, 0)) if leases <= tries),
                    "after the restart {nonce}: expected {first} or a whole lease above it per failed try ({tries} failed)"
                );
                return nonce;
            }
            Err(Error::NonceStoreUnavailable(_)) => {}
            Err(e) => panic!("{e}"),
        }
    }
    panic!("Redis did not answer after its restart")
}

#[tokio::test]
async fn leases_come_from_one_counter_and_the_floor_is_persisted_before_use() {
    let Some(server) = redis_server::RedisServer::start() else {
        return;
    };
    let conn = connect(&server.url()).await;
    let dir = tempfile::tempdir().unwrap();
    let floor = dir.path().join("kraken.nonce");
    let clock = Arc::new(FixedClock::new(NOW));
    let a = source(&conn, &clock, 10).with_floor_file(&floor).unwrap();
    let b = source(&conn, &clock, 10);
    assert_eq!(a.floor_file(), Some(floor.as_path()));
    assert!(!floor.exists(), "building a source writes nothing");

    // A's first lease starts at the clock; its end is in the counter and in the floor file
    // before the first nonce is returned.
    assert_eq!(a.next_nonce_async().await.unwrap(), NOW);
    assert_eq!(
        get(&conn, a.counter_key()).await,
        Some((NOW + 10).to_string())
    );
    assert_eq!(state(&floor), format!("{}\n", NOW + 10));
    assert_eq!(a.remaining(), 9);
    // B, another process's source on the same key, leases the next block.
    assert_eq!(draw(&b, 3).await, vec![NOW + 10, NOW + 11, NOW + 12]);
    assert_eq!(draw(&a, 9).await, (NOW + 1..NOW + 10).collect::<Vec<_>>());
    assert_eq!(a.next_nonce_async().await.unwrap(), NOW + 20);
    assert_eq!(state(&floor), format!("{}\n", NOW + 30));
    assert_eq!(b.counter_key(), a.counter_key());

    // The clock moving on lifts the next lease.
    clock.advance(60_000);
    draw(&b, 7).await;
    assert_eq!(b.next_nonce_async().await.unwrap(), NOW + 60_000);
}

#[tokio::test]
async fn next_nonce_draws_only_from_a_reserved_lease() {
    let Some(server) = redis_server::RedisServer::start() else {
        return;
    };
    let conn = connect(&server.url()).await;
    let clock = Arc::new(FixedClock::new(NOW));
    let nonces = source(&conn, &clock, 2);
    assert!(matches!(nonces.next_nonce(), Err(Error::NonceNotReserved)));
    assert_eq!(get(&conn, nonces.counter_key()).await, None);
    nonces.reserve().await.unwrap();
    // A second reserve with nonces left does nothing.
    nonces.reserve().await.unwrap();
    assert_eq!(nonces.next_nonce().unwrap(), NOW);
    assert_eq!(nonces.next_nonce().unwrap(), NOW + 1);
    assert!(matches!(nonces.next_nonce(), Err(Error::NonceNotReserved)));
    assert_eq!(
        get(&conn, nonces.counter_key()).await,
        Some((NOW + 2).to_string())
    );
}

/// The "Redis killed and restarted": the counter is gone, the clock is frozen below
/// every nonce issued, and only the floor file stands between the sequence and a repeat.
#[tokio::test]
async fn a_redis_restarted_empty_never_makes_the_sequence_go_back() {
    let Some(mut server) = redis_server::RedisServer::start() else {
        return;
    };
    let conn = connect(&server.url()).await;
    let dir = tempfile::tempdir().unwrap();
    let floor = dir.path().join("n");
    let clock = Arc::new(FixedClock::new(NOW));
    let a = source(&conn, &clock, 50).with_floor_file(&floor).unwrap();
    let before = draw(&a, 120).await;
    server.restart();
    // A new source (a process started after the restart) on the same floor file.
    let b = source(&conn, &clock, 50).with_floor_file(&floor).unwrap();
    let first = next_after_restart(&b, NOW + 150, 50).await;
    let after_b = draw(&b, 99).await;
    let after_a = draw(&a, 200).await;
    let max_before = *before.iter().max().unwrap();
    // The new lease starts at the floor file's mark (checked in `next_after_restart`).
    assert!(first > max_before);
    // A's held lease ([NOW + 100, NOW + 150)) is finished first; A's later leases lie above
    // B's.
    assert!(
        after_a
            .iter()
            .skip(30)
            .all(|n| after_b.iter().all(|b| n > b))
    );
    let mut all: Vec<u64> = [before.clone(), vec![first], after_b, after_a.clone()].concat();
    let total = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), total, "a nonce was issued twice");
    let a_run: Vec<u64> = [before, after_a].concat();
    assert!(a_run.windows(2).all(|w| w[0] < w[1]));
}

/// Without a floor file a process's own sequence still never goes back over a restart (its
/// next lease starts above its last nonce).
#[tokio::test]
async fn without_a_floor_file_a_process_still_continues_above_its_last_nonce() {
    let Some(mut server) = redis_server::RedisServer::start() else {
        return;
    };
    let conn = connect(&server.url()).await;
    let clock = Arc::new(FixedClock::new(NOW));
    let a = source(&conn, &clock, 10);
    let before = draw(&a, 25).await;
    server.restart();
    // The held lease ([NOW + 20, NOW + 30)) goes on without Redis; the next starts above it.
    let mut after = draw(&a, 5).await;
    after.push(next_after_restart(&a, NOW + 30, 10).await);
    let run = [before, after].concat();
    assert!(run.windows(2).all(|w| w[0] < w[1]));
}

/// Must-show 5 (nonces): Redis stopped mid-run: the held lease is used up, then the typed error,
/// again and again, with nothing issued; once Redis is back the sequence goes on above.
#[tokio::test]
async fn a_redis_stopped_uses_up_the_held_lease_then_fails_with_a_typed_error() {
    let Some(mut server) = redis_server::RedisServer::start() else {
        return;
    };
    let conn = connect(&server.url()).await;
    let dir = tempfile::tempdir().unwrap();
    let floor = dir.path().join("n");
    let clock = Arc::new(FixedClock::new(NOW));
    let nonces = source(&conn, &clock, 100).with_floor_file(&floor).unwrap();
    let mut issued = vec![nonces.next_nonce_async().await.unwrap()];
    server.stop();
    issued.extend(draw(&nonces, 99).await);
    assert_eq!(issued, (NOW..NOW + 100).collect::<Vec<_>>());
    for _ in 0..3 {
        let err = nonces.reserve().await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::NonceStoreUnavailable(RedisError::Timeout(_) | RedisError::Failed(_))
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("no nonce was issued"), "{err}");
        assert!(matches!(nonces.next_nonce(), Err(Error::NonceNotReserved)));
        assert!(matches!(
            nonces.next_nonce_async().await,
            Err(Error::NonceStoreUnavailable(_))
        ));
    }
    assert_eq!(
        state(&floor),
        format!("{}\n", NOW + 100),
        "no lease was recorded"
    );
    eprintln!(
        "Redis stopped: {} nonces of the held lease issued, then: {}",
        issued.len(),
        nonces.reserve().await.unwrap_err()
    );
    server.restart();
    next_after_restart(&nonces, NOW + 100, 100).await;
}

/// Whatever another program wrote into the counter is a typed error, and the key is left as it
/// was.
#[tokio::test]
async fn a_counter_holding_garbage_is_a_typed_error_and_is_left_alone() {
    let Some(server) = redis_server::RedisServer::start() else {
        return;
    };
    let conn = connect(&server.url()).await;
    let clock = Arc::new(FixedClock::new(NOW));
    let key = source(&conn, &clock, 10).counter_key().to_owned();
    for bad in [
        "",
        "abc",
        "-5",
        "+5",
        " 5",
        "5 ",
        "1.5",
        "0012",
        "99999999999999999999",
        "9223372036854775808",
    ] {
        let nonces = source(&conn, &clock, 10);
        redis::cmd("SET")
            .arg(&key)
            .arg(bad)
            .query_async::<()>(&mut conn.clone())
            .await
            .unwrap();
        let err = nonces.reserve().await.unwrap_err();
        assert!(
            matches!(err, Error::CorruptNonceCounter { ref key, .. } if key == nonces.counter_key()),
            "{bad:?}: {err:?}"
        );
        assert!(err.to_string().contains("not reset automatically"), "{err}");
        assert_eq!(get(&conn, &key).await.as_deref(), Some(bad));
        assert!(matches!(nonces.next_nonce(), Err(Error::NonceNotReserved)));
    }
    redis::cmd("DEL")
        .arg(&key)
        .query_async::<()>(&mut conn.clone())
        .await
        .unwrap();
    redis::cmd("HSET")
        .arg(&key)
        .arg("a")
        .arg("1")
        .query_async::<()>(&mut conn.clone())
        .await
        .unwrap();
    let err = source(&conn, &clock, 10).reserve().await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::CorruptNonceCounter {
                reason: "it is not a string",
                ..
            }
        ),
        "{err:?}"
    );

    // The largest counter Redis keeps: no lease fits above it.
    redis::cmd("SET")
        .arg(&key)
        .arg(i64::MAX.to_string())
        .query_async::<()>(&mut conn.clone())
        .await
        .unwrap();
    let err = source(&conn, &clock, 10).reserve().await.unwrap_err();
    assert!(matches!(err, Error::NonceExhausted), "{err:?}");
    // A valid counter far above the clock is simply continued.
    redis::cmd("SET")
        .arg(&key)
        .arg((NOW * 1000).to_string())
        .query_async::<()>(&mut conn.clone())
        .await
        .unwrap();
    let nonces = source(&conn, &clock, 10);
    assert_eq!(nonces.next_nonce_async().await.unwrap(), NOW * 1000);
}

#[tokio::test]
async fn a_corrupt_floor_file_stops_the_lease_before_redis_is_asked() {
    let Some(server) = redis_server::RedisServer::start() else {
        return;
    };
    let conn = connect(&server.url()).await;
    let dir = tempfile::tempdir().unwrap();
    let floor = dir.path().join("n");
    let clock = Arc::new(FixedClock::new(NOW));
    let nonces = source(&conn, &clock, 10).with_floor_file(&floor).unwrap();
    draw(&nonces, 10).await;
    keyward_core_crypto::private_file::write_private_file(
        &floor,
        b"garbage\n",
        keyward_core_crypto::private_file::Overwrite::Yes,
    )
    .unwrap();
    let err = nonces.reserve().await.unwrap_err();
    assert!(matches!(err, Error::CorruptNonceState { .. }), "{err:?}");
    assert_eq!(
        get(&conn, nonces.counter_key()).await,
        Some((NOW + 10).to_string())
    );
}

#[tokio::test]
async fn the_key_name_reaches_neither_redis_nor_debug() {
    let Some(server) = redis_server::RedisServer::start() else {
        return;
    };
    let conn = connect(&server.url()).await;
    let canary = "CANARY-api-key-7f3a9c";
    let nonces = RedisNonce::new(
        conn.clone(),
        "fleet",
        canary,
        NonceUnit::Micros,
        Arc::new(FixedClock::new(NOW)),
    );
    assert_eq!(nonces.next_nonce_async().await.unwrap(), NOW * 1000);
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut conn.clone())
        .await
        .unwrap();
    assert_eq!(keys, vec![nonces.counter_key().to_owned()]);
    assert!(keys[0].starts_with("fleet:{nonce:"));
    let debug = format!("{nonces:?}");
    assert!(
        !debug.contains(canary) && !keys[0].contains(canary),
        "{debug}"
    );
    assert!(debug.contains(nonces.counter_key()), "{debug}");
}

// --- Must-show 3: four processes x four threads x 10,000 nonces for one key ---------------

const PROCESSES: usize = 4;
const THREADS: usize = 4;
const PER_THREAD: usize = 10_000;
/// Each thread's nonces before the checkpoint. A process then holds exactly 200 used-up leases
/// of 100, so every nonce after the checkpoint comes from a lease taken after it.
const BEFORE_CHECKPOINT: usize = 5_000;
const LEASE: u64 = 100;
const CHILD_ENV: &str = "KEYWARD_NONCE_CHILD";
/// How long a child may take to reach a checkpoint or its end.
const CHILD_WAIT: Duration = Duration::from_secs(300);

/// What one child process reports: its nonces in issue order, per thread and for the whole
/// process, split at the checkpoint.
#[derive(Debug, serde::Deserialize)]
struct ChildReport {
    threads: Vec<Vec<u64>>,
    process_before: Vec<u64>,
    process_after: Vec<u64>,
    retries_after_go: usize,
}

/// The children, killed if the test fails before they end.
struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Lines a child writes, read on a thread of their own so every wait can be capped.
fn lines_of(child: &mut Child) -> Receiver<String> {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// What follows `tag` on the next line with it from a child, within [`CHILD_WAIT`].
fn expect(rx: &Receiver<String>, tag: &str) -> String {
    loop {
        let line = rx
            .recv_timeout(CHILD_WAIT)
            .unwrap_or_else(|e| panic!("no {tag} line from a child: {e}"));
        // The test harness may have written "test <name> ... " on the same line first.
        if let Some(at) = line.find(tag) {
            return line[at + tag.len()..].trim().to_owned();
        }
    }
}

fn run_fleet(restart: bool) {
    let Some(mut server) = redis_server::RedisServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let floor = dir.path().join("shared.nonce");
    let exe = std::env::current_exe().unwrap();
    let mut children = Children(Vec::new());
    let mut outputs = Vec::new();
    for _ in 0..PROCESSES {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "fleet_child_draws_nonces",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, "1")
            .env("KEYWARD_NONCE_REDIS", server.url())
            .env("KEYWARD_NONCE_FLOOR", &floor)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        outputs.push(lines_of(&mut child));
        children.0.push(child);
    }
    // Every child reaches the checkpoint and waits; Redis is restarted (or not) while none of
    // them draws; then they are told to go on.
    for rx in &outputs {
        assert_eq!(expect(rx, "CHECKPOINT"), "lease used up");
    }
    if restart {
        server.restart();
    }
    for child in &mut children.0 {
        let stdin = child.stdin.as_mut().unwrap();
        stdin.write_all(b"go\n").unwrap();
        stdin.flush().unwrap();
    }
    let reports: Vec<ChildReport> = outputs
        .iter()
        .map(|rx| serde_json::from_str(&expect(rx, "REPORT")).unwrap())
        .collect();
    for child in &mut children.0 {
        assert!(child.wait().unwrap().success());
    }
    check_fleet(&reports, restart, &floor);
}

fn check_fleet(reports: &[ChildReport], restart: bool, floor: &Path) {
    let mut all = Vec::new();
    for report in reports {
        assert_eq!(report.threads.len(), THREADS);
        for run in &report.threads {
            assert_eq!(run.len(), PER_THREAD);
            assert!(run.windows(2).all(|w| w[0] < w[1]), "a thread went back");
        }
        let process = [report.process_before.clone(), report.process_after.clone()].concat();
        assert_eq!(process.len(), THREADS * PER_THREAD);
        assert!(
            process.windows(2).all(|w| w[0] < w[1]),
            "a process went back in issue order"
        );
        all.extend_from_slice(&process);
    }
    let total = all.len();
    let distinct: BTreeSet<u64> = all.iter().copied().collect();
    assert_eq!(total, PROCESSES * THREADS * PER_THREAD);
    assert_eq!(distinct.len(), total, "a nonce was issued twice");
    let max_before = reports
        .iter()
        .flat_map(|r| r.process_before.iter())
        .max()
        .unwrap();
    let min_after = reports
        .iter()
        .flat_map(|r| r.process_after.iter())
        .min()
        .unwrap();
    assert!(
        min_after > max_before,
        "a nonce issued after the checkpoint is below one issued before it"
    );
    let mark: u64 = state(floor).trim_end().parse().unwrap();
    assert!(
        distinct.iter().all(|&n| n < mark),
        "the floor file is below a nonce"
    );
    let retries: usize = reports.iter().map(|r| r.retries_after_go).sum();
    eprintln!(
        "fleet{}: {PROCESSES} processes x {THREADS} threads x {PER_THREAD} nonces = {total} issued, {} distinct, 0 duplicates; \
         every thread and every process strictly increasing; before the checkpoint max {max_before}, after it min {min_after}; \
         floor file mark {mark}; {retries} calls refused while the connections came back",
        if restart {
            " with Redis restarted empty at the checkpoint"
        } else {
            ""
        },
        distinct.len(),
    );
}

/// Must-show 3, first run: no restart.
#[test]
fn four_processes_of_four_threads_share_one_sequence_without_a_duplicate() {
    run_fleet(false);
}

/// Must-show 3, second run: Redis killed and restarted empty while every child waits at its
/// checkpoint.
#[test]
fn four_processes_never_repeat_or_go_back_when_redis_restarts_empty_mid_run() {
    run_fleet(true);
}

/// One child process of the fleet tests (a no-op unless `KEYWARD_NONCE_CHILD` is set): four
/// threads draw 10,000 nonces each from one `RedisNonce`, stopping at the checkpoint until the
/// parent writes a line on standard input.
#[test]
fn fleet_child_draws_nonces() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let url = std::env::var("KEYWARD_NONCE_REDIS").unwrap();
    let floor = PathBuf::from(std::env::var_os("KEYWARD_NONCE_FLOOR").unwrap());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let conn = runtime.block_on(connect(&url));
    let clock = Arc::new(FixedClock::new(NOW));
    let nonces = Arc::new(
        RedisNonce::new(conn, "fleet", "kraken-main", NonceUnit::Millis, clock)
            .with_lease(LEASE)
            .with_floor_file(&floor)
            .unwrap(),
    );
    // The process's issue order: the test's lock around drawing and recording.
    let order = Arc::new(Mutex::new(Vec::with_capacity(THREADS * PER_THREAD)));
    let retries = Arc::new(Mutex::new(0usize));
    let phase = |count: usize, after_go: bool| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                let (nonces, order, retries) = (nonces.clone(), order.clone(), retries.clone());
                let handle = runtime.handle().clone();
                std::thread::spawn(move || {
                    let mut mine = Vec::with_capacity(count);
                    while mine.len() < count {
                        match handle.block_on(nonces.reserve()) {
                            Ok(()) => {}
                            // The first calls after a restart may meet the old connection.
                            Err(Error::NonceStoreUnavailable(e)) if after_go => {
                                let mut r = retries.lock().unwrap();
                                *r += 1;
                                // Bounded, with room for a slow reconnect on a loaded machine
                                // (each refused call costs up to the 300 ms timeout).
                                assert!(*r <= 200, "Redis did not come back: {e}");
                                continue;
                            }
                            Err(e) => panic!("{e}"),
                        }
                        let mut order = order.lock().unwrap();
                        match nonces.next_nonce() {
                            Ok(nonce) => {
                                order.push(nonce);
                                mine.push(nonce);
                            }
                            // Another thread took the nonce reserve made ready.
                            Err(Error::NonceNotReserved) => {}
                            Err(e) => panic!("{e}"),
                        }
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect::<Vec<_>>()
    };
    let before = phase(BEFORE_CHECKPOINT, false);
    let process_before = std::mem::take(&mut *order.lock().unwrap());
    assert_eq!(nonces.remaining(), 0);
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "CHECKPOINT lease used up").unwrap();
    stdout.flush().unwrap();
    drop(stdout);
    let mut go = String::new();
    std::io::stdin().read_line(&mut go).unwrap();
    assert_eq!(go, "go\n");
    let after = phase(PER_THREAD - BEFORE_CHECKPOINT, true);
    let process_after = std::mem::take(&mut *order.lock().unwrap());
    let threads: Vec<Vec<u64>> = before
        .into_iter()
        .zip(after)
        .map(|(b, a)| [b, a].concat())
        .collect();
    let report = serde_json::json!({
        "threads": threads,
        "process_before": process_before,
        "process_after": process_after,
        "retries_after_go": *retries.lock().unwrap(),
    });
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "REPORT {report}").unwrap();
    stdout.flush().unwrap();
}
