//! A caching layer over any store: a time-to-live, refresh ahead of expiry (spread by a jitter
//! per name), one refresh at a time per name, serving a stale value while the store fails (up
//! to a maximum staleness), invalidation, and a change notification so a client can
//! re-authenticate after a rotation.
//!
//! A stale value is served only while the store fails in a way that may pass
//! ([`Error::is_transient`]): when the store says the secret is gone ([`Error::NotFound`]) the
//! cached value is dropped at once and the error returned, so a deleted or revoked secret does
//! not live on. [`SecretStore::get_fresh`] (what a client calls after the venue refused its
//! credentials) always asks the store and never serves a stale value.
//!
//! A revocation made through the cache forgets the cached value at once; one made elsewhere (by
//! another process) is seen at the next refresh, and at once by [`SecretStore::get_fresh`],
//! which a client calls when a venue refuses its credentials. A read the store refuses as
//! revoked ([`Error::Revoked`]) drops the cached value, as [`Error::NotFound`] does.
//!
//! Only the current version is cached; other selectors and all writes go to the store (a write
//! invalidates the name and notifies).

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::broadcast;

use crate::age::CredentialAge;
use crate::error::{Error, Result};
use crate::revocation::Revocation;
use crate::store::{Capabilities, Metadata, Secret, SecretStore, Selector};
use crate::value::SecretValue;
use crate::{Clock, SystemClock};

/// How the cache behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheConfig {
    /// How long a value is served without asking the store (default 5 minutes).
    pub ttl: Duration,
    /// How long before expiry a read refreshes the value while still serving it (default 30 s).
    pub refresh_ahead: Duration,
    /// The refresh point moves earlier by up to this much per name, so that many names cached
    /// at once do not all refresh at once (default 10 s).
    pub jitter: Duration,
    /// How long past expiry a value is still served while the store fails (default 15 minutes).
    pub max_stale: Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(300),
            refresh_ahead: Duration::from_secs(30),
            jitter: Duration::from_secs(10),
            max_stale: Duration::from_secs(900),
        }
    }
}

/// Whether a failed fetch may answer with the cached value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stale {
    /// Within the maximum staleness, when the store's failure may pass.
    OnTransientError,
    /// Never (a fresh read).
    Never,
}

#[derive(Clone)]
struct Cached {
    secret: Secret,
    fetched: Duration,
}

#[derive(Default)]
struct Entry {
    /// Held by the one task refreshing this name.
    flight: tokio::sync::Mutex<()>,
    value: Mutex<Option<Cached>>,
}

impl Entry {
    fn cached(&self) -> Option<Cached> {
        self.value
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set(&self, value: Option<Cached>) {
        *self.value.lock().unwrap_or_else(PoisonError::into_inner) = value;
    }
}

/// A [`SecretStore`] that caches another.
pub struct CachedStore {
    inner: Arc<dyn SecretStore>,
    config: CacheConfig,
    clock: Arc<dyn Clock>,
    entries: Mutex<HashMap<String, Arc<Entry>>>,
    changes: broadcast::Sender<String>,
}

impl CachedStore {
    /// Caches `inner` with `config` on the system clock.
    pub fn new(inner: Arc<dyn SecretStore>, config: CacheConfig) -> Self {
        Self::with_clock(inner, config, Arc::new(SystemClock))
    }

    /// Caches `inner` on an injected clock.
    pub fn with_clock(
        inner: Arc<dyn SecretStore>,
        config: CacheConfig,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            inner,
            config,
            clock,
            entries: Mutex::new(HashMap::new()),
            changes: broadcast::channel(64).0,
        }
    }

    /// Names whose value changed (a refresh found a new value, or a write through this cache):
    /// re-authenticate with the new credentials.
    pub fn subscribe(&self) -> broadcast::Receiver<String> {
        self.changes.subscribe()
    }

    /// Forgets the cached value of `name`.
    pub fn invalidate(&self, name: &str) {
        if let Some(entry) = self.entries().get(name) {
            entry.set(None);
        }
    }

