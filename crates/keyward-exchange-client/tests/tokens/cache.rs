//! The token cache: refresh ahead of expiry on an injected clock, single flight under 100
//! concurrent callers, a stored token read back after a restart (vault-like store and a Fernet
//! file), and a lockout-risk refusal cached and never retried.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use keyward_core_crypto::{FernetKey, KeyRing};
use keyward_exchange_client::session::{
    ExpiryRule, TokenCache, TokenCacheError, TokenProvider, token_secret_name,
};
use keyward_secrets_backends::{FileStore, SecretStore, Selector};
use keyward_signing::FixedClock;

use super::fake::{Answer, Fake};

/// 2026-01-01T00:00:00Z.
const START_MS: u64 = 1_767_225_600_000;

fn file_store(dir: &tempfile::TempDir) -> (Arc<dyn SecretStore>, KeyRing) {
    let ring = KeyRing::new(FernetKey::generate().unwrap());
    let store: Arc<dyn SecretStore> = Arc::new(FileStore::new(
        dir.path().join("tokens.fernet"),
        ring.clone(),
    ));
    (store, ring)
}

#[tokio::test]
async fn refreshes_ahead_of_expiry_on_the_injected_clock() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = file_store(&dir);
    let clock = Arc::new(FixedClock::new(START_MS));
    let cache = TokenCache::new(store, clock.clone()).refresh_ahead(Duration::from_secs(300));
    // Every token expires an hour after the start.
    let provider = Fake::jwts("bot1", START_MS / 1000 + 3600);

    let first = cache.get(&provider).await.unwrap();
    assert_eq!(provider.count(), 1);
    assert_eq!(
        first.expires_at(),
        Some(UNIX_EPOCH + Duration::from_secs(START_MS / 1000 + 3600))
    );
    // 301 s before expiry: still outside the margin.
    clock.set(START_MS + (3600 - 301) * 1000);
    assert_eq!(cache.get(&provider).await.unwrap().expose(), first.expose());
    assert_eq!(provider.count(), 1);
    // 299 s before expiry: inside the margin, refreshed.
    clock.set(START_MS + (3600 - 299) * 1000);
    let second = cache.get(&provider).await.unwrap();
    assert_eq!(provider.count(), 2);
    assert_ne!(second.expose(), first.expose());
    // That token was issued already inside the margin (it expires with the first): it was
    // handed out all the same, with one login and no loop; the next get logs in again.
    assert_eq!(second.expires_at(), first.expires_at());
    assert_ne!(
        cache.get(&provider).await.unwrap().expose(),
        second.expose()
    );
    assert_eq!(provider.count(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_login_for_a_hundred_concurrent_callers() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = file_store(&dir);
    let clock = Arc::new(FixedClock::new(START_MS));
    let cache = Arc::new(TokenCache::new(store, clock));
    let provider = Arc::new(Fake::jwts("bot1", START_MS / 1000 + 3600));
    let other = Arc::new(Fake::jwts("bot2", START_MS / 1000 + 3600));
    let start = Arc::new(tokio::sync::Barrier::new(110));
    let mut tasks = Vec::new();
    for i in 0..110 {
        let (cache, start) = (cache.clone(), start.clone());
        let provider: Arc<dyn TokenProvider> = if i < 100 {
            provider.clone()
        } else {
            other.clone()
        };
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            let token = cache.get(&*provider).await.unwrap();
            (provider.identity().to_owned(), token.expose().to_owned())
        }));
    }
    let mut tokens = std::collections::BTreeSet::new();
    for task in tasks {
        tokens.insert(task.await.unwrap());
    }
    assert_eq!(provider.count(), 1, "exactly one login for bot1");
    assert_eq!(other.count(), 1, "exactly one login for bot2");
    // One token per identity, the same for every caller.
    assert_eq!(tokens.len(), 2);
}

#[tokio::test]
async fn a_stored_token_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let ring = KeyRing::new(FernetKey::generate().unwrap());
    let path = dir.path().join("tokens.fernet");
    let clock = Arc::new(FixedClock::new(START_MS));
    let provider = Fake::jwts("bot1", START_MS / 1000 + 3600);
    let first = TokenCache::in_file(&path, ring.clone(), clock.clone())
        .get(&provider)
        .await
        .unwrap();
    // The file is Fernet, mode 0600, and does not hold the token in clear.
    let raw = std::fs::read(&path).unwrap();
    assert!(
        !raw.windows(first.expose().len())
            .any(|w| w == first.expose().as_bytes())
    );
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // A new process: a new cache over the same file.
    clock.advance(600_000);
    let again = TokenCache::in_file(&path, ring, clock.clone())
        .get(&provider)
        .await
        .unwrap();
    assert_eq!(provider.count(), 1, "no login after the restart");
    assert_eq!(again.expose(), first.expose());
    assert_eq!(again.expires_at(), first.expires_at());
}

