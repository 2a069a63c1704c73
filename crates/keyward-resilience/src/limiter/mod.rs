//! Rate limiting on governor's GCRA: per key, weighted costs, several windows at once
//! (all-or-nothing), wait or reject with the exact time until ready, quotas changeable at run
//! time, and resync from the server's usage headers so the local view never undercounts.

mod limit;
mod store;

use std::hash::{Hash, Hasher};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use governor::clock::Clock as _;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::{InsufficientCapacity, Quota};

pub use limit::Limit;

use store::{GovClock, TatStore};

use crate::clock::{Monotonic, MonotonicClock, Sleep};
use crate::error::{Error, Result};

type Gov<K> = governor::RateLimiter<K, TatStore<K>, GovClock, NoOpMiddleware<Nanos>>;

/// One limit with its governor limiter.
struct Window<K: Hash + Eq + Clone> {
    limit: Limit,
    /// Our reading of the clock just before governor read its start (TATs are relative to it).
    start: u64,
    /// Nanoseconds per unit: `period / capacity`.
    interval: u64,
    store: TatStore<K>,
    gov: Gov<K>,
}

impl<K: Hash + Eq + Clone> Window<K> {
    fn new(limit: Limit, clock: &GovClock, store: TatStore<K>) -> Result<Self> {
        let invalid = |why: &str| Error::InvalidConfig(format!("limit {}: {why}", limit.name));
        let burst = NonZeroU32::new(limit.burst)
            .filter(|b| b.get() <= limit.capacity)
            .ok_or_else(|| invalid("burst must be between 1 and the capacity"))?;
        let interval = limit
            .refill_interval_ns()
            .ok_or_else(|| invalid("the period is too short or too long for the capacity"))?;
        let quota = Quota::with_period(Duration::from_nanos(interval))
            .ok_or_else(|| invalid("the refill interval must be at least 1 ns"))?
            .allow_burst(burst);
        let start = clock.now().as_u64();
        let gov = governor::RateLimiter::new(quota, store.clone(), clock.clone());
        Ok(Self {
            start,
            interval,
            limit,
            store,
            gov,
        })
    }
}

/// A rate limiter over one or more [`Limit`]s, per key `K` (an API key, an account, an IP).
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use keyward_resilience::limiter::{Limit, RateLimiter};
/// use keyward_resilience::{Error, ManualClock};
///
/// // A venue's windows: 6,000 weight per minute and 50 orders per 10 s.
/// let limits = vec![
///     Limit::new("weight/1m", "weight", 6_000, Duration::from_secs(60)),
///     Limit::new("orders/10s", "orders", 50, Duration::from_secs(10)),
/// ];
/// let clock = Arc::new(ManualClock::new());
/// let limiter = RateLimiter::new(limits, clock.clone())?;
/// let order = [("weight", 1), ("orders", 1)];
/// for _ in 0..25 {
///     limiter.check(&"api-key".to_owned(), &order)?;
/// }
/// // 50 orders per 10 s: a burst of 25, then one every 10 s / 26 (rounded up). The 26th order
/// // waits for the orders/10s window, and nothing was charged for it.
/// match limiter.check(&"api-key".to_owned(), &order) {
///     Err(Error::RateLimited { limit, wait }) => {
///         assert_eq!(limit, "orders/10s");
///         assert_eq!(wait, Duration::from_nanos(384_615_385));
///     }
///     other => panic!("{other:?}"),
/// }
/// # Ok::<(), Error>(())
/// ```
pub struct RateLimiter<K: Hash + Eq + Clone = String> {
    clock: GovClock,
    windows: RwLock<Vec<Window<K>>>,
    /// Key-striped locks that make a check over several windows all-or-nothing.
    stripes: Vec<Mutex<()>>,
    /// The longest [`RateLimiter::until_ready`] waits in all for one call.
    max_wait: Duration,
}

/// How long [`RateLimiter::until_ready`] waits in all for one call, by default: one minute,
/// the longest window most venues count in and the retry policy's default `retry_after_max`.
/// A wait longer than this (a daily order limit spent, a venue reporting its quota used) fails
/// at once with [`Error::RateLimited`] instead of parking the caller.
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(60);

