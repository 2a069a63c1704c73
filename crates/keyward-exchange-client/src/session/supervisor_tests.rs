//! The supervisor against a scripted venue and provider, on a `FixedClock`: the keepalive
//! schedule, re-authentication, giving up (re-authentication, expiry, lockout, transport),
//! logins of a token-based session, the `run` loop on an injected sleep, audit entries, and
//! no token in `Debug` or events.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;
use keyward_core_crypto::{FernetKey, KeyRing};
use keyward_resilience::{Sleep, SleepFuture};
use keyward_secrets_backends::audit::{AuditLog, verify};
use keyward_secrets_backends::{FileStore, SecretStore};
use keyward_signing::{Clock, FixedClock};
use secrecy::SecretString;

use super::*;

const T0: u64 = 1_700_000_000_000;
const CANARY: &str = "CANARY-TOKEN-7f3a9c";

/// A venue answering from a script (then `Active`), counting its calls.
#[derive(Debug, Default)]
struct Scripted {
    answers: Mutex<VecDeque<Result<SessionState, SessionCallError>>>,
    keepalives: AtomicU32,
    statuses: AtomicU32,
    reauths: AtomicU32,
}

impl Scripted {
    fn new(answers: Vec<Result<SessionState, SessionCallError>>) -> Arc<Self> {
        Arc::new(Self {
            answers: Mutex::new(answers.into()),
            ..Self::default()
        })
    }
    fn next(&self) -> Result<SessionState, SessionCallError> {
        self.answers
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(Ok(SessionState::Active))
    }
    fn calls(&self) -> (u32, u32, u32) {
        (
            self.keepalives.load(Ordering::SeqCst),
            self.statuses.load(Ordering::SeqCst),
            self.reauths.load(Ordering::SeqCst),
        )
    }
}

