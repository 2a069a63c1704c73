//! The token-generation guard in front of the cache: the sixth login in 5 minutes refused with
//! a retry delay, an unusual-activity event at the second token within 30 s, and audit entries
//! for each login, refusal and token, written to a real audit log (and a broken log never stops
//! a login).

use std::sync::Arc;
use std::time::Duration;

use keyward_core_crypto::{FernetKey, KeyRing};
use keyward_exchange_client::session::{
    GuardEvent, LoginError, TokenCache, TokenCacheError, TokenGuard, TokenProvider,
};
use keyward_secrets_backends::audit::{self, AuditLog};
use keyward_secrets_backends::{FileStore, SecretStore};
use keyward_signing::FixedClock;

use super::fake::Fake;

const START_MS: u64 = 1_767_225_600_000;

#[tokio::test]
async fn the_guard_limits_logins_flags_unusual_activity_and_audits() {
    let dir = tempfile::tempdir().unwrap();
    let ring = KeyRing::new(FernetKey::generate().unwrap());
    let store: Arc<dyn SecretStore> =
        Arc::new(FileStore::new(dir.path().join("store.fernet"), ring));
    let clock = Arc::new(FixedClock::new(START_MS));
    let log_path = dir.path().join("audit.log");
    let log = Arc::new(
        AuditLog::open(&log_path, store.clone(), "audit/mac", clock.clone())
            .await
            .unwrap(),
    );
    let guard = Arc::new(TokenGuard::new(clock.clone()).with_audit(log));
    let mut events = guard.subscribe();
    // Tokens live 10 s: with no refresh-ahead margin, each get after 10 s logs in again.
    let fake = Arc::new(Fake::jwts("bot1", START_MS / 1000 + 10));
    let provider = guard.guard(fake.clone());
    let cache = TokenCache::new(store.clone(), clock.clone()).refresh_ahead(Duration::ZERO);

    cache.get(&provider).await.unwrap();
    assert!(events.try_recv().is_err(), "one token is not unusual");
    // 10 s later the token is due: a second token within 30 s is unusual activity.
    clock.advance(10_000);
    cache.get(&provider).await.unwrap();
    assert_eq!(
        events.try_recv().unwrap(),
        GuardEvent::UnusualActivity {
            identity: "bot1".into(),
            generations: 2,
            within: Duration::from_secs(30),
        }
    );
    // Three more logins, then the sixth within 5 minutes is refused before the provider runs.
    for _ in 0..3 {
        clock.advance(10_000);
        cache.get(&provider).await.unwrap();
    }
    assert_eq!(fake.count(), 5);
    clock.advance(10_000);
    let err = cache.get(&provider).await.unwrap_err();
    let TokenCacheError::Login(LoginError::RateLimited { retry_after, .. }) = &err else {
        panic!("expected a rate limit, got {err}");
    };
    // The first login was 50 s ago.
    assert_eq!(*retry_after, Duration::from_secs(250));
    assert!(!err.is_lockout_risk());
    assert_eq!(
        fake.count(),
        5,
        "the refused login never reached the provider"
    );
    clock.advance(250_000);
    cache.get(&provider).await.unwrap();
    assert_eq!(fake.count(), 6);

    // The audit log verifies and holds, per login, a login and a token generation, and the
    // refusal; never a token.
    let summary = audit::verify(&log_path).unwrap();
    assert_eq!(summary.entries, 6 * 2 + 1);
    let text = std::fs::read_to_string(&log_path).unwrap();
    let kinds: Vec<(String, String)> = text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["event"].as_str().unwrap().to_owned(),
                v["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(kinds[0], ("login".into(), "success".into()));
    assert_eq!(kinds[1], ("token_generation".into(), "success".into()));
    assert!(kinds.contains(&("login".into(), "refused".into())));
    assert!(!text.contains("eyJ"), "a token reached the audit log");
}

#[tokio::test]
async fn a_failed_login_is_audited_and_a_broken_log_never_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let ring = KeyRing::new(FernetKey::generate().unwrap());
    let store: Arc<dyn SecretStore> =
        Arc::new(FileStore::new(dir.path().join("store.fernet"), ring));
    let clock = Arc::new(FixedClock::new(START_MS));
    let log_path = dir.path().join("audit.log");
    let log = Arc::new(
        AuditLog::open(&log_path, store.clone(), "audit/mac", clock.clone())
            .await
            .unwrap(),
    );
    let guard = Arc::new(TokenGuard::new(clock.clone()).with_audit(log));
    let fake: Arc<dyn TokenProvider> = Arc::new(Fake::scripted(
        "bot1",
        keyward_exchange_client::session::ExpiryRule::JwtExp,
        vec![super::fake::Answer::TotpRejected],
    ));
    let provider = guard.guard(fake);
    assert!(provider.login().await.unwrap_err().is_lockout_risk());
    let text = std::fs::read_to_string(&log_path).unwrap();
    assert!(text.contains(r#""event":"login_failure""#), "{text}");

    // An identity the audit log cannot name (a space): the append fails, the login goes on.
    let odd: Arc<dyn TokenProvider> = Arc::new(Fake::jwts("bot 1", START_MS / 1000 + 3600));
    guard.guard(odd).login().await.unwrap();
    let after = std::fs::read_to_string(&log_path).unwrap();
    assert_eq!(after, text, "nothing was appended for the unnamed identity");
}
