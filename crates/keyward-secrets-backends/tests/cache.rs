//! The cache, on an injected clock: refresh ahead, single flight, stale on error, invalidate and
//! change notifications.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use keyward_secrets_backends::{
    CURRENT, CacheConfig, CachedStore, Capabilities, ChainStore, Error, FixedClock, Metadata,
    Result, Secret, SecretStore, SecretValue, Selector,
};

/// A store that counts reads, can be told to fail, and answers with a settable value after an
/// optional gate (to hold a read in flight).
#[derive(Debug, Default)]
struct Probe {
    reads: AtomicUsize,
    failing: AtomicBool,
    missing: AtomicBool,
    value: std::sync::Mutex<String>,
    gate: tokio::sync::Mutex<()>,
}

#[async_trait]
impl SecretStore for Probe {
    fn kind(&self) -> &'static str {
        "probe"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            writable: false,
            versioned: false,
            stages: false,
        }
    }
    async fn get(&self, name: &str, _: &Selector) -> Result<Secret> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        let _open = self.gate.lock().await;
        if self.missing.load(Ordering::SeqCst) {
            return Err(Error::NotFound {
                name: name.into(),
                detail: None,
            });
        }
        if self.failing.load(Ordering::SeqCst) {
            return Err(Error::Backend {
                store: "probe",
                message: "down".into(),
            });
        }
        let value = self.value.lock().unwrap().clone();
        Ok(Secret {
            value: SecretValue::bytes(value.into_bytes()),
            meta: Metadata {
                name: name.into(),
                version: "1".into(),
                created: None,
                stages: vec![CURRENT.into()],
                rotation_due: None,
            },
        })
    }
    async fn put(&self, _: &str, _: &SecretValue) -> Result<Metadata> {
        Err(self.unsupported("writing"))
    }
    async fn delete(&self, _: &str) -> Result<()> {
        Err(self.unsupported("deleting"))
    }
    async fn list(&self) -> Result<Vec<String>> {
        Ok(vec![])
    }
    async fn versions(&self, _: &str) -> Result<Vec<Metadata>> {
        Ok(vec![])
    }
}

const CONFIG: CacheConfig = CacheConfig {
    ttl: Duration::from_secs(100),
    refresh_ahead: Duration::from_secs(10),
    jitter: Duration::ZERO,
    max_stale: Duration::from_secs(50),
};

fn setup() -> (Arc<Probe>, Arc<FixedClock>, Arc<CachedStore>) {
    let probe = Arc::new(Probe::default());
    *probe.value.lock().unwrap() = "v1".into();
    let clock = Arc::new(FixedClock::default());
    let cache = Arc::new(CachedStore::with_clock(
        probe.clone(),
        CONFIG,
        clock.clone(),
    ));
    (probe, clock, cache)
}

async fn read(cache: &CachedStore) -> Vec<u8> {
    let s = cache.get("svc", &Selector::Current).await.unwrap();
    s.value.to_stored().to_vec()
}

#[tokio::test]
async fn serves_from_cache_then_refreshes_ahead_of_expiry() {
    let (probe, clock, cache) = setup();
    let mut changes = cache.subscribe();
    assert_eq!(read(&cache).await, b"v1");
    clock.advance(89_000);
    assert_eq!(read(&cache).await, b"v1");
    assert_eq!(
        probe.reads.load(Ordering::SeqCst),
        1,
        "inside the ttl minus refresh-ahead"
    );
    // At 90 s (100 - 10) a read refreshes ahead of expiry and sees the rotated value.
    *probe.value.lock().unwrap() = "v2".into();
    clock.advance(1_000);
    assert_eq!(read(&cache).await, b"v2");
    assert_eq!(probe.reads.load(Ordering::SeqCst), 2);
    assert_eq!(
        changes.try_recv().unwrap(),
        "svc",
        "a changed value is announced"
    );
}

