//! One broker login for a fleet (issue 17): `FleetLogin` against a real redis-server of each
//! test's own. Single flight across instances (each one standing for a process), fencing of a
//! stale lock holder, takeover after a holder's death, the bounded wait, the shared failure
//! marker, Redis stopped (typed error, or the opt-in local fallback), values another program
//! wrote, and a canary token that never shows.
#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used)] // reason: tests fail loudly

mod canary;
mod faults;
#[path = "../../../../tests/support/redis_server.rs"]
mod redis_server;
mod single_flight;
#[path = "../support/trace.rs"]
mod trace;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;
use keyward_core_crypto::{FernetKey, KeyRing};
use keyward_exchange_client::fleet::FleetLogin;
use keyward_exchange_client::session::{AccessToken, LoginError, TokenProvider};
use keyward_resilience::{Sleep, SleepFuture};
use keyward_signing::redis::ConnectionManager;
use keyward_signing::{Clock, FixedClock};
use secrecy::SecretString;
use tokio::sync::watch;

/// The fleet's name in the tests.
const PREFIX: &str = "fleet-test";
/// The identity of the fake provider.
const IDENTITY: &str = "upstox/main";
/// The fixed wall time of the tests (ms since the epoch).
const NOW_MS: u64 = 1_800_000_000_000;
/// How long a fake token lives.
const TOKEN_LIFE: Duration = Duration::from_secs(3600);
/// The cap on every wait of a test for another task.
const CAP: Duration = Duration::from_secs(20);

/// A connection to `url`.
async fn connect(url: &str) -> ConnectionManager {
    redis::Client::open(url)
        .unwrap()
        .get_connection_manager()
        .await
        .unwrap()
}

/// A fresh fleet key.
fn fleet_key() -> KeyRing {
    KeyRing::new(FernetKey::generate().unwrap())
}

/// The tests' frozen clock.
fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock::new(NOW_MS))
}

/// What the fake provider does when it logs in.
#[derive(Clone)]
enum Outcome {
    /// Issues this token, living [`TOKEN_LIFE`] from the clock's time.
    Token(String),
    /// Refuses the TOTP code (a lockout risk).
    RejectTotp,
    /// Fails in transport (not a lockout risk).
    Transport,
}

/// A fake broker login: counts its calls (shared among the instances of one test, as the
/// broker counts logins), and may wait at a gate until enough other instances are waiting.
struct Fake {
    outcome: Outcome,
    calls: Arc<AtomicU32>,
    gate: Option<(watch::Receiver<usize>, usize)>,
    entered: Option<tokio::sync::mpsc::UnboundedSender<()>>,
    release: Option<Arc<tokio::sync::Notify>>,
    clock: Arc<FixedClock>,
}

impl Fake {
    fn new(outcome: Outcome, calls: &Arc<AtomicU32>, clock: &Arc<FixedClock>) -> Self {
        Self {
            outcome,
            calls: Arc::clone(calls),
            gate: None,
            entered: None,
            release: None,
            clock: Arc::clone(clock),
        }
    }

    /// The login waits until `count` distinct waiters have paused at least once.
    fn gated(mut self, waiters: &watch::Receiver<usize>, count: usize) -> Self {
        self.gate = Some((waiters.clone(), count));
        self
    }

    /// The login reports that it started, then waits for `release`.
    fn held(
        mut self,
        entered: tokio::sync::mpsc::UnboundedSender<()>,
        release: &Arc<tokio::sync::Notify>,
    ) -> Self {
        self.entered = Some(entered);
        self.release = Some(Arc::clone(release));
        self
    }
}

#[async_trait]
impl TokenProvider for Fake {
    fn identity(&self) -> &str {
        IDENTITY
    }

    async fn login(&self) -> Result<AccessToken, LoginError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if let Some((waiters, count)) = &self.gate {
            let mut waiters = waiters.clone();
            tokio::time::timeout(CAP, waiters.wait_for(|n| *n >= *count))
                .await
                .expect("the other instances never waited")
                .unwrap();
        }
        if let Some(entered) = &self.entered {
            entered.send(()).unwrap();
        }
        if let Some(release) = &self.release {
            tokio::time::timeout(CAP, release.notified())
                .await
                .expect("never released");
        }
        match &self.outcome {
            Outcome::Token(value) => Ok(AccessToken::new(SecretString::from(value.clone()))
                .with_expiry(UNIX_EPOCH + Duration::from_millis(self.clock.now_ms()) + TOKEN_LIFE)),
            Outcome::RejectTotp => Err(LoginError::TotpRejected {
                venue: "fake",
                step: "totp",
            }),
            Outcome::Transport => Err(LoginError::Transport {
                venue: "fake",
                step: "token",
                detail: "connection reset".to_owned(),
            }),
        }
    }
}

/// A real tokio sleep that tells a shared counter the first time this instance pauses: the
/// gate of [`Fake`] uses it to know that the others really wait on the lock.
#[derive(Debug)]
struct CountingSleep {
    paused: AtomicBool,
    waiters: watch::Sender<usize>,
}

impl CountingSleep {
    fn new(waiters: &watch::Sender<usize>) -> Arc<Self> {
        Arc::new(Self {
            paused: AtomicBool::new(false),
            waiters: waiters.clone(),
        })
    }
}

impl Sleep for CountingSleep {
    fn sleep(&self, duration: Duration) -> SleepFuture {
        if !self.paused.swap(true, Ordering::SeqCst) {
            self.waiters.send_modify(|n| *n += 1);
        }
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A fleet login of `fake` on `conn`, on the frozen clock.
fn fleet(
    fake: Fake,
    conn: &ConnectionManager,
    key: &KeyRing,
    clock: &Arc<FixedClock>,
) -> FleetLogin<Fake> {
    FleetLogin::new(fake, conn.clone(), PREFIX, key.clone())
        .with_clock(Arc::clone(clock) as Arc<dyn Clock>)
}

/// The raw value of one of the identity's keys.
async fn raw(conn: &ConnectionManager, name: &str) -> Option<String> {
    let mut conn = conn.clone();
    redis::cmd("GET")
        .arg(format!("{PREFIX}:{{login:{IDENTITY}}}:{name}"))
        .query_async(&mut conn)
        .await
        .unwrap()
}

/// Sets one of the identity's keys to `value`, with a TTL in ms when given.
async fn set_raw(conn: &ConnectionManager, name: &str, value: &str, px: Option<u64>) {
    let mut conn = conn.clone();
    let mut cmd = redis::cmd("SET");
    cmd.arg(format!("{PREFIX}:{{login:{IDENTITY}}}:{name}"))
        .arg(value);
    if let Some(px) = px {
        cmd.arg("PX").arg(px);
    }
    let () = cmd.query_async(&mut conn).await.unwrap();
}

/// Deletes one of the identity's keys.
async fn del_raw(conn: &ConnectionManager, name: &str) {
    let mut conn = conn.clone();
    let _: i64 = redis::cmd("DEL")
        .arg(format!("{PREFIX}:{{login:{IDENTITY}}}:{name}"))
        .query_async(&mut conn)
        .await
        .unwrap();
}