    /// Forgets every cached value.
    pub fn invalidate_all(&self) {
        for entry in self.entries().values() {
            entry.set(None);
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Entry>>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn entry(&self, name: &str) -> Arc<Entry> {
        self.entries().entry(name.to_owned()).or_default().clone()
    }

    /// When a value fetched at `fetched` starts being refreshed: `ttl - refresh_ahead`, moved
    /// earlier by a per-name share of the jitter.
    fn refresh_at(&self, name: &str, fetched: Duration) -> Duration {
        let jitter_ns = u64::try_from(self.config.jitter.as_nanos()).unwrap_or(u64::MAX);
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        name.hash(&mut hasher);
        let offset = Duration::from_nanos(hasher.finish() % jitter_ns.max(1));
        (fetched + self.config.ttl)
            .saturating_sub(self.config.refresh_ahead)
            .saturating_sub(offset)
            .max(fetched)
    }

    /// Asks the store and records the answer. On a transient failure, the cached value if
    /// `stale` allows it and it is still within its maximum staleness; on [`Error::NotFound`],
    /// the entry is dropped.
    async fn fetch(
        &self,
        name: &str,
        entry: &Entry,
        previous: Option<Cached>,
        stale: Stale,
    ) -> Result<Secret> {
        match self.inner.get(name, &Selector::Current).await {
            Ok(secret) => {
                let changed = previous
                    .as_ref()
                    .is_some_and(|p| !p.secret.value.same_as(&secret.value));
                entry.set(Some(Cached {
                    secret: secret.clone(),
                    fetched: self.clock.monotonic(),
                }));
                if changed {
                    // No receiver is fine: nobody is listening.
                    let _ = self.changes.send(name.to_owned());
                }
                Ok(secret)
            }
            Err(err @ (Error::NotFound { .. } | Error::Revoked { .. })) => {
                // Deleted or revoked: forget it, never serve it stale.
                entry.set(None);
                Err(err)
            }
            Err(err) => match previous {
                Some(p)
                    if stale == Stale::OnTransientError
                        && err.is_transient()
                        && self.clock.monotonic()
                            < p.fetched + self.config.ttl + self.config.max_stale =>
                {
                    tracing::warn!(target: "keyward_secrets::cache", secret = name, error = %err, "store failed; serving the cached value");
                    Ok(p.secret)
                }
                _ => Err(err),
            },
        }
    }

    fn notify(&self, name: &str) {
        self.invalidate(name);
        let _ = self.changes.send(name.to_owned());
    }
}

impl std::fmt::Debug for CachedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedStore")
            .field("inner", &self.inner)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl SecretStore for CachedStore {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn changes(&self) -> Option<broadcast::Receiver<String>> {
        Some(self.subscribe())
    }

    fn stage_label<'a>(&self, stage: &'a str) -> std::borrow::Cow<'a, str> {
        self.inner.stage_label(stage)
    }

    async fn get(&self, name: &str, which: &Selector) -> Result<Secret> {
        if *which != Selector::Current {
            return self.inner.get(name, which).await;
        }
        let entry = self.entry(name);
        if let Some(cached) = entry.cached() {
            let now = self.clock.monotonic();
            if now < self.refresh_at(name, cached.fetched) {
                return Ok(cached.secret);
            }
            if now < cached.fetched + self.config.ttl {
                // Refresh ahead: one reader refreshes, everyone else keeps the cached value.
                return match entry.flight.try_lock() {
                    Ok(_flight) => {
                        self.fetch(name, &entry, Some(cached), Stale::OnTransientError)
                            .await
                    }
                    Err(_) => Ok(cached.secret),
                };
            }
        }
        let _flight = entry.flight.lock().await;
        // Someone may have fetched while this task waited.
        let cached = entry.cached();
        if let Some(c) = &cached {
            if self.clock.monotonic() < c.fetched + self.config.ttl {
                return Ok(c.secret.clone());
            }
        }
        self.fetch(name, &entry, cached, Stale::OnTransientError)
            .await
    }

    /// Asks the store under the name's single-flight lock, past the cached value, and never
    /// serves a stale one; the answer replaces the cached value (or drops it if the secret is
    /// gone) and a changed value is announced.
    async fn get_fresh(&self, name: &str) -> Result<Secret> {
        self.inner.invalidate(name);
        let entry = self.entry(name);
        let _flight = entry.flight.lock().await;
        let previous = entry.cached();
        entry.set(None);
        self.fetch(name, &entry, previous, Stale::Never).await
    }

    fn invalidate(&self, name: &str) {
        CachedStore::invalidate(self, name);
        self.inner.invalidate(name);
    }

    async fn put(&self, name: &str, value: &SecretValue) -> Result<Metadata> {
        let meta = self.inner.put(name, value).await?;
        self.notify(name);
        Ok(meta)
    }

    async fn put_pending(&self, name: &str, value: &SecretValue) -> Result<Metadata> {
        self.inner.put_pending(name, value).await
    }

    async fn promote(&self, name: &str, version: &str) -> Result<()> {
        self.inner.promote(name, version).await?;
        self.notify(name);
        Ok(())
    }

    async fn delete(&self, name: &str) -> Result<()> {
        self.inner.delete(name).await?;
        self.notify(name);
        Ok(())
    }

    async fn list(&self) -> Result<Vec<String>> {
        self.inner.list().await
    }

    async fn metadata(&self, name: &str) -> Result<Metadata> {
        self.inner.metadata(name).await
    }

    /// Revokes in the store, then forgets the cached value and announces the name, so that
    /// this process's next read asks the store (and is refused).
    async fn revoke(&self, name: &str, reason: Option<&str>) -> Result<Revocation> {
        let revocation = self.inner.revoke(name, reason).await?;
        self.notify(name);
        Ok(revocation)
    }

    async fn revocation(&self, name: &str) -> Result<Option<Revocation>> {
        self.inner.revocation(name).await
    }

    async fn revocations(&self) -> Result<Vec<Revocation>> {
        self.inner.revocations().await
    }

    async fn credential_ages(&self) -> Result<Vec<CredentialAge>> {
        self.inner.credential_ages().await
    }

    async fn versions(&self, name: &str) -> Result<Vec<Metadata>> {
        self.inner.versions(name).await
    }
}
