//! Single flight: many instances (each standing for a process), one login; a stale holder's
//! write refused; a dead holder's lock expiring and one waiter taking over; the bounded wait;
//! the token cache in front.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use keyward_exchange_client::fleet::{FIRST_POLL, MAX_POLL};
use keyward_exchange_client::session::{LoginError, TokenCache, TokenProvider};
use keyward_resilience::{ManualClock, ManualSleep};
use keyward_signing::Clock;
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinSet;

use crate::redis_server::RedisServer;
use crate::{
    CAP, CountingSleep, Fake, Outcome, clock, connect, del_raw, fleet, fleet_key, raw, set_raw,
};

#[tokio::test]
async fn many_instances_need_a_token_at_once_and_one_logs_in() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let conn = connect(&server.url()).await;
    let (key, clock) = (fleet_key(), clock());
    let calls = Arc::new(AtomicU32::new(0));
    let (waiters, waiting) = watch::channel(0usize);
    const N: usize = 12;
    let mut tasks = JoinSet::new();
    for _ in 0..N {
        // The login waits until the N - 1 others have paused on the lock at least once.
        let fake = Fake::new(Outcome::Token("tok-shared".to_owned()), &calls, &clock)
            .gated(&waiting, N - 1);
        let login = fleet(fake, &conn, &key, &clock).with_sleep(CountingSleep::new(&waiters));
        tasks.spawn(async move { login.login().await });
    }
    let results = tokio::time::timeout(CAP, tasks.join_all()).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1, "exactly one login");
    assert_eq!(*waiting.borrow(), N - 1, "every other instance waited");
    for token in results {
        let token = token.unwrap();
        assert_eq!(token.expose(), "tok-shared");
        assert!(token.expires_at().is_some());
    }
    // The entry is sealed, the lock released, the fence at 1.
    let entry = raw(&conn, "token").await.unwrap();
    assert!(!entry.contains("tok-shared"));
    assert_eq!(raw(&conn, "lock").await, None);
    assert_eq!(raw(&conn, "fence").await.as_deref(), Some("1"));
    // A later instance reads the entry: no login.
    let later = fleet(
        Fake::new(Outcome::Token("tok-other".to_owned()), &calls, &clock),
        &conn,
        &key,
        &clock,
    );
    assert_eq!(later.login().await.unwrap().expose(), "tok-shared");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_token_within_the_refresh_margin_is_replaced_by_one_login() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let conn = connect(&server.url()).await;
    let (key, clock) = (fleet_key(), clock());
    let calls = Arc::new(AtomicU32::new(0));
    let first = fleet(
        Fake::new(Outcome::Token("tok-1".to_owned()), &calls, &clock),
        &conn,
        &key,
        &clock,
    );
    assert_eq!(first.login().await.unwrap().expose(), "tok-1");
    // 56 minutes on, the token has 4 minutes left: inside the 5-minute margin.
    clock.advance(56 * 60 * 1000);
    let second = fleet(
        Fake::new(Outcome::Token("tok-2".to_owned()), &calls, &clock),
        &conn,
        &key,
        &clock,
    );
    assert_eq!(second.login().await.unwrap().expose(), "tok-2");
    assert_eq!(first.login().await.unwrap().expose(), "tok-2");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(raw(&conn, "fence").await.as_deref(), Some("2"));
}