#[tokio::test]
async fn one_fetch_at_a_time_per_name() {
    let (probe, _clock, cache) = setup();
    let gate = probe.gate.lock().await; // hold the store's answer
    let readers: Vec<_> = (0..20)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move { read(&cache).await })
        })
        .collect();
    // Let every reader reach the cache before opening the gate.
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
    drop(gate);
    for r in readers {
        assert_eq!(r.await.unwrap(), b"v1");
    }
    assert_eq!(probe.reads.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn serves_stale_on_error_up_to_the_maximum_staleness() {
    let (probe, clock, cache) = setup();
    read(&cache).await;
    probe.failing.store(true, Ordering::SeqCst);
    clock.advance(149_000); // expired 49 s ago: within max_stale (50 s)
    assert_eq!(read(&cache).await, b"v1");
    clock.advance(1_000); // 50 s past expiry: too stale
    assert!(matches!(
        cache.get("svc", &Selector::Current).await,
        Err(Error::Backend { .. })
    ));
    // A store that recovers is used again.
    probe.failing.store(false, Ordering::SeqCst);
    assert_eq!(read(&cache).await, b"v1");
}

#[tokio::test]
async fn invalidate_forces_a_fresh_read() {
    let (probe, _clock, cache) = setup();
    read(&cache).await;
    *probe.value.lock().unwrap() = "v2".into();
    assert_eq!(read(&cache).await, b"v1");
    cache.invalidate("svc");
    assert_eq!(read(&cache).await, b"v2");
    cache.invalidate_all();
    read(&cache).await;
    assert_eq!(probe.reads.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn errors_without_a_cached_value_pass_through() {
    let (probe, _clock, cache) = setup();
    probe.failing.store(true, Ordering::SeqCst);
    assert!(cache.get("svc", &Selector::Current).await.is_err());
}

/// Finding 11 of issue 13: a secret deleted (or revoked) in the store is gone from the cache at
/// the next read that asks the store; it is never served stale.
#[tokio::test]
async fn a_secret_gone_from_the_store_is_not_served_stale() {
    let (probe, clock, cache) = setup();
    read(&cache).await;
    probe.missing.store(true, Ordering::SeqCst);
    clock.advance(100_000); // expired, well within max_stale
    assert!(matches!(
        cache.get("svc", &Selector::Current).await,
        Err(Error::NotFound { .. })
    ));
    // The entry is dropped: a transient failure next does not bring the old value back.
    probe.missing.store(false, Ordering::SeqCst);
    probe.failing.store(true, Ordering::SeqCst);
    assert!(matches!(
        cache.get("svc", &Selector::Current).await,
        Err(Error::Backend { .. })
    ));
}

/// Finding 11: `get_fresh` (what a client calls after an authentication refusal) asks the
/// store, never answers from the cache and never serves stale; through a chain too.
#[tokio::test]
async fn get_fresh_bypasses_the_cache_and_never_serves_stale() {
    let (probe, _clock, cache) = setup();
    let mut changes = cache.subscribe();
    read(&cache).await;
    *probe.value.lock().unwrap() = "v2".into();
    assert_eq!(
        read(&cache).await,
        b"v1",
        "inside the ttl the cache answers"
    );
    let fresh = SecretStore::get_fresh(&*cache, "svc").await.unwrap();
    assert_eq!(fresh.value.to_stored().to_vec(), b"v2");
    assert_eq!(changes.try_recv().unwrap(), "svc");
    assert_eq!(read(&cache).await, b"v2", "the fresh value is cached");
    assert_eq!(probe.reads.load(Ordering::SeqCst), 2);

    probe.failing.store(true, Ordering::SeqCst);
    assert!(matches!(
        SecretStore::get_fresh(&*cache, "svc").await,
        Err(Error::Backend { .. })
    ));

    // A failed fresh read leaves nothing cached: the refused value is not served again.
    probe.failing.store(false, Ordering::SeqCst);
    assert_eq!(read(&cache).await, b"v2");
    assert_eq!(probe.reads.load(Ordering::SeqCst), 4);

    // A chain passes the fresh read to the cache inside it.
    *probe.value.lock().unwrap() = "v3".into();
    let chain = ChainStore::new(vec![cache.clone()]);
    assert_eq!(read(&cache).await, b"v2");
    let fresh = chain.get_fresh("svc").await.unwrap();
    assert_eq!(fresh.value.to_stored().to_vec(), b"v3");
    // `invalidate` through the trait reaches the cache as well.
    *probe.value.lock().unwrap() = "v4".into();
    SecretStore::invalidate(&chain, "svc");
    assert_eq!(read(&cache).await, b"v4");
}
