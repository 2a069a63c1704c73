//! The shared replay cache on a real redis-server: one replay memory for every verifier of a
//! fleet, failing closed when Redis is unreachable, slow or garbled, and refusing requests that
//! could have been accepted before Redis restarted empty.
//!
//! `two_replicas_share_one_replay_memory` is issue 17's must-show 1: two verifier processes (this
//! test binary re-executed) share one redis-server; 100,000 keyward-v1 requests, 10% of them
//! replays, go to random replicas concurrently; then Redis restarts empty mid-run.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

#[path = "../../../tests/support/redis_server.rs"]
mod redis_server;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use keyward_signing::redis::{ConnectionManager, RedisError, RedisReplayCache, ReplayDecision};
use keyward_signing::verify::{
    RefusalObserver, ReplayCache, ReplayEntry, ReplayRefusal, StaticKeys, Verifier, VerifyError,
    Window,
};
use keyward_signing::{Credentials, FixedClock, Request, Scheme, SignOptions, Signer};

const T0: u64 = 1_700_000_000_000;
const PREFIX: &str = "fleet-a";

fn creds() -> Credentials {
    Credentials::new("svc-a", "canary-secret-8d1f".into())
}

async fn connect(url: &str) -> ConnectionManager {
    redis::Client::open(url)
        .unwrap()
        .get_connection_manager()
        .await
        .unwrap()
}

