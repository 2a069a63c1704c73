//! Issue 17, must-show 4: eight processes of a fleet need a broker token at once; exactly one
//! login reaches the testnet's Upstox listener (its own counters say so), and all eight hold
//! the same token, which the profile endpoint accepts. And with the fleet's Redis stopped before
//! the run: every process fails with `LoginError::SharedStateUnavailable` and no login reaches
//! the testnet (the documented outcome: no login storm).
//!
//! Re-exec pattern: the parent runs this test binary again as eight children (the test
//! `child_process_needs_a_broker_token`, a no-op without its environment variable). Each child
//! connects to Redis, builds a `TokenCache` over a `FleetLogin` over an `UpstoxLogin`, says
//! `READY`, waits for `go` on its stdin, asks for a token and prints one JSON line.
#![allow(clippy::unwrap_used)] // reason: tests fail loudly

use std::hash::{DefaultHasher, Hash as _, Hasher as _};
use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use keyward::crypto::{FernetKey, KeyRing};
use keyward::exchange::fleet::FleetLogin;
use keyward::exchange::session::{
    LoginError, TokenCache, TokenCacheError, TokenProvider as _, UpstoxLogin,
};
use keyward::secrets::VarStore;
use keyward::signing::Clock;
use keyward_testnet::{BrokerCredentials, Testnet, TestnetConfig};
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};

use crate::redis_server;

const CHILD_ENV: &str = "KEYWARD_E2E_FLEET_LOGIN_CHILD";
const CHILD_TEST: &str = "fleet_login::child_process_needs_a_broker_token";
const PROCESSES: usize = 8;
/// The cap on every wait for a child.
const CAP: Duration = Duration::from_secs(60);
const VERIFY: &str = "/service/login/open/v4/auth/1fa/otp-totp/verify";
const TWO_FA: &str = "/service/login/open/v3/auth/2fa";
const TOKEN: &str = "/api/v2/login/authorization/token";
const PROFILE: &str = "/api/v2/user/profile";

/// 10:00 Asia/Kolkata on 2026-03-10 (04:30 UTC), in ms since the Unix epoch.
const MORNING_IN_KOLKATA_MS: u64 = 1_773_117_000_000;

/// The wall clock of the parent and of every child: [`MORNING_IN_KOLKATA_MS`] plus the time
/// the process has run. Upstox tokens die at the next 03:30 Asia/Kolkata (22:00 UTC): on the
/// system clock a run in the five minutes before that got tokens already inside the
/// refresh-ahead margin, and the processes logged in again. Pinned, the outcome does not
/// depend on the time of day.
#[derive(Debug)]
struct MorningClock;

impl Clock for MorningClock {
    fn now_ms(&self) -> u64 {
        let ran = u64::try_from(self.monotonic().as_millis()).unwrap_or(u64::MAX);
        MORNING_IN_KOLKATA_MS.saturating_add(ran)
    }
}

/// The login secret's JSON for `c`.
fn secret_json(c: &BrokerCredentials) -> String {
    json!({
        "username": c.username,
        "password": c.password.expose_secret(),
        "pin": c.pin.expose_secret(),
        "totp_secret": c.totp_secret.expose_secret(),
        "client_id": c.client_id,
        "client_secret": c.client_secret.expose_secret(),
        "redirect_uri": c.redirect_uri,
    })
    .to_string()
}

/// A fingerprint of a token, the same in every process of this binary (never the token).
fn fingerprint(token: &str) -> String {
    let mut h = DefaultHasher::new();
    token.hash(&mut h);
    format!("{:016x}", h.finish())
}

/// What the children need, as environment variables.
struct Fleet {
    redis_url: String,
    upstox_url: String,
    secret: String,
    key: String,
    prefix: String,
}

impl Fleet {
    fn new(redis_url: String, t: &Testnet, prefix: &str) -> Self {
        let c = t.broker_credentials("upstox").unwrap().clone();
        Self {
            redis_url,
            upstox_url: t.url("upstox").unwrap().to_owned(),
            secret: secret_json(&c),
            key: FernetKey::generate().unwrap().expose_base64().to_string(),
            prefix: prefix.to_owned(),
        }
    }

