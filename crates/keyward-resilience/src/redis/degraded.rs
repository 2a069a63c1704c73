//! Degraded mode: what the shared limiter remembers about Redis's health, and the loud
//! warnings when it stops or starts answering.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::call::RedisError;

/// How long a degraded limiter decides locally before it asks Redis again, by default: 1 s. A
/// Redis that does not answer then costs one timeout per second, not one per request.
pub const DEFAULT_PROBE_INTERVAL: Duration = Duration::from_secs(1);

/// Redis's health as one limiter saw it.
#[derive(Debug)]
pub(crate) struct Health {
    degraded: AtomicBool,
    /// Times the limiter entered degraded mode.
    entered: AtomicU64,
    /// Decisions taken by the local share.
    local: AtomicU64,
    /// When Redis last failed (real time: the probe interval is an operational delay, not part
    /// of any limit's arithmetic).
    failed_at: Mutex<Option<Instant>>,
    probe_interval: Duration,
}

impl Health {
    pub(crate) fn new(probe_interval: Duration) -> Self {
        Self {
            degraded: AtomicBool::new(false),
            entered: AtomicU64::new(0),
            local: AtomicU64::new(0),
            failed_at: Mutex::new(None),
            probe_interval,
        }
    }

    /// Whether to ask Redis now: always when healthy, once per probe interval when degraded.
    pub(crate) fn should_ask(&self) -> bool {
        if !self.is_degraded() {
            return true;
        }
        let failed_at = self
            .failed_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        failed_at.is_none_or(|at| at.elapsed() >= self.probe_interval)
    }

    /// Redis failed: enter degraded mode (with a warning) if not already in it.
    pub(crate) fn failed(&self, prefix: &str, fleet_size: u32, error: &RedisError) {
        *self
            .failed_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
        if !self.degraded.swap(true, Ordering::SeqCst) {
            self.entered.fetch_add(1, Ordering::SeqCst);
            tracing::warn!(fleet = prefix, fleet_size, error = %error,
                "shared rate budget DEGRADED: Redis is unreachable; deciding locally on 1/{fleet_size} of each limit until it answers again");
        }
    }

    /// Redis answered: leave degraded mode (with a warning) if in it.
    pub(crate) fn answered(&self, prefix: &str) {
        if self.degraded.swap(false, Ordering::SeqCst) {
            tracing::warn!(
                fleet = prefix,
                local_decisions = self.local_decisions(),
                "shared rate budget recovered: Redis answers again; deciding in Redis"
            );
        }
    }

    pub(crate) fn decided_locally(&self) {
        self.local.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn is_degraded(&self) -> bool {
        self.degraded.load(Ordering::SeqCst)
    }

    pub(crate) fn times_degraded(&self) -> u64 {
        self.entered.load(Ordering::SeqCst)
    }

    pub(crate) fn local_decisions(&self) -> u64 {
        self.local.load(Ordering::SeqCst)
    }
}