/// Number of key stripes.
const STRIPES: usize = 64;

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// A limiter over `limits` on `clock`. Fails on a limit with zero capacity or a period too
    /// short for its capacity, or two limits with one name.
    pub fn new(limits: impl IntoIterator<Item = Limit>, clock: Arc<dyn Monotonic>) -> Result<Self> {
        let clock = GovClock(clock);
        let mut windows: Vec<Window<K>> = Vec::new();
        for limit in limits {
            if windows.iter().any(|w| w.limit.name == limit.name) {
                return Err(Error::InvalidConfig(format!(
                    "two limits are named {}",
                    limit.name
                )));
            }
            windows.push(Window::new(limit, &clock, TatStore::new())?);
        }
        Ok(Self {
            clock,
            windows: RwLock::new(windows),
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            max_wait: DEFAULT_MAX_WAIT,
        })
    }

    /// Sets the longest [`until_ready`](Self::until_ready) waits in all for one call
    /// (default [`DEFAULT_MAX_WAIT`]).
    #[must_use]
    pub fn with_max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// The longest [`until_ready`](Self::until_ready) waits in all for one call.
    pub fn max_wait(&self) -> Duration {
        self.max_wait
    }

    /// A limiter on the system's monotonic clock.
    pub fn with_system_clock(limits: impl IntoIterator<Item = Limit>) -> Result<Self> {
        Self::new(limits, Arc::new(MonotonicClock::new()))
    }

    /// Charges `costs` (unit, amount) to every limit of those units for `key`, or charges
    /// nothing and says how long until the whole request would fit. A unit no limit counts is
    /// free; a cost above a limit's capacity can never fit ([`Error::CostExceedsCapacity`]).
    pub fn check(&self, key: &K, costs: &[(&str, u32)]) -> Result<()> {
        let windows = self.windows.read().unwrap_or_else(PoisonError::into_inner);
        if let [only] = windows.as_slice() {
            // One window: governor's own check is atomic, and there is nothing to roll back.
            return match NonZeroU32::new(cost_for(&only.limit, costs)) {
                Some(n) => self.check_one(only, key, n),
                None => Ok(()),
            };
        }
        let charged: Vec<(&Window<K>, NonZeroU32)> = windows
            .iter()
            .filter_map(|w| NonZeroU32::new(cost_for(&w.limit, costs)).map(|n| (w, n)))
            .collect();
        let _stripe = self.stripe(key);
        let before: Vec<Option<u64>> = if charged.len() > 1 {
            charged.iter().map(|(w, _)| w.store.get(key)).collect()
        } else {
            Vec::new()
        };
        let mut refusal: Option<Error> = None;
        for (w, n) in &charged {
            let Err(outcome) = self.check_one(w, key, *n) else {
                continue;
            };
            refusal = Some(match refusal {
                Some(prev) => worse(prev, outcome),
                None => outcome,
            });
        }
        match refusal {
            None => Ok(()),
            Some(err) => {
                // All or nothing: windows that accepted give their charge back.
                for ((w, _), tat) in charged.iter().zip(before) {
                    w.store.restore(key, tat);
                }
                Err(err)
            }
        }
    }

    /// One window's governor check, as our error.
    fn check_one(&self, w: &Window<K>, key: &K, n: NonZeroU32) -> Result<()> {
        match w.gov.check_key_n(key, n) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => Err(Error::RateLimited {
                limit: w.limit.name.clone(),
                wait: not_until.wait_time_from(self.clock.now()),
            }),
            Err(InsufficientCapacity(capacity)) => Err(Error::CostExceedsCapacity {
                limit: w.limit.name.clone(),
                cost: n.get(),
                capacity,
            }),
        }
    }

    /// Waits (on `sleep`) until `costs` fit, then charges them. The whole wait is bounded by
    /// [`max_wait`](Self::max_wait), measured on the limiter's clock: when the time until
    /// ready would take it past the ceiling, it fails at once with [`Error::RateLimited`]
    /// (the limit and its full wait) without sleeping, and nothing is charged.
    pub async fn until_ready(
        &self,
        key: &K,
        costs: &[(&str, u32)],
        sleep: &dyn Sleep,
    ) -> Result<()> {
        let started = self.clock.0.now();
        loop {
            match self.check(key, costs) {
                Err(Error::RateLimited { limit, wait }) => {
                    let waited = self.clock.0.now().saturating_sub(started);
                    if waited.saturating_add(wait) > self.max_wait {
                        #[cfg(feature = "metrics")]
                        metrics::counter!("keyward_limiter_refusals_total").increment(1);
                        return Err(Error::RateLimited { limit, wait });
                    }
                    // Limit names are the caller's strings: the counters carry no label.
                    #[cfg(feature = "metrics")]
                    {
                        metrics::counter!("keyward_limiter_waits_total").increment(1);
                        metrics::histogram!("keyward_limiter_wait_seconds")
                            .record(wait.as_secs_f64());
                    }
                    sleep.sleep(wait).await;
                }
                other => return other,
            }
        }
    }

    /// Adds `limit`, or replaces the limit of that name, at run time. A replaced limit keeps the
    /// usage already counted.
    pub fn set_limit(&self, limit: Limit) -> Result<()> {
        let mut windows = self.windows.write().unwrap_or_else(PoisonError::into_inner);
        let existing = windows.iter().position(|w| w.limit.name == limit.name);
        let store = existing.map_or_else(TatStore::new, |i| windows[i].store.clone());
        let window = Window::new(limit, &self.clock, store)?;
        match existing {
            Some(i) => {
                // Keep each key's usage in units: its outstanding units under the old refill
                // interval, re-expressed under the new one and the new start (rounded up).
                let old = &windows[i];
                let now = self.clock.now().as_u64();
                let (old_now, new_now) = (
                    now.saturating_sub(old.start),
                    now.saturating_sub(window.start),
                );
                let (old_interval, new_interval) = (old.interval, window.interval);
                window.store.rescale(|tat| {
                    let units = tat.saturating_sub(old_now).div_ceil(old_interval);
                    new_now.saturating_add(units.saturating_mul(new_interval))
                });
                windows[i] = window;
            }
            None => windows.push(window),
        }
        Ok(())
    }

    /// Removes the limit called `name`; true if there was one.
    pub fn remove_limit(&self, name: &str) -> bool {
        let mut windows = self.windows.write().unwrap_or_else(PoisonError::into_inner);
        let before = windows.len();
        windows.retain(|w| w.limit.name != name);
        windows.len() != before
    }

    /// The limits in force.
    pub fn limits(&self) -> Vec<Limit> {
        let windows = self.windows.read().unwrap_or_else(PoisonError::into_inner);
        windows.iter().map(|w| w.limit.clone()).collect()
    }

    /// Raises the local count of `key` to what the server reports in its usage headers
    /// (matched to each limit's `usage_header`, case-insensitively; or the capacity minus the
    /// value of its `remaining_header`, for venues that count down), so the local view never
    /// undercounts; a lower server count never lowers it. A count above the limit's capacity
    /// (a hostile or confused venue) counts as the capacity, so one header can never make a
    /// wait longer than about one period. Returns how many limits were updated; headers that
    /// are missing or not numbers are skipped.
    pub fn resync<'h>(
        &self,
        key: &K,
        headers: impl IntoIterator<Item = (&'h str, &'h str)>,
    ) -> usize {
        let windows = self.windows.read().unwrap_or_else(PoisonError::into_inner);
        if !windows.iter().any(|w| w.limit.tracks_headers()) {
            // Nothing to match: the headers are not even read.
            return 0;
        }
        let headers: Vec<(&str, &str)> = headers.into_iter().collect();
        let _stripe = self.stripe(key);
        let now = self.clock.now().as_u64();
        let mut updated = 0;
        let number = |name: &str| {
            headers
                .iter()
                .find(|(h, _)| h.eq_ignore_ascii_case(name))
                .and_then(|(_, v)| v.trim().parse::<u32>().ok())
        };
        for w in windows.iter() {
            let used = w
                .limit
                .usage_header
                .as_deref()
                .and_then(number)
                .or_else(|| {
                    let left = w.limit.remaining_header.as_deref().and_then(number)?;
                    Some(w.limit.capacity.saturating_sub(left))
                });
            if let Some(used) = used.map(|u| u.min(w.limit.capacity)) {
                let tat = now
                    .saturating_sub(w.start)
                    .saturating_add(u64::from(used).saturating_mul(w.interval));
                w.store.raise(key, tat);
                updated += 1;
            }
        }
        updated
    }

    fn stripe(&self, key: &K) -> std::sync::MutexGuard<'_, ()> {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut hasher);
        let i = (hasher.finish() as usize) % self.stripes.len();
        self.stripes[i]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// What `costs` charge to `limit`: the sum of the amounts in its unit (saturating).
pub(crate) fn cost_for(limit: &Limit, costs: &[(&str, u32)]) -> u32 {
    costs
        .iter()
        .filter(|(unit, _)| *unit == limit.unit)
        .fold(0u32, |sum, (_, c)| sum.saturating_add(*c))
}

/// Of two refusals, the one that decides: a request that can never fit, else the longer wait.
fn worse(a: Error, b: Error) -> Error {
    match (&a, &b) {
        (Error::CostExceedsCapacity { .. }, _) => a,
        (_, Error::CostExceedsCapacity { .. }) => b,
        (Error::RateLimited { wait: wa, .. }, Error::RateLimited { wait: wb, .. }) if wb > wa => b,
        _ => a,
    }
}

impl<K: Hash + Eq + Clone> std::fmt::Debug for RateLimiter<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("limits", &self.limits())
            .finish_non_exhaustive()
    }
}