#[tokio::test]
async fn a_stale_holder_cannot_overwrite_a_newer_token() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let conn = connect(&server.url()).await;
    let (key, clock) = (fleet_key(), clock());
    let calls = Arc::new(AtomicU32::new(0));
    let (entered, mut started) = mpsc::unbounded_channel();
    let release = Arc::new(Notify::new());
    let stale = fleet(
        Fake::new(Outcome::Token("tok-stale".to_owned()), &calls, &clock).held(entered, &release),
        &conn,
        &key,
        &clock,
    );
    let stale_task = tokio::spawn(async move { stale.login().await });
    tokio::time::timeout(CAP, started.recv()).await.unwrap();
    assert!(
        raw(&conn, "lock").await.unwrap().starts_with("1:"),
        "fence 1"
    );
    // The holder stalls past its lock's TTL: the lock goes, as its expiry would remove it.
    del_raw(&conn, "lock").await;
    let newer = fleet(
        Fake::new(Outcome::Token("tok-new".to_owned()), &calls, &clock),
        &conn,
        &key,
        &clock,
    );
    assert_eq!(newer.login().await.unwrap().expose(), "tok-new");
    assert_eq!(raw(&conn, "fence").await.as_deref(), Some("2"));
    let entry_before = raw(&conn, "token").await.unwrap();
    // The stale holder finishes: its write is refused (fence 1 is not the lock's), and it
    // hands out the newer token.
    release.notify_one();
    let stale_token = tokio::time::timeout(CAP, stale_task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(stale_token.expose(), "tok-new");
    assert_eq!(raw(&conn, "token").await.unwrap(), entry_before);
    let reader = fleet(
        Fake::new(Outcome::Token("unused".to_owned()), &calls, &clock),
        &conn,
        &key,
        &clock,
    );
    assert_eq!(reader.login().await.unwrap().expose(), "tok-new");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_stale_holder_with_the_same_fence_after_a_restart_keeps_its_token_unpublished() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let conn = connect(&server.url()).await;
    let (key, clock) = (fleet_key(), clock());
    let calls = Arc::new(AtomicU32::new(0));
    let (entered, mut started) = mpsc::unbounded_channel();
    let release = Arc::new(Notify::new());
    let stale = fleet(
        Fake::new(Outcome::Token("tok-stale".to_owned()), &calls, &clock).held(entered, &release),
        &conn,
        &key,
        &clock,
    );
    let stale_task = tokio::spawn(async move { stale.login().await });
    tokio::time::timeout(CAP, started.recv()).await.unwrap();
    // Redis restarted empty meanwhile, and another process took the lock, still logging in:
    // with the same fence number, 1 (the counter began again), but its own nonce.
    let held = raw(&conn, "lock").await.unwrap();
    assert!(held.starts_with("1:"));
    set_raw(&conn, "lock", "1:another-process-nonce", Some(60_000)).await;
    set_raw(&conn, "fence", "1", None).await;
    release.notify_one();
    let token = tokio::time::timeout(CAP, stale_task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(token.expose(), "tok-stale");
    assert_eq!(raw(&conn, "token").await, None, "nothing published");
    assert_eq!(
        raw(&conn, "lock").await.as_deref(),
        Some("1:another-process-nonce"),
        "not released"
    );
}

#[tokio::test]
async fn a_dead_holders_lock_expires_and_one_waiter_takes_over() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let conn = connect(&server.url()).await;
    let (key, clock) = (fleet_key(), clock());
    let calls = Arc::new(AtomicU32::new(0));
    // A holder took fence 7 and died: its lock is left to expire (300 ms).
    set_raw(&conn, "fence", "7", None).await;
    set_raw(&conn, "lock", "7", Some(300)).await;
    let mut tasks = JoinSet::new();
    for _ in 0..4 {
        let login = fleet(
            Fake::new(Outcome::Token("tok-takeover".to_owned()), &calls, &clock),
            &conn,
            &key,
            &clock,
        )
        .lock_ttl(Duration::from_millis(300), Duration::from_secs(10));
        tasks.spawn(async move { login.login().await });
    }
    let results = tokio::time::timeout(CAP, tasks.join_all()).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1, "one waiter took over");
    for token in results {
        assert_eq!(token.unwrap().expose(), "tok-takeover");
    }
    assert_eq!(raw(&conn, "fence").await.as_deref(), Some("8"));
}

#[tokio::test]
async fn a_waiter_waits_at_most_the_lock_ttl_plus_the_margin_with_backoff() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let conn = connect(&server.url()).await;
    let (key, clock) = (fleet_key(), clock());
    let calls = Arc::new(AtomicU32::new(0));
    // A holder that stalls far longer than this waiter's bound.
    set_raw(&conn, "fence", "3", None).await;
    set_raw(&conn, "lock", "3", Some(600_000)).await;
    let sleep = ManualSleep::new(Arc::new(ManualClock::new()));
    let login = fleet(
        Fake::new(Outcome::Token("unused".to_owned()), &calls, &clock),
        &conn,
        &key,
        &clock,
    )
    .lock_ttl(Duration::from_secs(1), Duration::from_millis(500))
    .with_sleep(Arc::new(sleep.clone()));
    let err = login.login().await.unwrap_err();
    assert!(
        matches!(&err, LoginError::FleetWaitTimedOut { identity, waited }
            if identity == crate::IDENTITY && *waited == Duration::from_millis(1500)),
        "{err:?}"
    );
    assert!(!err.is_lockout_risk());
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    let slept = sleep.slept();
    assert_eq!(slept[0], FIRST_POLL);
    assert_eq!(slept[1], FIRST_POLL * 2);
    assert_eq!(slept[2], FIRST_POLL * 4);
    assert!(slept.iter().all(|d| *d <= MAX_POLL));
    assert_eq!(slept.iter().sum::<Duration>(), Duration::from_millis(1500));
}

#[tokio::test]
async fn behind_token_caches_two_processes_share_one_login() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let conn = connect(&server.url()).await;
    let (key, clock) = (fleet_key(), clock());
    let calls = Arc::new(AtomicU32::new(0));
    let dir = tempfile::tempdir().unwrap();
    let mut tokens = Vec::new();
    for process in 0..2 {
        let cache = TokenCache::in_file(
            dir.path().join(format!("tokens-{process}.json")),
            fleet_key(),
            Arc::clone(&clock) as Arc<dyn Clock>,
        );
        let login = fleet(
            Fake::new(Outcome::Token(format!("tok-{process}")), &calls, &clock),
            &conn,
            &key,
            &clock,
        );
        assert_eq!(login.identity(), crate::IDENTITY);
        tokens.push(cache.get(&login).await.unwrap());
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(tokens[0].expose(), "tok-0");
    assert_eq!(tokens[1].expose(), "tok-0");
    assert_eq!(tokens[0].expires_at(), tokens[1].expires_at());
}
