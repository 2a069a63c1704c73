//! Breaker events: state transitions, rejected and cancelled calls, the threshold reached and
//! resets. Each goes to `tracing` (target `keyward_resilience::breaker`) and to the
//! listeners registered with [`CircuitBreaker::add_listener`](super::CircuitBreaker::add_listener).
//!
//! Events are gathered while the breaker's lock is held and delivered after it is released, so a
//! listener may call back into the breaker.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use super::state::BreakerState;

/// The `tracing` target of every breaker event.
pub const TRACING_TARGET: &str = "keyward_resilience::breaker";

/// A listener for a breaker's events.
pub type Listener = Arc<dyn Fn(&BreakerEvent) + Send + Sync>;

/// Something that happened to a breaker.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BreakerEvent {
    /// The breaker's name.
    pub name: Arc<str>,
    /// When it happened, on the breaker's clock.
    pub at: Duration,
    /// What happened.
    pub kind: BreakerEventKind,
}

/// What happened to a breaker.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum BreakerEventKind {
    /// The breaker changed state.
    Transition {
        /// The state it left.
        from: BreakerState,
        /// The state it entered.
        to: BreakerState,
    },
    /// A call was refused (resilience4j's "call not permitted").
    Rejected {
        /// The state that refused it.
        state: BreakerState,
    },
    /// A call's permit was dropped without a result (its future was cancelled, or it panicked);
    /// it counts as a failure.
    Cancelled,
    /// The failure rate reached the threshold.
    FailureRateExceeded {
        /// The failure rate, in percent.
        rate: f64,
    },
    /// The breaker was reset: closed, with empty metrics.
    Reset,
}

/// The events of one locked operation, delivered after the lock is released. A fixed array, so
/// that the hot path allocates nothing.
#[derive(Debug, Default)]
pub(crate) struct Events {
    buf: [Option<BreakerEventKind>; 5],
}

impl Events {
    pub(crate) fn push(&mut self, kind: BreakerEventKind) {
        if let Some(slot) = self.buf.iter_mut().find(|slot| slot.is_none()) {
            *slot = Some(kind);
        }
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.buf[0].is_none()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = BreakerEventKind> + '_ {
        self.buf.iter().map_while(|slot| *slot)
    }
}

/// Logs `event` and hands it to each listener. A listener that panics is logged and skipped: it
/// must not break the breaker.
pub(crate) fn deliver(event: &BreakerEvent, listeners: &[Listener]) {
    trace(event);
    for listener in listeners {
        if catch_unwind(AssertUnwindSafe(|| listener(event))).is_err() {
            tracing::warn!(
                target: TRACING_TARGET,
                breaker = %event.name,
                "a circuit-breaker event listener panicked; the event was skipped for it"
            );
        }
    }
}

fn trace(event: &BreakerEvent) {
    let name = &*event.name;
    match event.kind {
        BreakerEventKind::Transition { from, to } => match to {
            BreakerState::Open => tracing::warn!(
                target: TRACING_TARGET, breaker = name, %from, %to, "circuit breaker opened"
            ),
            _ => tracing::info!(
                target: TRACING_TARGET, breaker = name, %from, %to, "circuit breaker changed state"
            ),
        },
        BreakerEventKind::Rejected { state } => tracing::debug!(
            target: TRACING_TARGET, breaker = name, %state, "circuit breaker refused a call"
        ),
        BreakerEventKind::Cancelled => tracing::debug!(
            target: TRACING_TARGET, breaker = name,
            "call cancelled before it had a result; counted as a failure"
        ),
        BreakerEventKind::FailureRateExceeded { rate } => tracing::info!(
            target: TRACING_TARGET, breaker = name, rate, "failure rate reached the threshold"
        ),
        BreakerEventKind::Reset => {
            tracing::info!(target: TRACING_TARGET, breaker = name, "circuit breaker reset");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn events_keep_order_and_listener_panics_are_contained() {
        let mut events = Events::default();
        assert!(events.is_empty());
        events.push(BreakerEventKind::Reset);
        events.push(BreakerEventKind::Rejected {
            state: BreakerState::Open,
        });
        let kinds: Vec<_> = events.iter().collect();
        assert_eq!(kinds.len(), 2);
        assert_eq!(kinds[0], BreakerEventKind::Reset);

        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let listeners: Vec<Listener> = vec![
            Arc::new(|_: &BreakerEvent| panic!("a faulty listener")),
            Arc::new(move |e: &BreakerEvent| sink.lock().unwrap().push(e.kind)),
        ];
        let event = BreakerEvent {
            name: Arc::from("venue"),
            at: Duration::ZERO,
            kind: BreakerEventKind::Reset,
        };
        deliver(&event, &listeners);
        assert_eq!(*seen.lock().unwrap(), vec![BreakerEventKind::Reset]);
    }
}
