//! Failures: a failed login shared through the failure marker (not repeated), Redis stopped
//! (the typed error, no login; or the opt-in local fallback), and values another program or
//! another fleet key wrote.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use keyward_exchange_client::fleet::{DEFAULT_FAILURE_TTL, DEFAULT_LOCKOUT_FAILURE_TTL};
use keyward_exchange_client::session::{LoginError, TokenProvider as _};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::redis_server::RedisServer;
use crate::{
    CAP, CountingSleep, Fake, IDENTITY, Outcome, PREFIX, clock, connect, fleet, fleet_key, raw,
    set_raw,
};

/// The remaining TTL of one of the identity's keys.
async fn pttl(conn: &keyward_signing::redis::ConnectionManager, name: &str) -> i64 {
    let mut conn = conn.clone();
    redis::cmd("PTTL")
        .arg(format!("{PREFIX}:{{login:{IDENTITY}}}:{name}"))
        .query_async(&mut conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_refused_login_is_passed_to_the_waiters_and_not_repeated() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let conn = connect(&server.url()).await;
    let (key, clock) = (fleet_key(), clock());
    let calls = Arc::new(AtomicU32::new(0));
    let (waiters, waiting) = watch::channel(0usize);
    const N: usize = 8;
    let mut tasks = JoinSet::new();
    for _ in 0..N {
        let fake = Fake::new(Outcome::RejectTotp, &calls, &clock).gated(&waiting, N - 1);
        let login = fleet(fake, &conn, &key, &clock).with_sleep(CountingSleep::new(&waiters));
        tasks.spawn(async move { login.login().await });
    }
    let results = tokio::time::timeout(CAP, tasks.join_all()).await.unwrap();
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "the refusal was not repeated"
    );
    let errors: Vec<LoginError> = results.into_iter().map(Result::unwrap_err).collect();
    assert!(errors.iter().all(LoginError::is_lockout_risk));
    let own = errors
        .iter()
        .filter(|e| matches!(e, LoginError::TotpRejected { .. }))
        .count();
    let shared = errors
        .iter()
        .filter(|e| {
            matches!(e, LoginError::FleetLoginFailed { identity, reason, lockout_risk: true }
                if identity == IDENTITY && reason.contains("refused the TOTP code"))
        })
        .count();
    assert_eq!((own, shared), (1, N - 1), "{errors:?}");
    // The marker lasts the lockout TTL; the lock is released.
    let left = pttl(&conn, "failed").await;
    assert!(
        left > i64::try_from(DEFAULT_FAILURE_TTL.as_millis()).unwrap()
            && left <= i64::try_from(DEFAULT_LOCKOUT_FAILURE_TTL.as_millis()).unwrap(),
        "{left}"
    );
    assert_eq!(raw(&conn, "lock").await, None);
    // A process that comes later fails the same way, without a login.
    let later = fleet(
        Fake::new(Outcome::Token("tok".to_owned()), &calls, &clock),
        &conn,
        &key,
        &clock,
    );
    let err = later.login().await.unwrap_err();
    assert!(
        matches!(
            err,
            LoginError::FleetLoginFailed {
                lockout_risk: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // A person fixed the credentials: clearing the marker lets the next login through.
    later.clear_failure().await.unwrap();
    assert_eq!(later.login().await.unwrap().expose(), "tok");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(raw(&conn, "failed").await, None);
}

#[tokio::test]
async fn a_transient_failure_is_shared_briefly_and_is_no_lockout_risk() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let conn = connect(&server.url()).await;
    let (key, clock) = (fleet_key(), clock());
    let calls = Arc::new(AtomicU32::new(0));
    let first = fleet(
        Fake::new(Outcome::Transport, &calls, &clock),
        &conn,
        &key,
        &clock,
    );
    let err = first.login().await.unwrap_err();
    assert!(matches!(err, LoginError::Transport { .. }), "{err:?}");
    let left = pttl(&conn, "failed").await;
    assert!(
        left > 0 && left <= i64::try_from(DEFAULT_FAILURE_TTL.as_millis()).unwrap(),
        "{left}"
    );
    let second = fleet(
        Fake::new(Outcome::Token("tok".to_owned()), &calls, &clock),
        &conn,
        &key,
        &clock,
    );
    let err = second.login().await.unwrap_err();
    assert!(
        matches!(&err, LoginError::FleetLoginFailed { lockout_risk: false, reason, .. }
            if reason.contains("connection reset")),
        "{err:?}"
    );
    assert!(!err.is_lockout_risk());
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn redis_stopped_is_a_typed_error_and_no_login() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let conn = connect(&server.url()).await;
    let (key, clock) = (fleet_key(), clock());
    let calls = Arc::new(AtomicU32::new(0));
    server.stop();
    let login = fleet(
        Fake::new(Outcome::Token("tok".to_owned()), &calls, &clock),
        &conn,
        &key,
        &clock,
    )
    .with_timeout(Duration::from_millis(300));
    let err = login.login().await.unwrap_err();
    assert!(
        matches!(&err, LoginError::SharedStateUnavailable { identity, .. } if identity == IDENTITY),
        "{err:?}"
    );
    assert!(err.to_string().contains("not logging in alone"), "{err}");
    assert!(!err.is_lockout_risk());
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "no login without the fleet"
    );
    let err = login.clear_failure().await.unwrap_err();
    assert!(
        matches!(err, LoginError::SharedStateUnavailable { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_local_fallback_logs_in_alone_and_warns() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let conn = connect(&server.url()).await;
    let (key, clock) = (fleet_key(), clock());
    let calls = Arc::new(AtomicU32::new(0));
    server.stop();
    let (capture, _guard) = crate::trace::capture_trace();
    let login = fleet(
        Fake::new(Outcome::Token("tok-alone".to_owned()), &calls, &clock),
        &conn,
        &key,
        &clock,
    )
    .with_timeout(Duration::from_millis(300))
    .with_local_fallback();
    let token = login.login().await.unwrap();
    assert_eq!(token.expose(), "tok-alone");
    assert!(token.expires_at().is_some());
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let logs = capture.text();
    assert!(
        logs.contains("WARN") && logs.contains("LOGGING IN ALONE"),
        "{logs}"
    );
    assert!(!logs.contains("tok-alone"));
}

#[tokio::test]
async fn values_another_program_wrote_are_treated_as_absent_with_a_warning() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let conn = connect(&server.url()).await;
    let (key, clock) = (fleet_key(), clock());
    let calls = Arc::new(AtomicU32::new(0));
    let (capture, _guard) = crate::trace::capture_trace();
    // Not a Fernet token at all, in both the entry and the failure marker.
    set_raw(&conn, "token", "{\"access_token\":\"x\"}", None).await;
    set_raw(&conn, "failed", "\u{0}garbage", None).await;
    let login = fleet(
        Fake::new(Outcome::Token("tok-1".to_owned()), &calls, &clock),
        &conn,
        &key,
        &clock,
    );
    assert_eq!(login.login().await.unwrap().expose(), "tok-1");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(capture.text().contains("treating it as absent"));
    // Another fleet key's entry: treated as absent too, and overwritten.
    let other = fleet(
        Fake::new(Outcome::Token("tok-2".to_owned()), &calls, &clock),
        &conn,
        &fleet_key(),
        &clock,
    );
    assert_eq!(other.login().await.unwrap().expose(), "tok-2");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    // And back: the first key cannot read the second's entry, so it logs in and overwrites it;
    // after that its own entry serves it.
    assert_eq!(login.login().await.unwrap().expose(), "tok-1");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(login.login().await.unwrap().expose(), "tok-1");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_fence_another_program_broke_is_a_typed_error() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let conn = connect(&server.url()).await;
    let (key, clock) = (fleet_key(), clock());
    let calls = Arc::new(AtomicU32::new(0));
    set_raw(&conn, "fence", "not-a-number", None).await;
    let login = fleet(
        Fake::new(Outcome::Token("tok".to_owned()), &calls, &clock),
        &conn,
        &key,
        &clock,
    );
    let err = login.login().await.unwrap_err();
    assert!(
        matches!(err, LoginError::SharedStateUnavailable { .. }),
        "{err:?}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}
