//! A circuit breaker in the manner of resilience4j: closed, open and half-open states;
//! count- and time-based sliding windows; a failure-rate threshold; a fixed wait in the open
//! state; N trial calls in half-open, held by RAII permits so that a cancelled or panicking
//! trial can never leave the breaker stuck.
//!
//! Written here rather than taken from a crate: the Rust breakers we know of (`failsafe`,
//! `recloser`, `tower`'s examples) have no time-based window with partial aggregation and above
//! all no RAII half-open permit, which is the point of this module (the "stuck in half-open" bug
//! that resilience4j, Polly and opossum users keep reporting comes from permits that a cancelled
//! call never returns).
//!
//! The closed state admits a call without a lock and without reading the clock (one atomic
//! load), and records its result under a short, uncontended lock; see `benches/breaker.rs`.
//!
//! Where the issue is silent the breaker does what resilience4j does: the threshold trips at
//! *or above* the rate, once at least the minimum number of calls is in the window; the move from
//! open to half-open happens lazily, on the first call after the wait.
//!
//! What resilience4j has and this breaker leaves out, because nothing in keyward needs it and a
//! caller has a plainer way: slow-call rates (the exchange client's request timeout makes a slow
//! call a failure), forced-open and disabled states, growing open waits, per-call classifiers
//! (decide a [`Permit`] yourself), and a registry by name (clone a breaker to share it, as the
//! exchange client's `ClientBuilder::breaker` does).

mod call;
mod config;
mod events;
mod metrics;
mod permit;
mod state;
mod window;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

pub use call::CallError;
pub use config::{
    BreakerConfig, BreakerConfigBuilder, MAX_COUNT_WINDOW, MAX_TIME_WINDOW_SECS, SlidingWindow,
};
pub use events::{BreakerEvent, BreakerEventKind, Listener, TRACING_TARGET};
pub use metrics::BreakerMetrics;
pub use permit::{Outcome, OwnedPermit, Permit};
pub use state::BreakerState;

use crate::error::Error;
use events::Events;
use permit::{Decision, Ticket};
use state::{Admission, Ctx, Machine, Published, Refusal};
use window::Sample;

/// A circuit breaker. Cheap to clone: clones share one breaker.
///
/// ```
/// use keyward_resilience::breaker::{BreakerConfig, BreakerState, CircuitBreaker};
///
/// let breaker = CircuitBreaker::new("binance", BreakerConfig::default());
/// let permit = breaker.try_acquire()?;
/// // ... make the call ...
/// permit.success();
/// assert_eq!(breaker.state(), BreakerState::Closed);
/// # Ok::<(), keyward_resilience::Error>(())
/// ```
#[derive(Clone)]
pub struct CircuitBreaker {
    shared: Arc<Shared>,
}

/// What the clones of a breaker share.
pub(crate) struct Shared {
    name: Arc<str>,
    config: BreakerConfig,
    published: Published,
    machine: Mutex<Machine>,
    listeners: RwLock<Arc<[Listener]>>,
    not_permitted: AtomicU64,
    cancelled: AtomicU64,
}

impl CircuitBreaker {
    /// A closed breaker named `name` (the name appears in errors and events).
    pub fn new(name: impl Into<Arc<str>>, config: BreakerConfig) -> Self {
        let published = Published::default();
        let machine = Machine::new(&config, &published);
        Self {
            shared: Arc::new(Shared {
                name: name.into(),
                config,
                published,
                machine: Mutex::new(machine),
                listeners: RwLock::new(Arc::from(Vec::new())),
                not_permitted: AtomicU64::new(0),
                cancelled: AtomicU64::new(0),
            }),
        }
    }

    /// The breaker's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The breaker's configuration.
    pub fn config(&self) -> &BreakerConfig {
        &self.shared.config
    }

    /// The current state. An open breaker whose wait is over still reads `Open` until the next
    /// call moves it to half-open (resilience4j without automatic transition).
    pub fn state(&self) -> BreakerState {
        self.shared.published.load().0
    }

    /// Leave to make one call, or the reason it is refused.
    ///
    /// # Errors
    /// [`Error::CircuitOpen`] while open; [`Error::HalfOpenBusy`] while half-open
    /// with every trial call in flight.
    #[inline]
    pub fn try_acquire(&self) -> Result<Permit<'_>, Error> {
        self.shared
            .acquire()
            .map(|ticket| Permit::new(&self.shared, ticket))
    }

    /// As [`try_acquire`](Self::try_acquire), with a permit that holds the breaker and so can be
    /// stored or moved into a task.
    ///
    /// # Errors
    /// As [`try_acquire`](Self::try_acquire).
    pub fn try_acquire_owned(&self) -> Result<OwnedPermit, Error> {
        self.shared
            .acquire()
            .map(|ticket| OwnedPermit::new(self.shared.clone(), ticket))
    }

    /// A snapshot of the current state's figures.
    pub fn metrics(&self) -> BreakerMetrics {
        let now = self.shared.config.clock.now();
        let figures = self.shared.lock().figures(&self.shared.config, now);
        BreakerMetrics::new(
            figures,
            self.shared.not_permitted.load(Ordering::Relaxed),
            self.shared.cancelled.load(Ordering::Relaxed),
        )
    }

    /// Calls `listener` with each of the breaker's events, after the breaker's lock is released
    /// (so a listener may call the breaker). A listener that panics is logged and skipped.
    pub fn add_listener(&self, listener: Listener) {
        let mut listeners = self
            .shared
            .listeners
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let mut all: Vec<Listener> = listeners.iter().cloned().collect();
        all.push(listener);
        *listeners = Arc::from(all);
    }

    /// Moves the breaker to `state` afresh (an operator's control, or a test's): closed starts
    /// a fresh window, open refuses calls for the open wait and then lets trial calls through,
    /// half-open makes the next N calls trials. Entering the current state starts it again.
    pub fn transition_to(&self, state: BreakerState) {
        self.shared.control(|m, cx| m.transition(state, cx));
    }

    /// Resets the breaker: closed, empty window, the not-permitted and cancelled counters back
    /// to zero.
    pub fn reset(&self) {
        self.shared.control(|m, cx| m.reset(cx));
        self.shared.not_permitted.store(0, Ordering::Relaxed);
        self.shared.cancelled.store(0, Ordering::Relaxed);
    }
}

