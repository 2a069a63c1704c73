//! [`FleetBreaker`]: a circuit breaker's open state shared by a fleet, so that one process's
//! detection of a failing venue spares the others the failing calls.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use keyward_resilience::breaker::{BreakerEvent, BreakerEventKind};
use keyward_resilience::{BreakerState, CircuitBreaker};
use keyward_signing::redis::{ConnectionManager, DEFAULT_TIMEOUT, RedisError, bounded};
use keyward_signing::{Clock, SystemClock};
use tokio::task::JoinHandle;

use super::login_scripts::{escape_scope, ttl_ms};

/// How long a look at the fleet's state is reused unless configured: 250 ms. A process asks
/// Redis at most four times a second per breaker, however many calls it makes.
pub const DEFAULT_BREAKER_REFRESH: Duration = Duration::from_millis(250);

/// A [`CircuitBreaker`] whose open state is published to the fleet and read from it.
///
/// - Publishing: a listener on the breaker, on each transition to open, writes
///   `<prefix>:{breaker:<name>}:open` with `PX` the breaker's wait in the open state (one
///   `SET`, in a task on the current tokio runtime; the value names the publishing process).
/// - Consulting: [`sync`](Self::sync), called before calls, reads the key's remaining time
///   (one `PTTL`, reused for [`DEFAULT_BREAKER_REFRESH`]); when another process published the
///   breaker open and this one is closed, this one opens (for its own wait in the open state,
///   then its own half-open trials), without publishing again. A breaker that is half-open is
///   left to its trials; one that is open already stays as it is.
///
/// Failure semantics: Redis unreachable (or slower than [`with_timeout`](Self::with_timeout)) →
/// each breaker alone: a publication that fails is a `tracing` warning and the local breaker is
/// open all the same; a look that fails is a warning and reports closed (the local breaker
/// decides). A key without a TTL (another program's) is ignored with a warning, so it cannot
/// hold the fleet open forever.
pub struct FleetBreaker {
    breaker: CircuitBreaker,
    conn: ConnectionManager,
    key: String,
    process: String,
    timeout: Duration,
    refresh: Duration,
    clock: Arc<dyn Clock>,
    /// Set while this process opens its breaker on the fleet's word: that transition is not
    /// published again.
    adopting: AtomicBool,
    /// The last look: when (monotonic) and whether the fleet reported the breaker open.
    last: Mutex<Option<(Duration, bool)>>,
    pending: Mutex<Vec<JoinHandle<()>>>,
}

impl fmt::Debug for FleetBreaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FleetBreaker")
            .field("breaker", &self.breaker)
            .field("key", &self.key)
            .field("refresh", &self.refresh)
            .finish_non_exhaustive()
    }
}

impl FleetBreaker {
    /// `breaker`'s open state shared by the fleet `prefix` through `conn`. Nothing is
    /// published until [`attach`](Self::attach).
    pub fn new(breaker: &CircuitBreaker, conn: ConnectionManager, prefix: &str) -> Self {
        Self {
            key: format!("{prefix}:{{breaker:{}}}:open", escape_scope(breaker.name())),
            breaker: breaker.clone(),
            conn,
            process: uuid::Uuid::new_v4().to_string(),
            timeout: DEFAULT_TIMEOUT,
            refresh: DEFAULT_BREAKER_REFRESH,
            clock: Arc::new(SystemClock),
            adopting: AtomicBool::new(false),
            last: Mutex::new(None),
            pending: Mutex::new(Vec::new()),
        }
    }

    /// Bounds every call to Redis by `timeout` (default [`DEFAULT_TIMEOUT`], 500 ms).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Reuses a look at the fleet's state for `refresh` (default
    /// [`DEFAULT_BREAKER_REFRESH`]).
    #[must_use]
    pub fn with_refresh(mut self, refresh: Duration) -> Self {
        self.refresh = refresh;
        self
    }