#[tokio::test]
async fn a_stored_token_that_is_due_is_replaced_and_stored() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = file_store(&dir);
    let clock = Arc::new(FixedClock::new(START_MS));
    let provider = Fake::jwts("bot1", START_MS / 1000 + 3600);
    TokenCache::new(store.clone(), clock.clone())
        .get(&provider)
        .await
        .unwrap();
    clock.advance(3_600_000);
    let fresh = TokenCache::new(store.clone(), clock.clone())
        .get(&provider)
        .await
        .unwrap();
    assert_eq!(provider.count(), 2);
    let stored = store
        .get(&token_secret_name("bot1"), &Selector::Current)
        .await
        .unwrap();
    use secrecy::ExposeSecret as _;
    assert_eq!(
        stored.value.field("access_token").unwrap().expose_secret(),
        fresh.expose()
    );
}

#[tokio::test]
async fn a_lockout_risk_refusal_is_cached_and_not_retried() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = file_store(&dir);
    let clock = Arc::new(FixedClock::new(START_MS));
    let cache = TokenCache::new(store, clock);
    let provider = Fake::scripted("bot1", ExpiryRule::JwtExp, vec![Answer::TotpRejected]);

    let first = cache.get(&provider).await.unwrap_err();
    assert!(matches!(first, TokenCacheError::Login(_)), "{first}");
    assert!(first.is_lockout_risk());
    for _ in 0..3 {
        let again = cache.get(&provider).await.unwrap_err();
        assert!(matches!(again, TokenCacheError::Blocked { .. }), "{again}");
        assert!(again.is_lockout_risk());
    }
    assert_eq!(
        provider.count(),
        1,
        "the cache never retried the refused login"
    );
    assert!(cache.is_blocked("bot1").await);

    // A person fixed the seed: the block is lifted and the next login succeeds.
    cache.clear_block("bot1").await;
    cache.get(&provider).await.unwrap();
    assert_eq!(provider.count(), 2);
}

#[tokio::test]
async fn a_transport_failure_is_not_a_block() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = file_store(&dir);
    let cache = TokenCache::new(store, Arc::new(FixedClock::new(START_MS)));
    let provider = Fake::scripted("bot1", ExpiryRule::JwtExp, vec![Answer::Transport]);
    let err = cache.get(&provider).await.unwrap_err();
    assert!(!err.is_lockout_risk(), "{err}");
    cache.get(&provider).await.unwrap();
    assert_eq!(provider.count(), 2);
}

#[tokio::test]
async fn a_daily_cutoff_token_is_refreshed_after_the_cutoff() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = file_store(&dir);
    // 2026-03-10T10:00 Asia/Kolkata: the token dies at 03:30 IST the next day (22:00 UTC).
    let clock = Arc::new(FixedClock::new(1_773_117_000_000));
    let cache = TokenCache::new(store, clock.clone()).refresh_ahead(Duration::from_secs(60));
    let rule = ExpiryRule::DailyCutoff {
        hour: 3,
        minute: 30,
        zone: "Asia/Kolkata",
    };
    let provider = Fake::scripted(
        "upstox-bot",
        rule,
        vec![
            Answer::Token("opaque-1".into()),
            Answer::Token("opaque-2".into()),
        ],
    );
    let first = cache.get(&provider).await.unwrap();
    assert_eq!(
        first.expires_at(),
        Some(UNIX_EPOCH + Duration::from_millis(1_773_180_000_000))
    );
    clock.set(1_773_180_000_000 - 61_000);
    assert_eq!(cache.get(&provider).await.unwrap().expose(), "opaque-1");
    clock.set(1_773_180_000_000 - 59_000);
    assert_eq!(cache.get(&provider).await.unwrap().expose(), "opaque-2");
    assert_eq!(provider.count(), 2);
}

#[tokio::test]
async fn an_opaque_token_under_the_jwt_rule_is_refused_with_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = file_store(&dir);
    let cache = TokenCache::new(store, Arc::new(FixedClock::new(START_MS)));
    let provider = Fake::scripted(
        "bot1",
        ExpiryRule::JwtExp,
        vec![Answer::Token("opaque-CANARY".into())],
    );
    let err = cache.get(&provider).await.unwrap_err();
    assert!(matches!(err, TokenCacheError::Expiry { .. }), "{err}");
    assert!(!err.to_string().contains("CANARY"));
}

#[tokio::test]
async fn a_store_that_cannot_be_written_never_withholds_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let ring = KeyRing::new(FernetKey::generate().unwrap());
    // A file in a directory that does not exist: reads find nothing, writes fail.
    let store: Arc<dyn SecretStore> = Arc::new(FileStore::new(
        dir.path().join("missing/dir/tokens.fernet"),
        ring,
    ));
    let cache = TokenCache::new(store, Arc::new(FixedClock::new(START_MS)));
    let provider = Fake::jwts("bot1", START_MS / 1000 + 3600);
    let first = cache.get(&provider).await.unwrap();
    // Kept in memory all the same.
    assert_eq!(cache.get(&provider).await.unwrap().expose(), first.expose());
    assert_eq!(provider.count(), 1);
    assert!(
        !dir.path().join("missing").exists(),
        "the write really failed"
    );
}
