//! Rotation age in every store that keeps dates: the encrypted file store (from when a version
//! became current), through a cache and a chain; stores without dates say so.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use std::sync::Arc;
use std::time::Duration;

use keyward_core_crypto::{FernetKey, FixedClock, KeyRing};
use keyward_secrets_backends::{
    CacheConfig, CachedStore, ChainStore, EnvStore, Error, FileStore, RotationPolicy, SecretStore,
    SecretValue,
};

const DAY: u64 = 86_400_000;
const T0: u64 = 1_700_000_000_000;

fn value(v: &str) -> SecretValue {
    SecretValue::fields([("api_secret", v)])
}

#[tokio::test]
async fn the_file_store_reports_age_from_when_a_version_became_current() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(T0));
    let store = FileStore::new(
        dir.path().join("s.fernet"),
        KeyRing::new(FernetKey::generate().unwrap()),
    )
    .with_clock(clock.clone());
    store.put("old", &value("1")).await.unwrap();
    clock.advance(60 * DAY);
    store.put("new", &value("1")).await.unwrap();
    let pending = store.put_pending("old", &value("2")).await.unwrap();
    clock.advance(31 * DAY);

    // "old" is 91 days old: its pending version does not count until it is promoted.
    assert_eq!(
        store.metadata("old").await.unwrap().rotation_due,
        Some(true)
    );
    assert_eq!(
        store.metadata("new").await.unwrap().rotation_due,
        Some(false)
    );
    let ages = store.credential_ages().await.unwrap();
    assert_eq!(
        ages.iter()
            .map(|a| (a.name.as_str(), a.due))
            .collect::<Vec<_>>(),
        [("new", false), ("old", true)]
    );
    assert_eq!(ages[1].age, Some(Duration::from_millis(91 * DAY)));
    let versions = store.versions("old").await.unwrap();
    assert_eq!(versions[0].rotation_due, Some(true), "current");
    assert_eq!(versions[1].rotation_due, None, "pending");

    // Promoting restarts the age (the version was stored 31 days ago, current now).
    store.promote("old", &pending.version).await.unwrap();
    assert_eq!(
        store.metadata("old").await.unwrap().rotation_due,
        Some(false)
    );

    // A shorter policy.
    let strict = FileStore::new(
        dir.path().join("s.fernet"),
        KeyRing::new(FernetKey::generate().unwrap()),
    );
    assert!(
        strict.credential_ages().await.is_err(),
        "another key cannot read it"
    );
    let strict = store.with_rotation_policy(RotationPolicy::max_age(Duration::from_secs(86_400)));
    clock.advance(2 * DAY);
    assert!(
        strict
            .credential_ages()
            .await
            .unwrap()
            .iter()
            .all(|a| a.due)
    );
}

#[tokio::test]
async fn caches_and_chains_pass_ages_on_and_stores_without_dates_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(T0));
    let file = Arc::new(
        FileStore::new(
            dir.path().join("s.fernet"),
            KeyRing::new(FernetKey::generate().unwrap()),
        )
        .with_clock(clock.clone()),
    );
    file.put("bot", &value("1")).await.unwrap();
    clock.advance(91 * DAY);
    let env: Arc<dyn SecretStore> = Arc::new(EnvStore::from_vars(
        "KEYWARD",
        [("KEYWARD_BOT_API_SECRET".to_owned(), "x".to_owned())],
    ));
    assert!(matches!(
        env.credential_ages().await,
        Err(Error::Unsupported {
            operation: "rotation dates",
            ..
        })
    ));
    let cached = CachedStore::with_clock(file.clone(), CacheConfig::default(), clock.clone());
    assert!(cached.credential_ages().await.unwrap()[0].due);
    let chain = ChainStore::new(vec![env.clone(), file.clone()]);
    let ages = chain.credential_ages().await.unwrap();
    assert_eq!(ages.len(), 1);
    assert!(ages[0].due);
    let only_env = ChainStore::new(vec![env]);
    assert!(matches!(
        only_env.credential_ages().await,
        Err(Error::Unsupported { .. })
    ));
}

#[tokio::test]
async fn a_revocation_through_a_cache_is_seen_at_once_and_a_chain_revokes_where_the_name_is() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(T0));
    let file = Arc::new(FileStore::new(
        dir.path().join("s.fernet"),
        KeyRing::new(FernetKey::generate().unwrap()),
    ));
    file.put("bot", &value("1")).await.unwrap();
    let cached = Arc::new(CachedStore::with_clock(
        file.clone(),
        CacheConfig::default(),
        clock,
    ));
    let mut changes = cached.subscribe();
    cached.get("bot", &Default::default()).await.unwrap();
    let env: Arc<dyn SecretStore> = Arc::new(EnvStore::from_vars("KEYWARD", []));
    let chain = ChainStore::new(vec![env, cached.clone()]);
    chain.revoke("bot", Some("leaked")).await.unwrap();
    assert_eq!(changes.try_recv().unwrap(), "bot");
    assert!(matches!(
        cached.get("bot", &Default::default()).await,
        Err(Error::Revoked { .. })
    ));
    assert!(matches!(
        chain.get("bot", &Default::default()).await,
        Err(Error::Revoked { .. })
    ));
    assert_eq!(chain.revocations().await.unwrap().len(), 1);
    assert_eq!(chain.revocation("bot").await.unwrap().unwrap().name, "bot");
    // Another process revokes behind the cache: the next refresh, or a fresh read, sees it.
    file.put("bot", &value("2")).await.unwrap();
    cached.get("bot", &Default::default()).await.unwrap();
    file.revoke("bot", None).await.unwrap();
    assert!(matches!(
        cached.get_fresh("bot").await,
        Err(Error::Revoked { .. })
    ));
}