    /// Measures the refresh interval on `clock`'s monotonic time.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Registers the listener that publishes the breaker's openings, and returns the shared
    /// handle. The listener holds it weakly: once every handle is dropped it does nothing.
    pub fn attach(self) -> Arc<Self> {
        let this = Arc::new(self);
        let weak: Weak<Self> = Arc::downgrade(&this);
        this.breaker
            .add_listener(Arc::new(move |event: &BreakerEvent| {
                if let BreakerEventKind::Transition {
                    to: BreakerState::Open,
                    ..
                } = event.kind
                {
                    if let Some(this) = weak.upgrade() {
                        this.opened();
                    }
                }
            }));
        this
    }

    /// The Redis key of this breaker's fleet state.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Looks at the fleet's state (reusing a look younger than the refresh interval) and opens
    /// this process's breaker when another process published it open and it is closed here.
    /// Returns whether the fleet reports the breaker open; `false` when Redis cannot say.
    pub async fn sync(&self) -> bool {
        let now = self.clock.monotonic();
        let cached = *self.last.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((at, open)) = cached {
            if now.saturating_sub(at) < self.refresh {
                return open;
            }
        }
        let open = match self.look().await {
            Ok(open) => open,
            Err(e) => {
                tracing::warn!(
                    breaker = self.breaker.name(),
                    error = %e,
                    "cannot read the fleet's breaker state; this breaker decides alone"
                );
                false
            }
        };
        *self.last.lock().unwrap_or_else(PoisonError::into_inner) = Some((now, open));
        if open && self.breaker.state() == BreakerState::Closed {
            tracing::info!(
                breaker = self.breaker.name(),
                "another process of the fleet opened this breaker; opening it here"
            );
            self.adopting.store(true, Ordering::SeqCst);
            self.breaker.transition_to(BreakerState::Open);
            self.adopting.store(false, Ordering::SeqCst);
        }
        open
    }

    /// Waits until every publication started so far has finished (for tests and an orderly
    /// shutdown).
    pub async fn published(&self) {
        let pending: Vec<JoinHandle<()>> =
            std::mem::take(&mut *self.pending.lock().unwrap_or_else(PoisonError::into_inner));
        for handle in pending {
            let _ = handle.await;
        }
    }

    /// Whether the fleet's key says open: a TTL left. No key, or a key without a TTL
    /// (another program's; ignored with a warning), is closed.
    async fn look(&self) -> Result<bool, RedisError> {
        let mut conn = self.conn.clone();
        let pttl: i64 = bounded(
            self.timeout,
            redis::cmd("PTTL").arg(&self.key).query_async(&mut conn),
        )
        .await?;
        if pttl == -1 {
            tracing::warn!(
                breaker = self.breaker.name(),
                "the fleet's breaker key has no TTL (not written by keyward); ignoring it"
            );
        }
        Ok(pttl > 0)
    }

    /// The breaker opened here: publish it, unless it opened on the fleet's word.
    fn opened(self: &Arc<Self>) {
        if self.adopting.load(Ordering::SeqCst) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(
                breaker = self.breaker.name(),
                "the breaker opened outside a tokio runtime; not published to the fleet"
            );
            return;
        };
        let this = Arc::clone(self);
        let handle = runtime.spawn(async move { this.publish().await });
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        pending.retain(|h| !h.is_finished());
        pending.push(handle);
    }

    async fn publish(&self) {
        let wait = self.breaker.config().wait_in_open();
        let mut conn = self.conn.clone();
        let mut set = redis::cmd("SET");
        set.arg(&self.key)
            .arg(&self.process)
            .arg("PX")
            .arg(ttl_ms(wait));
        match bounded(self.timeout, set.query_async::<()>(&mut conn)).await {
            Ok(()) => tracing::info!(
                breaker = self.breaker.name(),
                ?wait,
                "breaker open: published to the fleet"
            ),
            Err(e) => tracing::warn!(
                breaker = self.breaker.name(),
                error = %e,
                "breaker open, but the fleet could not be told; the others decide alone"
            ),
        }
    }
}