impl fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.shared.fmt(f)
    }
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("name", &self.name)
            .field("state", &self.published.load().0)
            .finish_non_exhaustive()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Machine> {
        // Nothing that can panic runs under the lock; the machine stays consistent either way,
        // so a poisoned lock is still used.
        self.machine.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Admits a call. The closed state admits without the lock and without a clock reading
    /// (one atomic load); every other state goes the cold way.
    #[inline]
    fn acquire(&self) -> Result<Ticket, Error> {
        let (state, epoch) = self.published.load();
        if state == BreakerState::Closed {
            Ok(Ticket {
                admission: Admission::Closed,
                epoch,
            })
        } else {
            self.acquire_other(state)
        }
    }

    /// Admission in any state but closed. Open refuses without the lock.
    #[cold]
    #[inline(never)]
    fn acquire_other(&self, state: BreakerState) -> Result<Ticket, Error> {
        let now = self.config.clock.now();
        if state == BreakerState::Open {
            let until = self.published.open_until();
            if now < until {
                return Err(self.refuse(state, Refusal::Open(until - now), now));
            }
        }
        let mut events = Events::default();
        let (admitted, state) = {
            let mut machine = self.lock();
            let mut cx = Ctx {
                config: &self.config,
                published: &self.published,
                events: &mut events,
                now,
            };
            let admitted = machine.admit(&mut cx);
            (admitted, self.published.load().0)
        };
        self.emit(&events, now);
        match admitted {
            Ok((admission, epoch)) => Ok(Ticket { admission, epoch }),
            Err(refusal) => Err(self.refuse(state, refusal, now)),
        }
    }

    /// Counts and reports a refused call, and returns its error.
    #[cold]
    fn refuse(&self, state: BreakerState, refusal: Refusal, now: Duration) -> Error {
        self.not_permitted.fetch_add(1, Ordering::Relaxed);
        let mut events = Events::default();
        events.push(events::BreakerEventKind::Rejected { state });
        self.emit(&events, now);
        let name = self.name.to_string();
        match refusal {
            Refusal::Open(left) => Error::CircuitOpen {
                name,
                retry_after: Some(left),
            },
            Refusal::Busy => Error::HalfOpenBusy { name },
        }
    }

    /// Records how a permit ended.
    #[inline]
    pub(crate) fn finish(&self, ticket: Ticket, decision: Decision) {
        let failed = match decision {
            Decision::Decided(permit::Outcome::Success) => false,
            Decision::Decided(permit::Outcome::Failure) | Decision::Dropped => true,
            Decision::Decided(permit::Outcome::Ignored) => {
                // Only a trial has something to give back.
                if ticket.admission == Admission::Trial {
                    let now = self.config.clock.now();
                    self.record(ticket, None, &mut Events::default(), now);
                }
                return;
            }
        };
        // The healthy steady state: a success into a full window of successes changes nothing
        // (see `Published::clean_full`), so it takes no lock and reads no clock. A ticket from
        // an older epoch would be discarded under the lock anyway.
        if !failed && ticket.admission == Admission::Closed && self.published.clean_full() {
            return;
        }
        let mut events = Events::default();
        if decision == Decision::Dropped {
            self.cancelled.fetch_add(1, Ordering::Relaxed);
            events.push(events::BreakerEventKind::Cancelled);
        }
        let now = self.config.clock.now();
        self.record(ticket, Some(Sample { failed }), &mut events, now);
    }

    #[inline(never)]
    fn record(&self, ticket: Ticket, sample: Option<Sample>, events: &mut Events, now: Duration) {
        {
            let mut machine = self.lock();
            let mut cx = Ctx {
                config: &self.config,
                published: &self.published,
                events,
                now,
            };
            machine.record(ticket.admission, ticket.epoch, sample, &mut cx);
        }
        if !events.is_empty() {
            self.emit(events, now);
        }
    }

    /// Runs a control operation under the lock, then reports its events.
    fn control(&self, op: impl FnOnce(&mut Machine, &mut Ctx<'_>)) {
        let now = self.config.clock.now();
        let mut events = Events::default();
        {
            let mut machine = self.lock();
            let mut cx = Ctx {
                config: &self.config,
                published: &self.published,
                events: &mut events,
                now,
            };
            op(&mut machine, &mut cx);
        }
        self.emit(&events, now);
    }

    #[cold]
    fn emit(&self, events: &Events, at: Duration) {
        if events.is_empty() {
            return;
        }
        let listeners = self
            .listeners
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for kind in events.iter() {
            let event = BreakerEvent {
                name: self.name.clone(),
                at,
                kind,
            };
            events::deliver(&event, &listeners);
        }
    }
}

/// How an open error reads after "circuit NAME is open": the time left when known.
pub(crate) fn open_hint(retry_after: &Option<Duration>) -> String {
    match retry_after {
        Some(left) => format!("calls are refused for another {left:?}"),
        None => "calls are refused for now".to_owned(),
    }
}