#[async_trait]
impl SessionVenue for Scripted {
    fn name(&self) -> &'static str {
        "scripted"
    }
    fn keepalive_interval(&self) -> Duration {
        Duration::from_secs(60)
    }
    async fn keepalive(&self, _: Option<&AccessToken>) -> Result<SessionState, SessionCallError> {
        self.keepalives.fetch_add(1, Ordering::SeqCst);
        self.next()
    }
    async fn status(&self, _: Option<&AccessToken>) -> Result<SessionState, SessionCallError> {
        self.statuses.fetch_add(1, Ordering::SeqCst);
        self.next()
    }
    async fn reauthenticate(&self, _: Option<&AccessToken>) -> Result<(), SessionCallError> {
        self.reauths.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// A provider answering from a script (then a token expiring `lifetime` after now).
struct Provider {
    clock: Arc<FixedClock>,
    script: Mutex<VecDeque<Result<(), LoginError>>>,
    logins: AtomicU32,
    lifetime_ms: u64,
}

#[async_trait]
impl TokenProvider for Provider {
    fn identity(&self) -> &str {
        "bot1"
    }
    async fn login(&self) -> Result<AccessToken, LoginError> {
        self.logins.fetch_add(1, Ordering::SeqCst);
        self.script.lock().unwrap().pop_front().unwrap_or(Ok(()))?;
        let expires = UNIX_EPOCH + Duration::from_millis(self.clock.now_ms() + self.lifetime_ms);
        Ok(AccessToken::new(SecretString::from(CANARY)).with_expiry(expires))
    }
}

fn provider(clock: &Arc<FixedClock>, script: Vec<Result<(), LoginError>>) -> Arc<Provider> {
    Arc::new(Provider {
        clock: clock.clone(),
        script: Mutex::new(script.into()),
        logins: AtomicU32::new(0),
        lifetime_ms: 3_600_000,
    })
}

fn supervisor(venue: Arc<Scripted>) -> (SessionSupervisor, Arc<FixedClock>) {
    let clock = Arc::new(FixedClock::new(T0));
    let sup = SessionSupervisor::new(venue).with_clock(clock.clone());
    (sup, clock)
}

fn transport_error() -> SessionCallError {
    SessionCallError::Transport {
        venue: "scripted",
        call: "tickle",
        detail: "could not connect".into(),
    }
}

#[tokio::test]
async fn keepalive_calls_follow_the_venues_interval() {
    let venue = Scripted::new(vec![]);
    let (sup, clock) = supervisor(venue.clone());
    let mut rx = sup.subscribe();
    assert_eq!(
        sup.tick().await,
        vec![SupervisorEvent::KeptAlive { venue: "scripted" }]
    );
    // Nothing is due before the interval.
    clock.advance(59_999);
    assert!(sup.tick().await.is_empty());
    assert_eq!(sup.until_next().await, Duration::from_millis(1));
    for _ in 0..10 {
        clock.advance(1);
        assert_eq!(sup.tick().await.len(), 1);
        clock.advance(59_999);
    }
    assert_eq!(venue.calls(), (11, 0, 0));
    assert_eq!(
        rx.try_recv().unwrap(),
        SupervisorEvent::KeptAlive { venue: "scripted" }
    );
}

#[tokio::test]
async fn a_dropped_session_is_reauthenticated_and_checked_after_the_retry_delay() {
    let venue = Scripted::new(vec![
        Ok(SessionState::Dropped),
        Ok(SessionState::Dropped),
        Ok(SessionState::Active),
    ]);
    let (sup, clock) = supervisor(venue.clone());
    let sup = sup.with_retry_delay(Duration::from_secs(5));
    assert_eq!(
        sup.tick().await,
        vec![SupervisorEvent::SessionDropped {
            venue: "scripted",
            attempt: 1
        }]
    );
    assert_eq!(sup.until_next().await, Duration::from_secs(5));
    clock.advance(5_000);
    assert_eq!(
        sup.tick().await,
        vec![SupervisorEvent::SessionDropped {
            venue: "scripted",
            attempt: 2
        }]
    );
    clock.advance(5_000);
    assert_eq!(
        sup.tick().await,
        vec![SupervisorEvent::Reauthenticated {
            venue: "scripted",
            attempts: 2
        }]
    );
    // One keepalive, then status checks while recovering; two re-authentications.
    assert_eq!(venue.calls(), (1, 2, 2));
    assert_eq!(sup.until_next().await, Duration::from_secs(60));
    assert_eq!(sup.gave_up().await, None);
}

#[tokio::test]
async fn reauthentication_that_keeps_failing_gives_up_after_the_bound() {
    let venue = Scripted::new(vec![Ok(SessionState::Dropped); 50]);
    let (sup, clock) = supervisor(venue.clone());
    let sup = sup.with_max_attempts(3);
    let mut all = Vec::new();
    for _ in 0..10 {
        all.extend(sup.tick().await);
        clock.advance(10_000);
    }
    let reason = GiveUpReason::ReauthenticationFailed { attempts: 3 };
    assert_eq!(
        all.last(),
        Some(&SupervisorEvent::GaveUp {
            venue: "scripted",
            reason: reason.clone()
        })
    );
    assert_eq!(venue.calls(), (1, 3, 3), "no call after giving up");
    assert_eq!(sup.gave_up().await, Some(reason));
    assert!(sup.tick().await.is_empty());
}

#[tokio::test]
async fn an_expired_session_without_a_provider_gives_up_at_once() {
    let venue = Scripted::new(vec![Ok(SessionState::Expired)]);
    let (sup, _clock) = supervisor(venue.clone());
    assert_eq!(
        sup.tick().await,
        vec![
            SupervisorEvent::SessionExpired { venue: "scripted" },
            SupervisorEvent::GaveUp {
                venue: "scripted",
                reason: GiveUpReason::ExpiredWithoutLogin
            }
        ]
    );
    assert!(
        GiveUpReason::ExpiredWithoutLogin
            .to_string()
            .contains("log in")
    );
}

#[tokio::test]
async fn unreachable_venues_are_retried_then_given_up_and_a_success_resets_the_count() {
    let venue = Scripted::new(vec![
        Err(transport_error()),
        Err(transport_error()),
        Ok(SessionState::Active),
        Err(transport_error()),
        Err(transport_error()),
        Err(transport_error()),
    ]);
    let (sup, clock) = supervisor(venue.clone());
    let mut all = Vec::new();
    for _ in 0..8 {
        all.extend(sup.tick().await);
        clock.advance(60_000);
    }
    assert_eq!(
        all.last(),
        Some(&SupervisorEvent::GaveUp {
            venue: "scripted",
            reason: GiveUpReason::Unreachable {
                attempts: 3,
                last_error: transport_error().to_string()
            }
        })
    );
    assert_eq!(venue.calls().0, 6);
}

#[tokio::test]
async fn a_token_session_logs_in_first_and_again_when_its_token_expires() {
    let clock = Arc::new(FixedClock::new(T0));
    let venue = Scripted::new(vec![]);
    let p = provider(&clock, vec![]);
    let sup = SessionSupervisor::new(venue.clone())
        .with_clock(clock.clone())
        .with_token_provider(p.clone());
    let first = sup.tick().await;
    assert_eq!(
        first,
        vec![SupervisorEvent::ReloggedIn {
            venue: "scripted",
            identity: "bot1".into()
        }]
    );
    assert_eq!(
        sup.tick().await,
        vec![SupervisorEvent::KeptAlive { venue: "scripted" }]
    );
    // An hour later the token's stated expiry has passed: a new login, no call with it.
    clock.advance(3_600_000);
    let events = sup.tick().await;
    assert_eq!(
        events[0],
        SupervisorEvent::SessionExpired { venue: "scripted" }
    );
    assert!(matches!(events[1], SupervisorEvent::ReloggedIn { .. }));
    assert_eq!(p.logins.load(Ordering::SeqCst), 2);
    assert_eq!(venue.calls().0, 1);
    // Neither Debug nor an event shows the token.
    let shown = format!("{sup:?} {events:?} {first:?}");
    assert!(!shown.contains(CANARY), "{shown}");
}

#[tokio::test]
async fn a_lockout_risk_stops_after_one_login_and_other_failures_are_bounded() {
    let clock = Arc::new(FixedClock::new(T0));
    let venue = Scripted::new(vec![]);
    let p = provider(
        &clock,
        vec![Err(LoginError::TotpRejected {
            venue: "scripted",
            step: "totp",
        })],
    );
    let sup = SessionSupervisor::new(venue.clone())
        .with_clock(clock.clone())
        .with_token_provider(p.clone());
    let events = sup.tick().await;
    assert!(matches!(events[0], SupervisorEvent::LoginFailed { .. }));
    assert!(matches!(
        &events[1],
        SupervisorEvent::GaveUp {
            reason: GiveUpReason::LockoutRisk { .. },
            ..
        }
    ));
    clock.advance(3_600_000);
    assert!(sup.tick().await.is_empty());
    assert_eq!(p.logins.load(Ordering::SeqCst), 1);

    let transient = || LoginError::Transport {
        venue: "scripted",
        step: "token",
        detail: "timed out".into(),
    };
    let p = provider(
        &clock,
        vec![Err(transient()), Err(transient()), Err(transient())],
    );
    let sup = SessionSupervisor::new(venue)
        .with_clock(clock.clone())
        .with_token_provider(p.clone());
    let mut all = Vec::new();
    for _ in 0..6 {
        all.extend(sup.tick().await);
        clock.advance(10_000);
    }
    assert_eq!(
        sup.gave_up().await,
        Some(GiveUpReason::LoginFailed { attempts: 3 })
    );
    assert_eq!(p.logins.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_session_that_stays_expired_after_each_login_is_given_up() {
    let clock = Arc::new(FixedClock::new(T0));
    let venue = Scripted::new(vec![Ok(SessionState::Expired); 20]);
    let p = provider(&clock, vec![]);
    let sup = SessionSupervisor::new(venue)
        .with_clock(clock.clone())
        .with_token_provider(p.clone())
        .with_max_attempts(2);
    for _ in 0..10 {
        sup.tick().await;
    }
    assert_eq!(
        sup.gave_up().await,
        Some(GiveUpReason::LoginFailed { attempts: 2 })
    );
    assert_eq!(p.logins.load(Ordering::SeqCst), 3);
}

/// A sleep that moves the fixed clock and records each wait.
#[derive(Debug)]
struct ClockSleep(Arc<FixedClock>, Mutex<Vec<Duration>>);

impl Sleep for ClockSleep {
    fn sleep(&self, d: Duration) -> SleepFuture {
        self.0.advance(u64::try_from(d.as_millis()).unwrap());
        self.1.lock().unwrap().push(d);
        Box::pin(std::future::ready(()))
    }
}

#[tokio::test]
async fn run_is_tick_plus_the_injected_sleep_until_it_gives_up() {
    let mut script = vec![Ok(SessionState::Active); 4];
    script.extend(vec![Ok(SessionState::Dropped); 10]);
    let venue = Scripted::new(script);
    let clock = Arc::new(FixedClock::new(T0));
    let sleep = Arc::new(ClockSleep(clock.clone(), Mutex::default()));
    let sup = SessionSupervisor::new(venue.clone())
        .with_clock(clock.clone())
        .with_sleep(sleep.clone())
        .with_retry_delay(Duration::from_secs(5))
        .with_max_attempts(2);
    let mut rx = sup.subscribe();
    let reason = sup.run().await;
    assert_eq!(reason, GiveUpReason::ReauthenticationFailed { attempts: 2 });
    let waits = sleep.1.lock().unwrap().clone();
    let s = Duration::from_secs;
    assert_eq!(waits, vec![s(60), s(60), s(60), s(60), s(5), s(5)]);
    let mut kinds = Vec::new();
    while let Ok(e) = rx.try_recv() {
        kinds.push(e);
    }
    assert_eq!(kinds.len(), 4 + 2 + 1);
    assert!(matches!(kinds.last(), Some(SupervisorEvent::GaveUp { .. })));
}

#[tokio::test]
async fn reauthentications_and_logins_are_audited_by_name_and_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn SecretStore> = Arc::new(FileStore::new(
        dir.path().join("store.fernet"),
        KeyRing::new(FernetKey::generate().unwrap()),
    ));
    let clock = Arc::new(FixedClock::new(T0));
    let log_path = dir.path().join("audit.log");
    let log = Arc::new(
        AuditLog::open(
            &log_path,
            store,
            "audit-key",
            clock.clone() as Arc<dyn Clock>,
        )
        .await
        .unwrap(),
    );
    let venue = Scripted::new(vec![
        Ok(SessionState::Dropped),
        Ok(SessionState::Dropped),
        Ok(SessionState::Active),
    ]);
    let p = provider(&clock, vec![]);
    let sup = SessionSupervisor::new(venue)
        .with_clock(clock.clone())
        .with_token_provider(p)
        .with_audit(log.clone());
    for _ in 0..6 {
        sup.tick().await;
        clock.advance(10_000);
    }
    let text = std::fs::read_to_string(&log_path).unwrap();
    let events: Vec<String> = text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            format!("{} {} {}", v["event"], v["subject"], v["outcome"])
        })
        .collect();
    assert_eq!(
        events,
        vec![
            r#""login" "bot1" "success""#,
            r#""login_failure" "bot1" "failure""#,
            r#""login" "bot1" "success""#,
        ]
    );
    assert!(!text.contains(CANARY));
    assert!(verify(&log_path).is_ok());
}

/// Captured log output.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_canary_token_reaches_no_log_line_at_trace() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let clock = Arc::new(FixedClock::new(T0));
    let venue = Scripted::new(vec![
        Ok(SessionState::Dropped),
        Ok(SessionState::Active),
        Err(transport_error()),
        Ok(SessionState::Expired),
    ]);
    let p = provider(
        &clock,
        vec![
            Ok(()),
            Err(LoginError::PinRejected {
                venue: "scripted",
                step: "pin",
            }),
        ],
    );
    let sup = SessionSupervisor::new(venue)
        .with_clock(clock.clone())
        .with_token_provider(p);
    let mut events = Vec::new();
    for _ in 0..10 {
        events.extend(sup.tick().await);
        clock.advance(60_000);
    }
    assert!(matches!(
        events.last(),
        Some(SupervisorEvent::GaveUp {
            reason: GiveUpReason::LockoutRisk { .. },
            ..
        })
    ));
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("gave up"), "{logs}");
    assert!(!logs.contains(CANARY), "{logs}");
    assert!(!format!("{events:?}{sup:?}").contains(CANARY));
}
