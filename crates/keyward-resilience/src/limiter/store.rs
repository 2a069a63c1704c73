//! The glue between governor and keyward: our injected clock as a governor clock, and a state
//! store whose theoretical arrival times (TATs) we can read, restore and raise, which governor's
//! own stores do not allow. That is what makes several windows all-or-nothing and lets server
//! usage headers raise the local count.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use governor::nanos::Nanos;
use governor::state::StateStore;

use crate::clock::Monotonic;

/// Our [`Monotonic`] seen as a governor clock (nanoseconds since the clock's origin).
#[derive(Debug, Clone)]
pub(crate) struct GovClock(pub(crate) Arc<dyn Monotonic>);

impl governor::clock::Clock for GovClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        Nanos::from(nanos(self.0.now()))
    }
}

/// A duration in whole nanoseconds, saturating.
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// One window's TATs per key (relative to its limiter's start, as governor stores them).
#[derive(Debug)]
pub(crate) struct TatStore<K> {
    tats: Arc<Mutex<HashMap<K, u64>>>,
}

impl<K> Clone for TatStore<K> {
    fn clone(&self) -> Self {
        Self {
            tats: self.tats.clone(),
        }
    }
}

impl<K: Hash + Eq + Clone> TatStore<K> {
    pub(crate) fn new() -> Self {
        Self {
            tats: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<K, u64>> {
        // A panic while holding this lock cannot leave a half-written u64 behind.
        self.tats.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The key's TAT, if it has one.
    pub(crate) fn get(&self, key: &K) -> Option<u64> {
        self.map().get(key).copied()
    }

    /// Puts back a TAT read with [`TatStore::get`].
    pub(crate) fn restore(&self, key: &K, tat: Option<u64>) {
        let mut map = self.map();
        match tat {
            Some(t) => {
                map.insert(key.clone(), t);
            }
            None => {
                map.remove(key);
            }
        }
    }

    /// Raises the key's TAT to at least `tat` (never lowers it).
    pub(crate) fn raise(&self, key: &K, tat: u64) {
        let mut map = self.map();
        let entry = map.entry(key.clone()).or_insert(0);
        *entry = (*entry).max(tat);
    }

    /// Rewrites every TAT (a limiter rebuilt with another start or quota).
    pub(crate) fn rescale(&self, f: impl Fn(u64) -> u64) {
        for tat in self.map().values_mut() {
            *tat = f(*tat);
        }
    }
}

impl<K: Hash + Eq + Clone> StateStore for TatStore<K> {
    type Key = K;

    fn measure_and_replace<T, F, E>(&self, key: &K, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let mut map = self.map();
        // Update in place: cloning the key (often a String) only for a key seen the first time.
        if let Some(slot) = map.get_mut(key) {
            let (result, tat) = f(Some(Nanos::from(*slot)))?;
            *slot = tat.as_u64();
            return Ok(result);
        }
        let (result, tat) = f(None)?;
        map.insert(key.clone(), tat.as_u64());
        Ok(result)
    }
}