    /// The fleet login of a process, over a connection to the fleet's Redis.
    async fn login(
        redis_url: &str,
        upstox_url: &str,
        secret: String,
        key: &str,
        prefix: &str,
    ) -> FleetLogin<UpstoxLogin> {
        let store = Arc::new(VarStore::from_vars(
            "KW",
            [("KW_UPSTOX".to_owned(), secret)],
        ));
        let upstox = UpstoxLogin::new(store, "upstox")
            .base_url(upstox_url)
            .unwrap();
        let conn = redis::Client::open(redis_url)
            .unwrap()
            .get_connection_manager()
            .await
            .unwrap();
        FleetLogin::new(
            upstox,
            conn,
            prefix,
            KeyRing::new(FernetKey::parse(key).unwrap()),
        )
        .with_clock(Arc::new(MorningClock))
    }
}

/// The children, killed if the test fails before they end.
struct Children {
    children: Vec<Child>,
    stdins: Vec<ChildStdin>,
    lines: mpsc::Receiver<(usize, String)>,
}

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Children {
    fn spawn(fleet: &Fleet) -> Self {
        let exe = std::env::current_exe().unwrap();
        let (tx, lines) = mpsc::channel();
        let mut children = Vec::new();
        let mut stdins = Vec::new();
        for i in 0..PROCESSES {
            let mut child = Command::new(&exe)
                .args(["--exact", CHILD_TEST, "--nocapture", "--test-threads=1"])
                .env(CHILD_ENV, "1")
                .env("KW_FLEET_REDIS", &fleet.redis_url)
                .env("KW_FLEET_UPSTOX", &fleet.upstox_url)
                .env("KW_FLEET_SECRET", &fleet.secret)
                .env("KW_FLEET_KEY", &fleet.key)
                .env("KW_FLEET_PREFIX", &fleet.prefix)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap();
            stdins.push(child.stdin.take().unwrap());
            let stdout = child.stdout.take().unwrap();
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if tx.send((i, line)).is_err() {
                        break;
                    }
                }
            });
            children.push(child);
        }
        Self {
            children,
            stdins,
            lines,
        }
    }

    /// The next line of every child that starts with `prefix`, by child.
    fn collect(&self, prefix: &str) -> Vec<String> {
        let mut got: Vec<Option<String>> = vec![None; PROCESSES];
        while got.iter().any(Option::is_none) {
            let (i, line) = self
                .lines
                .recv_timeout(CAP)
                .unwrap_or_else(|_| panic!("a child never printed {prefix}"));
            // libtest writes "test <name> ... " before the child's first line, unterminated.
            if let Some(at) = line.find(prefix) {
                got[i] = Some(line[at + prefix.len()..].trim().to_owned());
            }
        }
        got.into_iter().map(Option::unwrap).collect()
    }

    /// Sends the go signal to every child at once.
    fn go(&mut self) {
        for stdin in &mut self.stdins {
            stdin.write_all(b"go\n").unwrap();
            stdin.flush().unwrap();
        }
    }
}

/// Runs the eight children to their results; `before_go` runs once all are ready.
async fn run(fleet: Fleet, before_go: impl FnOnce() + Send + 'static) -> Vec<Value> {
    tokio::task::spawn_blocking(move || {
        let mut children = Children::spawn(&fleet);
        let ready = children.collect("READY");
        assert_eq!(ready.len(), PROCESSES);
        before_go();
        children.go();
        children
            .collect("RESULT ")
            .into_iter()
            .map(|line| serde_json::from_str(&line).unwrap())
            .collect()
    })
    .await
    .unwrap()
}