/// Waits (capped) until `conn` answers PING again: after a restart, the connection manager
/// reconnects on its own, and the first call on the dropped connection fails.
async fn until_pong(conn: &ConnectionManager) {
    for _ in 0..400 {
        let mut c = conn.clone();
        let ping = tokio::time::timeout(
            Duration::from_millis(500),
            redis::cmd("PING").query_async::<String>(&mut c),
        )
        .await;
        if matches!(ping, Ok(Ok(_))) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("Redis did not answer PING within 10 s of its restart");
}

fn verifier(cache: Arc<dyn ReplayCache>, clock: Arc<FixedClock>) -> Verifier {
    Verifier::new(Scheme::KeywardV1, Arc::new(StaticKeys::new().with(creds())))
        .with_clock(clock)
        .with_cache(cache)
}

fn signed(clock: &Arc<FixedClock>, n: u64) -> Request {
    Signer::new(Scheme::KeywardV1, &creds())
        .unwrap()
        .with_clock(clock.clone())
        .sign(
            Request::post("/v1/orders").with_body(format!("{{\"n\":{n}}}")),
            &SignOptions::default(),
        )
        .unwrap()
}

fn entry(id: u128, now_ms: u64) -> ReplayEntry {
    ReplayEntry {
        id,
        valid_from_ms: now_ms - 5_000,
        expires_at_ms: now_ms + 300_001,
        now_ms,
    }
}

/// Records the kinds of refusals it is told of.
#[derive(Debug, Default)]
struct Seen(Mutex<Vec<&'static str>>);

impl RefusalObserver for Seen {
    fn refused(&self, _: Scheme, error: &VerifyError) {
        self.0.lock().unwrap().push(error.kind());
    }
}

#[tokio::test]
async fn accepts_once_refuses_the_replay_and_expires_with_the_window() {
    let Some(server) = redis_server::RedisServer::start() else {
        return;
    };
    let conn = connect(&server.url()).await;
    let cache = Arc::new(RedisReplayCache::new(conn.clone(), PREFIX));
    let clock = Arc::new(FixedClock::new(T0));
    let v = verifier(cache.clone(), clock.clone());
    let request = signed(&clock, 1);
    assert_eq!(v.verify_async(&request).await.unwrap().key_id, "svc-a");
    assert_eq!(v.verify_async(&request).await, Err(VerifyError::Replayed));
    // A second replica on its own connection sees the same memory.
    let other = verifier(
        Arc::new(RedisReplayCache::new(connect(&server.url()).await, PREFIX)),
        clock.clone(),
    );
    assert_eq!(
        other.verify_async(&request).await,
        Err(VerifyError::Replayed)
    );
    assert!(other.verify_async(&signed(&clock, 2)).await.is_ok());

    // The entry lives exactly as long as the window keeps the request fresh (PX).
    let e = entry(7, T0);
    assert_eq!(cache.decide(e).await, Ok(ReplayDecision::Accepted));
    let mut c = conn.clone();
    let pttl: i64 = redis::cmd("PTTL")
        .arg(cache.entry_key(7))
        .query_async(&mut c)
        .await
        .unwrap();
    assert!(pttl > 0 && pttl <= 300_001, "PTTL {pttl}");
    assert_eq!(
        cache.entry_key(7),
        format!("{PREFIX}:{{replay}}:{:032x}", 7u128)
    );
    // Once Redis has dropped it (as PX does at expiry), the id is new again.
    let _: i64 = redis::cmd("DEL")
        .arg(cache.entry_key(7))
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(cache.decide(e).await, Ok(ReplayDecision::Accepted));
    assert_eq!(cache.decide(e).await, Ok(ReplayDecision::Replayed));

    // Past the ceiling: refused without being remembered for less.
    let too_long = ReplayEntry {
        expires_at_ms: T0 + keyward_signing::verify::MAX_ENTRY_LIFETIME_MS + 1,
        ..entry(8, T0)
    };
    assert_eq!(cache.decide(too_long).await, Ok(ReplayDecision::TooLong));
    assert_eq!(
        cache.check_and_insert_shared(too_long).await,
        Err(ReplayRefusal::TooLong)
    );
    let exists: i64 = redis::cmd("EXISTS")
        .arg(cache.entry_key(8))
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(exists, 0);

    // The synchronous path cannot ask Redis: it refuses, never accepts.
    assert_eq!(
        cache.check_and_insert(9, T0 + 1000, T0),
        Err(ReplayRefusal::Unavailable)
    );
    assert_eq!(
        v.verify(&signed(&clock, 3)),
        Err(VerifyError::ReplayUnavailable)
    );
}

#[tokio::test]
async fn a_websocket_auth_message_is_one_request_for_the_fleet() {
    let Some(server) = redis_server::RedisServer::start() else {
        return;
    };
    let clock = Arc::new(FixedClock::new(T0));
    let creds = Credentials::new("ws-key", "canary-secret-8d1f".into());
    let replica = |cache: RedisReplayCache| {
        Verifier::new(
            Scheme::Bybit,
            Arc::new(StaticKeys::new().with(creds.clone())),
        )
        .with_clock(clock.clone())
        .with_cache(Arc::new(cache))
    };
    let a = replica(RedisReplayCache::new(connect(&server.url()).await, PREFIX));
    let b = replica(RedisReplayCache::new(connect(&server.url()).await, PREFIX));
    let message = Signer::new(Scheme::Bybit, &creds)
        .unwrap()
        .with_clock(clock.clone())
        .ws_auth(&Default::default(), &SignOptions::default())
        .unwrap();
    assert_eq!(a.verify_ws_async(&message).await.unwrap().key_id, "ws-key");
    assert_eq!(
        b.verify_ws_async(&message).await,
        Err(VerifyError::Replayed)
    );
    // The synchronous path cannot ask Redis.
    assert_eq!(b.verify_ws(&message), Err(VerifyError::ReplayUnavailable));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_copies_of_one_request_are_accepted_once() {
    let Some(server) = redis_server::RedisServer::start() else {
        return;
    };
    let mut replicas = Vec::new();
    for _ in 0..4 {
        replicas.push(Arc::new(RedisReplayCache::new(
            connect(&server.url()).await,
            PREFIX,
        )));
    }
    for id in 0..100u128 {
        let mut tasks = tokio::task::JoinSet::new();
        for copy in 0..8 {
            let cache = replicas[copy % replicas.len()].clone();
            tasks.spawn(async move { cache.decide(entry(id, T0)).await.unwrap() });
        }
        let decisions = tasks.join_all().await;
        let accepted = decisions
            .iter()
            .filter(|d| **d == ReplayDecision::Accepted)
            .count();
        assert_eq!(accepted, 1, "id {id}: {decisions:?}");
        assert!(
            decisions
                .iter()
                .all(|d| matches!(d, ReplayDecision::Accepted | ReplayDecision::Replayed))
        );
    }
}

#[tokio::test]
async fn redis_stopped_refuses_every_request_with_unavailable() {
    let Some(mut server) = redis_server::RedisServer::start() else {
        return;
    };
    let cache = Arc::new(
        RedisReplayCache::new(connect(&server.url()).await, PREFIX)
            .with_timeout(Duration::from_millis(300)),
    );
    let clock = Arc::new(FixedClock::new(T0));
    let seen = Arc::new(Seen::default());
    let v = verifier(cache.clone(), clock.clone()).with_observer(seen.clone());
    assert!(v.verify_async(&signed(&clock, 1)).await.is_ok());
    server.stop();
    for n in 2..6 {
        let refused = v.verify_async(&signed(&clock, n)).await;
        assert_eq!(refused, Err(VerifyError::ReplayUnavailable));
        let error = refused.unwrap_err();
        assert_eq!(error.status(), 503);
        assert_eq!(error.kind(), "unavailable");
    }
    assert!(matches!(
        cache.decide(entry(1, T0)).await,
        Err(RedisError::Failed(_) | RedisError::Timeout(_))
    ));
    assert_eq!(
        cache.check_and_insert_shared(entry(2, T0)).await,
        Err(ReplayRefusal::Unavailable)
    );
    assert_eq!(seen.0.lock().unwrap().as_slice(), ["unavailable"; 4]);
}

#[tokio::test]
async fn a_slow_redis_times_out_and_fails_closed() {
    let Some(server) = redis_server::RedisServer::start() else {
        return;
    };
    let admin = connect(&server.url()).await;
    let cache = Arc::new(
        RedisReplayCache::new(connect(&server.url()).await, PREFIX)
            .with_timeout(Duration::from_millis(100)),
    );
    let clock = Arc::new(FixedClock::new(T0));
    let v = verifier(cache.clone(), clock.clone());
    // Redis holds every write (scripts included) for 10 s: each decision outlives its timeout.
    let mut c = admin.clone();
    let _: () = redis::cmd("CLIENT")
        .arg(&["PAUSE", "10000", "WRITE"])
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(
        cache.decide(entry(1, T0)).await,
        Err(RedisError::Timeout(Duration::from_millis(100)))
    );
    assert_eq!(
        v.verify_async(&signed(&clock, 1)).await,
        Err(VerifyError::ReplayUnavailable)
    );
    let _: () = redis::cmd("CLIENT")
        .arg("UNPAUSE")
        .query_async(&mut c)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_fresh_fleet_accepts_its_first_requests() {
    let Some(server) = redis_server::RedisServer::start() else {
        return;
    };
    let cache = Arc::new(RedisReplayCache::new(connect(&server.url()).await, PREFIX));
    let clock = Arc::new(FixedClock::new(T0));
    // Signed before the first verification created the epoch: a new fleet lost nothing.
    let early = signed(&clock, 1);
    clock.advance(1_000);
    let v = verifier(cache.clone(), clock.clone());
    assert!(v.verify_async(&early).await.is_ok());
    assert!(v.verify_async(&signed(&clock, 2)).await.is_ok());
    let mut c = connect(&server.url()).await;
    let epoch: String = redis::cmd("GET")
        .arg(cache.epoch_key())
        .query_async(&mut c)
        .await
        .unwrap();
    assert!(
        epoch.starts_with(&format!("v1:{}:", T0 + 1_000)) && epoch.ends_with(":0"),
        "{epoch}"
    );
}

#[tokio::test]
async fn redis_restarted_empty_refuses_requests_signed_before_the_restart() {
    let Some(mut server) = redis_server::RedisServer::start() else {
        return;
    };
    let conn = connect(&server.url()).await;
    let cache = Arc::new(RedisReplayCache::new(conn.clone(), PREFIX));
    let clock = Arc::new(FixedClock::new(T0));
    let seen = Arc::new(Seen::default());
    let v = verifier(cache.clone(), clock.clone()).with_observer(seen.clone());
    let accepted = signed(&clock, 1);
    let unsent = signed(&clock, 2);
    assert!(v.verify_async(&accepted).await.is_ok());

    server.restart();
    until_pong(&conn).await;
    clock.advance(1_000);
    let restart_at = T0 + 1_000;
    // The replay of a request accepted before the restart cannot slip through the empty memory;
    // a request signed before the restart is refused alike (the memory cannot tell them apart).
    assert_eq!(
        v.verify_async(&accepted).await,
        Err(VerifyError::SignedBeforeRestart)
    );
    assert_eq!(
        v.verify_async(&unsent).await,
        Err(VerifyError::SignedBeforeRestart)
    );
    assert_eq!(VerifyError::SignedBeforeRestart.status(), 401);
    // Signed at the restart: within the future skew (5 s) it could have been accepted before.
    assert_eq!(
        v.verify_async(&signed(&clock, 3)).await,
        Err(VerifyError::SignedBeforeRestart)
    );
    // Signed once the future skew has passed: it could not have been accepted before R.
    clock.set(restart_at + Window::DEFAULT.future_ms);
    let after = signed(&clock, 4);
    assert!(v.verify_async(&after).await.is_ok());
    assert_eq!(v.verify_async(&after).await, Err(VerifyError::Replayed));
    // The pre-restart requests stay refused while they are fresh, then are stale anyway.
    assert_eq!(
        v.verify_async(&accepted).await,
        Err(VerifyError::SignedBeforeRestart)
    );
    clock.set(T0 + Window::DEFAULT.past_ms + 1);
    assert!(matches!(
        v.verify_async(&accepted).await,
        Err(VerifyError::Expired { .. })
    ));
    assert_eq!(
        seen.0.lock().unwrap().as_slice(),
        [
            "signed_before_restart",
            "signed_before_restart",
            "signed_before_restart",
            "replayed",
            "signed_before_restart",
            "expired"
        ]
    );
}

#[tokio::test]
async fn a_replica_that_saw_the_old_epoch_flags_a_new_replicas_fresh_one() {
    let Some(mut server) = redis_server::RedisServer::start() else {
        return;
    };
    let old_conn = connect(&server.url()).await;
    let old = Arc::new(RedisReplayCache::new(old_conn.clone(), PREFIX));
    assert_eq!(old.decide(entry(1, T0)).await, Ok(ReplayDecision::Accepted));
    server.restart();
    until_pong(&old_conn).await;
    // A replica started after the restart knows no epoch: it creates a fresh one (a new fleet
    // must not refuse its first requests).
    let new = Arc::new(RedisReplayCache::new(connect(&server.url()).await, PREFIX));
    let t1 = T0 + 10_000;
    assert_eq!(new.decide(entry(2, t1)).await, Ok(ReplayDecision::Accepted));
    // The old replica saw another epoch: it flags the current one restarted, and from then on
    // both refuse what could have been accepted before it.
    assert_eq!(
        old.decide(entry(1, t1)).await,
        Ok(ReplayDecision::SignedBeforeRestart)
    );
    assert_eq!(
        new.decide(entry(3, t1)).await,
        Ok(ReplayDecision::SignedBeforeRestart)
    );
    let later = ReplayEntry {
        valid_from_ms: t1,
        ..entry(4, t1 + 5_000)
    };
    assert_eq!(new.decide(later).await, Ok(ReplayDecision::Accepted));
}

#[tokio::test]
async fn garbage_in_the_epoch_key_fails_closed_with_a_typed_error() {
    let Some(server) = redis_server::RedisServer::start() else {
        return;
    };
    let mut admin = connect(&server.url()).await;
    let cache = Arc::new(RedisReplayCache::new(connect(&server.url()).await, PREFIX));
    let clock = Arc::new(FixedClock::new(T0));
    let v = verifier(cache.clone(), clock.clone());
    let epoch_key = cache.epoch_key().to_owned();
    for garbage in [
        "hello",
        "v1:abc:0a:0",
        "v1:1700000000000:0a:7",
        "v1:99999999999999999999:0a:1",
        "v1:1:xyz:0",
        "",
    ] {
        let _: () = redis::cmd("SET")
            .arg(&epoch_key)
            .arg(garbage)
            .query_async(&mut admin)
            .await
            .unwrap();
        assert!(
            matches!(
                cache.decide(entry(1, T0)).await,
                Err(RedisError::Unexpected(_))
            ),
            "{garbage:?}"
        );
        assert_eq!(
            v.verify_async(&signed(&clock, 1)).await,
            Err(VerifyError::ReplayUnavailable),
            "{garbage:?}"
        );
    }
    // Another type under the key.
    let _: i64 = redis::cmd("DEL")
        .arg(&epoch_key)
        .query_async(&mut admin)
        .await
        .unwrap();
    let _: i64 = redis::cmd("HSET")
        .arg(&epoch_key)
        .arg(&["a", "b"])
        .query_async(&mut admin)
        .await
        .unwrap();
    let error = cache.decide(entry(1, T0)).await.unwrap_err();
    assert!(matches!(error, RedisError::Unexpected(_)));
    assert!(error.to_string().contains(&epoch_key), "{error}");
    // Nothing was remembered while the epoch was garbage; once it is deleted, decisions resume.
    let _: i64 = redis::cmd("DEL")
        .arg(&epoch_key)
        .query_async(&mut admin)
        .await
        .unwrap();
    assert!(v.verify_async(&signed(&clock, 1)).await.is_ok());
}

#[tokio::test]
async fn no_secret_in_errors_or_debug() {
    let Some(mut server) = redis_server::RedisServer::start() else {
        return;
    };
    let password = "canary-redis-pass-61c0";
    let mut admin = connect(&server.url()).await;
    let _: () = redis::cmd("CONFIG")
        .arg(&["SET", "requirepass", password])
        .query_async(&mut admin)
        .await
        .unwrap();
    let url = format!("redis://:{password}@127.0.0.1:{}", server.port());
    let cache = Arc::new(
        RedisReplayCache::new(connect(&url).await, PREFIX).with_timeout(Duration::from_millis(300)),
    );
    let clock = Arc::new(FixedClock::new(T0));
    let v = verifier(cache.clone(), clock.clone());
    let request = signed(&clock, 1);
    let signature = request.header("Signature").unwrap().to_owned();
    assert!(v.verify_async(&request).await.is_ok());
    let mut texts = vec![
        format!("{cache:?}"),
        format!("{v:?}"),
        v.verify_async(&request).await.unwrap_err().to_string(),
    ];
    server.stop();
    texts.push(format!("{:?}", cache.decide(entry(1, T0)).await));
    texts.push(
        v.verify_async(&signed(&clock, 2))
            .await
            .unwrap_err()
            .to_string(),
    );
    for text in &texts {
        for secret in [password, "canary-secret-8d1f", signature.as_str()] {
            assert!(!text.contains(secret), "{text}");
        }
    }
}

// ---- Must-show 1: two verifier processes sharing one Redis ----

/// Set in a child process: the redis URL it verifies against.
const CHILD_ENV: &str = "KEYWARD_FLEET_REPLAY_CHILD";
/// A child's answers follow this tag on a line of their own.
const TAG: &str = "FLEET ";
const REQUESTS: usize = 100_000;
const BATCH: usize = 1_000;
/// The most a child may take to answer one batch.
const CHILD_TIMEOUT: Duration = Duration::from_secs(60);

/// A verifier replica: reads one JSON command per stdin line, answers one `FLEET` line each.
/// Commands: `{"clock": ms}` sets its clock, `{"ping": true}` waits until Redis answers, and
/// `{"batch": [[n, path, body, [[name, value]...]]...]}` verifies every request concurrently
/// with `verify_async` and answers `[[n, "ok" | kind]...]`.
#[test]
fn fleet_replica_child() {
    let Ok(url) = std::env::var(CHILD_ENV) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let clock = Arc::new(FixedClock::new(T0));
    let conn = runtime.block_on(connect(&url));
    let cache = Arc::new(RedisReplayCache::new(conn.clone(), PREFIX));
    let v = Arc::new(verifier(cache, clock.clone()));
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let command: Value = serde_json::from_str(&line.unwrap()).unwrap();
        let answer = if let Some(ms) = command["clock"].as_u64() {
            clock.set(ms);
            json!("clock")
        } else if command["ping"].as_bool() == Some(true) {
            runtime.block_on(until_pong(&conn));
            json!("pong")
        } else {
            let batch = command["batch"].as_array().unwrap().clone();
            runtime.block_on(async {
                let mut tasks = tokio::task::JoinSet::new();
                for item in batch {
                    let v = v.clone();
                    tasks.spawn(async move {
                        let request = from_json(&item);
                        let outcome = match v.verify_async(&request).await {
                            Ok(_) => "ok",
                            Err(error) => error.kind(),
                        };
                        json!([item[0], outcome])
                    });
                }
                Value::Array(tasks.join_all().await)
            })
        };
        println!("{TAG}{answer}");
    }
}

fn to_json(n: usize, request: &Request) -> Value {
    json!([
        n,
        request.path,
        String::from_utf8_lossy(&request.body),
        request.headers
    ])
}

fn from_json(item: &Value) -> Request {
    let mut request = Request::post(item[1].as_str().unwrap()).with_body(item[2].as_str().unwrap());
    for header in item[3].as_array().unwrap() {
        request = request.with_header(header[0].as_str().unwrap(), header[1].as_str().unwrap());
    }
    request
}

/// A child replica, killed when dropped.
struct Replica {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
}

impl Replica {
    fn spawn(url: &str) -> Replica {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "fleet_replica_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                // libtest may print `test fleet_replica_child ... ` before the first answer.
                if let Some((_, answer)) = line.split_once(TAG) {
                    if tx.send(answer.to_owned()).is_err() {
                        return;
                    }
                }
            }
        });
        Replica {
            child,
            stdin,
            lines,
        }
    }

    fn send(&mut self, command: &Value) {
        writeln!(self.stdin, "{command}").unwrap();
        self.stdin.flush().unwrap();
    }

    fn answer(&self) -> Value {
        match self.lines.recv_timeout(CHILD_TIMEOUT) {
            Ok(line) => serde_json::from_str(&line).unwrap(),
            Err(RecvTimeoutError::Timeout) => {
                panic!("a replica gave no answer in {CHILD_TIMEOUT:?}")
            }
            Err(RecvTimeoutError::Disconnected) => panic!("a replica exited"),
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends the same command to every replica and waits for each answer.
fn broadcast(replicas: &mut [Replica], command: &Value) {
    for r in replicas.iter_mut() {
        r.send(command);
    }
    for r in replicas.iter() {
        r.answer();
    }
}

/// What a phase sent and how the fleet answered.
#[derive(Debug, Default)]
struct Tally {
    sent: usize,
    replay_copies: usize,
    /// Replays sent in the same batch as their request, to the other replica: both in flight
    /// at once, one at each replica.
    raced_across: usize,
    /// Accepted copies per distinct request of this phase.
    accepted: HashMap<usize, usize>,
    /// Refusals by kind.
    refusals: HashMap<String, usize>,
}

impl Tally {
    /// Copies accepted beyond the first of each request: replays that got through.
    fn replays_accepted(&self) -> usize {
        self.accepted.values().map(|c| c.saturating_sub(1)).sum()
    }

    /// Distinct requests of which no copy was accepted.
    fn fresh_refused(&self, distinct: &[usize]) -> usize {
        distinct
            .iter()
            .filter(|n| self.accepted.get(n).copied().unwrap_or(0) == 0)
            .count()
    }

    fn refused(&self, kind: &str) -> usize {
        self.refusals.get(kind).copied().unwrap_or(0)
    }
}

/// Sends `plan` (request numbers; a number repeated is a replay) in batches, each batch split at
/// random between the replicas and verified by both at once.
fn run(
    replicas: &mut [Replica],
    requests: &HashMap<usize, Request>,
    plan: &[usize],
    rng: &mut StdRng,
) -> Tally {
    let mut tally = Tally::default();
    // Where each request was first sent: (batch, replica).
    let mut first_seen: HashMap<usize, (usize, usize)> = HashMap::new();
    for (batch, chunk) in plan.chunks(BATCH).enumerate() {
        let mut parts = vec![Vec::new(); replicas.len()];
        for &n in chunk {
            let replica = rng.random_range(0..replicas.len());
            match first_seen.get(&n) {
                Some(&(b, r)) => {
                    tally.replay_copies += 1;
                    if b == batch && r != replica {
                        tally.raced_across += 1;
                    }
                }
                None => {
                    first_seen.insert(n, (batch, replica));
                }
            }
            parts[replica].push(to_json(n, &requests[&n]));
        }
        tally.sent += chunk.len();
        for (r, part) in replicas.iter_mut().zip(parts) {
            r.send(&json!({ "batch": part }));
        }
        for r in replicas.iter() {
            for result in r.answer().as_array().unwrap() {
                let n = result[0].as_u64().unwrap() as usize;
                match result[1].as_str().unwrap() {
                    "ok" => *tally.accepted.entry(n).or_default() += 1,
                    kind => *tally.refusals.entry(kind.to_owned()).or_default() += 1,
                }
            }
        }
    }
    tally
}

/// `count` requests numbered from `first`, of which about 10% are replays (of a request sent
/// shortly before, often in the same batch, so a request and its replay are in flight at both
/// replicas at once; or of any earlier one). Returns the plan and the distinct numbers.
fn plan(first: usize, count: usize, rng: &mut StdRng) -> (Vec<usize>, Vec<usize>) {
    let mut plan = Vec::with_capacity(count);
    let mut distinct = Vec::new();
    while plan.len() < count {
        if !distinct.is_empty() && rng.random_bool(0.1) {
            let back = if rng.random_bool(0.5) {
                rng.random_range(1..=distinct.len().min(BATCH / 2))
            } else {
                rng.random_range(1..=distinct.len())
            };
            plan.push(distinct[distinct.len() - back]);
        } else {
            let n = first + distinct.len();
            distinct.push(n);
            plan.push(n);
        }
    }
    (plan, distinct)
}

#[test]
fn two_replicas_share_one_replay_memory() {
    let Some(mut server) = redis_server::RedisServer::start() else {
        return;
    };
    let mut rng = StdRng::seed_from_u64(17);
    let signing_clock = Arc::new(FixedClock::new(T0));
    let mut replicas = vec![Replica::spawn(&server.url()), Replica::spawn(&server.url())];
    broadcast(&mut replicas, &json!({ "clock": T0 }));

    // Phase 1: 100,000 requests, 10% replays, every clock frozen at T0 (every request is in the
    // window: only the shared memory can refuse a replay).
    let (plan1, distinct1) = plan(0, REQUESTS, &mut rng);
    let mut requests: HashMap<usize, Request> = distinct1
        .iter()
        .map(|&n| (n, signed(&signing_clock, n as u64)))
        .collect();
    let tally = run(&mut replicas, &requests, &plan1, &mut rng);
    println!(
        "phase 1 (shared memory): {} requests sent to 2 replicas, {} distinct, {} replays ({} in flight at the other replica with their original); accepted {}, replays accepted {}, fresh refused {}, refused as replayed {}",
        tally.sent,
        distinct1.len(),
        tally.replay_copies,
        tally.raced_across,
        tally.accepted.values().sum::<usize>(),
        tally.replays_accepted(),
        tally.fresh_refused(&distinct1),
        tally.refused("replayed"),
    );
    assert_eq!(tally.sent, REQUESTS);
    assert!(
        tally.replay_copies >= REQUESTS / 12,
        "{}",
        tally.replay_copies
    );
    assert!(tally.raced_across > 0);
    assert_eq!(tally.replays_accepted(), 0);
    assert_eq!(tally.fresh_refused(&distinct1), 0);
    assert_eq!(tally.refused("replayed"), tally.replay_copies);
    assert_eq!(tally.refusals.len(), 1, "{:?}", tally.refusals);

    // Phase 2: Redis restarts empty. Replays of phase-1 requests and new requests signed at T0
    // (before the restart, on the same frozen clock) are all refused.
    server.restart();
    broadcast(&mut replicas, &json!({ "ping": true }));
    let first = REQUESTS;
    let new_before: Vec<usize> = (first..first + 5_000).collect();
    for &n in &new_before {
        requests.insert(n, signed(&signing_clock, n as u64));
    }
    let mut plan2: Vec<usize> = new_before.clone();
    plan2.extend((0..5_000).map(|_| distinct1[rng.random_range(0..distinct1.len())]));
    let tally = run(&mut replicas, &requests, &plan2, &mut rng);
    let accepted2: usize = tally.accepted.values().sum();
    println!(
        "phase 2 (Redis restarted empty): {} sent ({} replays of phase 1, {} new signed before the restart); accepted {}, refused as signed_before_restart {}, other refusals {:?}",
        tally.sent,
        5_000,
        new_before.len(),
        accepted2,
        tally.refused("signed_before_restart"),
        tally
            .refusals
            .iter()
            .filter(|(k, _)| k.as_str() != "signed_before_restart")
            .collect::<Vec<_>>(),
    );
    assert_eq!(
        accepted2, 0,
        "a request from before the restart got through"
    );
    assert_eq!(tally.refused("signed_before_restart"), plan2.len());

    // Phase 3: every clock moves past the window; requests signed now are accepted again, and
    // their replays (and phase 1's, now stale) refused.
    let t1 = T0 + Window::DEFAULT.past_ms + Window::DEFAULT.future_ms + 1;
    signing_clock.set(t1);
    broadcast(&mut replicas, &json!({ "clock": t1 }));
    let (mut plan3, distinct3) = plan(first + 5_000, 10_000, &mut rng);
    for &n in &distinct3 {
        requests.insert(n, signed(&signing_clock, n as u64));
    }
    plan3.extend(distinct1.iter().step_by(180).take(500));
    let tally = run(&mut replicas, &requests, &plan3, &mut rng);
    println!(
        "phase 3 (clocks past the window): {} sent, {} distinct new, {} replays; replays accepted {}, fresh refused {}, refusals {:?}",
        tally.sent,
        distinct3.len(),
        tally.replay_copies + 500,
        tally.replays_accepted()
            + distinct1
                .iter()
                .filter(|n| tally.accepted.contains_key(n))
                .count(),
        tally.fresh_refused(&distinct3),
        tally.refusals,
    );
    assert_eq!(tally.replays_accepted(), 0);
    assert!(distinct1.iter().all(|n| !tally.accepted.contains_key(n)));
    assert_eq!(tally.fresh_refused(&distinct3), 0);
}
