//! Server-clock sync (ccxt's `adjustForTimeDifference`): the offset to the venue's clock is
//! measured from its public time endpoint at the first signed call (or on demand) and again when
//! the venue refuses a timestamp, and applied to the signer's clock through
//! [`keyward_signing::ServerClock`].

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use keyward_signing::{Clock, ServerClock};

use crate::error::{Error, Result};

/// The offset state of one client.
#[derive(Debug)]
pub(crate) struct TimeSync {
    enabled: bool,
    local: Arc<dyn Clock>,
    clock: Arc<ServerClock>,
    synced: AtomicBool,
    /// Bumped by every sync: a request signed before a sync does not trigger another one.
    epoch: AtomicU64,
    lock: tokio::sync::Mutex<()>,
}

impl TimeSync {
    pub(crate) fn new(enabled: bool, local: Arc<dyn Clock>) -> Self {
        Self {
            enabled,
            clock: Arc::new(ServerClock::new(local.clone())),
            local,
            synced: AtomicBool::new(false),
            epoch: AtomicU64::new(0),
            lock: tokio::sync::Mutex::new(()),
        }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.enabled
    }

    /// The clock signers use: local time plus the measured offset.
    pub(crate) fn clock(&self) -> Arc<ServerClock> {
        self.clock.clone()
    }

    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// How many syncs were made.
    pub(crate) fn syncs(&self) -> u64 {
        self.epoch()
    }

    pub(crate) fn offset_ms(&self) -> i64 {
        self.clock.offset_ms()
    }

    /// Syncs once if enabled and never synced.
    pub(crate) async fn ensure<F, Fut>(&self, fetch: F) -> Result<()>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<u64>>,
    {
        if !self.enabled || self.synced.load(Ordering::SeqCst) {
            return Ok(());
        }
        let _guard = self.lock.lock().await;
        if self.synced.load(Ordering::SeqCst) {
            return Ok(());
        }
        self.sample(fetch).await.map(drop)
    }

    /// Syncs after a timestamp refusal of a request signed in `seen_epoch`, unless another task
    /// already did since: one resync per clock step, however many requests were refused.
    pub(crate) async fn resync_after<F, Fut>(&self, seen_epoch: u64, fetch: F) -> Result<()>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<u64>>,
    {
        let _guard = self.lock.lock().await;
        if self.epoch() != seen_epoch {
            return Ok(());
        }
        // The server's clock moved: older samples (maybe with shorter round trips) are stale.
        self.clock.reset();
        self.sample(fetch).await.map(drop)
    }

    /// Measures now, whatever the state; returns the offset.
    pub(crate) async fn sync_now<F, Fut>(&self, fetch: F) -> Result<i64>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<u64>>,
    {
        let _guard = self.lock.lock().await;
        self.sample(fetch).await
    }

    async fn sample<F, Fut>(&self, fetch: F) -> Result<i64>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<u64>>,
    {
        let sent = self.local.now_ms();
        let server = fetch().await?;
        let received = self.local.now_ms();
        let offset = self
            .clock
            .record_sample(sent, server, received)
            .map_err(|e| Error::config_from("the server time cannot be used", e))?;
        self.synced.store(true, Ordering::SeqCst);
        self.epoch.fetch_add(1, Ordering::SeqCst);
        tracing::debug!(
            offset_ms = offset,
            round_trip_ms = received - sent,
            "server clock synced"
        );
        Ok(offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyward_signing::FixedClock;

    #[tokio::test]
    async fn one_sync_then_only_after_a_refusal_of_the_current_epoch() {
        let local = Arc::new(FixedClock::new(1_000_000));
        let t = TimeSync::new(true, local.clone());
        t.ensure(|| async { Ok(1_003_000) }).await.unwrap();
        assert_eq!((t.offset_ms(), t.syncs()), (3_000, 1));
        t.ensure(|| async { panic!("not again") }).await.unwrap();
        let seen = t.epoch();
        t.resync_after(seen, || async { Ok(1_005_000) })
            .await
            .unwrap();
        assert_eq!((t.offset_ms(), t.syncs()), (5_000, 2));
        // A second refusal of a request signed before that resync does not resync again.
        t.resync_after(seen, || async { panic!("stale") })
            .await
            .unwrap();
        assert_eq!(t.syncs(), 2);
        assert_eq!(t.clock().now_ms(), 1_005_000);
    }

    #[tokio::test]
    async fn disabled_never_fetches_and_errors_pass_through() {
        let t = TimeSync::new(false, Arc::new(FixedClock::new(5)));
        t.ensure(|| async { panic!("disabled") }).await.unwrap();
        let err = t
            .sync_now(|| async { Err(Error::config("down")) })
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Config { reason, .. } if reason == "down"),
            "{err}"
        );
        assert_eq!(t.syncs(), 0);
    }
}