/// The child: a no-op without its environment variable.
#[tokio::test]
async fn child_process_needs_a_broker_token() {
    if std::env::var(CHILD_ENV).as_deref() != Ok("1") {
        return;
    }
    let var = |name: &str| std::env::var(name).unwrap();
    let login = Fleet::login(
        &var("KW_FLEET_REDIS"),
        &var("KW_FLEET_UPSTOX"),
        var("KW_FLEET_SECRET"),
        &var("KW_FLEET_KEY"),
        &var("KW_FLEET_PREFIX"),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let cache = TokenCache::in_file(
        dir.path().join("tokens.json"),
        KeyRing::new(FernetKey::generate().unwrap()),
        Arc::new(MorningClock),
    );
    println!("READY");
    let mut go = String::new();
    tokio::task::spawn_blocking(move || std::io::stdin().read_line(&mut go).map(|_| go))
        .await
        .unwrap()
        .unwrap();
    let result = match cache.get(&login).await {
        Ok(token) => json!({"ok": true, "token": fingerprint(token.expose())}),
        Err(TokenCacheError::Login(LoginError::SharedStateUnavailable { identity, .. })) => {
            json!({"ok": false, "error": "shared_state_unavailable", "identity": identity})
        }
        Err(e) => json!({"ok": false, "error": e.to_string()}),
    };
    println!("RESULT {result}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_processes_need_a_broker_token_and_one_login_reaches_the_testnet() {
    let Some(server) = redis_server::RedisServer::start() else {
        return;
    };
    let t = Testnet::start(TestnetConfig::default()).await.unwrap();
    let fleet = Fleet::new(server.url(), &t, "e2e-fleet");
    let (redis_url, upstox_url, secret, key, prefix) = (
        fleet.redis_url.clone(),
        fleet.upstox_url.clone(),
        fleet.secret.clone(),
        fleet.key.clone(),
        fleet.prefix.clone(),
    );
    let results = run(fleet, || {}).await;
    let tokens: Vec<&str> = results
        .iter()
        .map(|r| {
            assert_eq!(r["ok"], true, "{r}");
            r["token"].as_str().unwrap()
        })
        .collect();
    let mut distinct = tokens.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let logins = t.hits("upstox", "POST", TOKEN);
    // How many times the fleet's login lock was ever taken.
    let mut conn = redis::Client::open(redis_url.as_str())
        .unwrap()
        .get_connection_manager()
        .await
        .unwrap();
    let fence: String = redis::cmd("GET")
        .arg(format!("{prefix}:{{login:upstox}}:fence"))
        .query_async(&mut conn)
        .await
        .unwrap();
    println!(
        "must-show 4: {PROCESSES} processes needed a broker token at once; logins that reached the testnet: {logins} (TOTP verify {}, 2FA {}, token {}); login locks taken: {fence}; distinct tokens held: {}",
        t.hits("upstox", "POST", VERIFY),
        t.hits("upstox", "POST", TWO_FA),
        logins,
        distinct.len()
    );
    assert_eq!(fence, "1", "one lock holder in the whole run");
    assert_eq!(results.len(), PROCESSES);
    assert_eq!(t.hits("upstox", "POST", VERIFY), 1);
    assert_eq!(t.hits("upstox", "POST", TWO_FA), 1);
    assert_eq!(logins, 1, "exactly one login reached the testnet");
    assert_eq!(distinct.len(), 1, "all eight hold the same token");
    // The token is the fleet's: the parent reads it without a login, and the broker accepts it.
    let parent = Fleet::login(&redis_url, &upstox_url, secret, &key, &prefix).await;
    let token = parent.login().await.unwrap();
    assert_eq!(fingerprint(token.expose()), distinct[0]);
    assert_eq!(t.hits("upstox", "POST", TOKEN), 1);
    let status = reqwest::Client::new()
        .get(format!("{upstox_url}{PROFILE}"))
        .bearer_auth(token.expose())
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 200);
    t.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_stopped_no_process_logs_in() {
    let Some(mut server) = redis_server::RedisServer::start() else {
        return;
    };
    let t = Testnet::start(TestnetConfig::default()).await.unwrap();
    let fleet = Fleet::new(server.url(), &t, "e2e-fleet-down");
    // The children connect, then Redis stops before the go signal.
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let (stopped_tx, stopped_rx) = mpsc::channel::<()>();
    let stopper = std::thread::spawn(move || {
        stop_rx.recv_timeout(CAP).unwrap();
        server.stop();
        stopped_tx.send(()).unwrap();
        server
    });
    let results = run(fleet, move || {
        stop_tx.send(()).unwrap();
        stopped_rx.recv_timeout(CAP).unwrap();
    })
    .await;
    let server = stopper.join().unwrap();
    assert!(!server.is_running());
    let refused = results
        .iter()
        .filter(|r| r["ok"] == false && r["error"] == "shared_state_unavailable")
        .count();
    let logins = t.hits("upstox", "POST", TOKEN) + t.hits("upstox", "POST", VERIFY);
    println!(
        "must-show 4 (Redis stopped): {PROCESSES} processes; SharedStateUnavailable: {refused}; login requests that reached the testnet: {logins}"
    );
    assert_eq!(refused, PROCESSES, "{results:?}");
    assert_eq!(logins, 0, "no login storm without the fleet's Redis");
    t.shutdown().await;
}
