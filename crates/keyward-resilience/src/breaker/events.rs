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
    count(&event.kind);
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

/// Counts `kind` (feature `metrics`): `keyward_breaker_transitions_total{from,to}` and
/// `keyward_breaker_rejections_total{state}`, labelled by state names only (a breaker's name is
/// the caller's string, so it is no label).
fn count(kind: &BreakerEventKind) {
    #[cfg(feature = "metrics")]
    match kind {
        BreakerEventKind::Transition { from, to } => {
            metrics::counter!("keyward_breaker_transitions_total",
                "from" => from.as_str(), "to" => to.as_str())
            .increment(1);
        }
        BreakerEventKind::Rejected { state } => {
            metrics::counter!("keyward_breaker_rejections_total", "state" => state.as_str())
                .increment(1);
        }
        _ => {}
    }
    #[cfg(not(feature = "metrics"))]
    let _ = kind;
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

#[cfg(all(test, feature = "metrics"))]
mod metrics_tests {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    use crate::breaker::{BreakerConfig, BreakerState, CircuitBreaker};

    /// Failures past the threshold open the breaker: one closed→open transition is counted,
    /// and a call refused while open is counted by state; the breaker's own name is no label.
    #[test]
    fn opening_and_refusals_are_counted_by_state() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::with_local_recorder(&recorder, || {
            let config = BreakerConfig::builder()
                .minimum_calls(2)
                .failure_rate_threshold(50.0)
                .build()
                .unwrap_or_else(|e| panic!("{e}"));
            let breaker = CircuitBreaker::new("CANARY-breaker-name", config);
            for _ in 0..2 {
                breaker
                    .try_acquire()
                    .unwrap_or_else(|e| panic!("{e}"))
                    .failure();
            }
            assert_eq!(breaker.state(), BreakerState::Open);
            assert!(breaker.try_acquire().is_err());
        });
        let mut seen = Vec::new();
        for (key, _, _, value) in snapshotter.snapshot().into_vec() {
            let key = key.key();
            let labels: Vec<String> = key
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            if let DebugValue::Counter(n) = value {
                seen.push((key.name().to_owned(), labels.join(","), n));
            }
        }
        seen.sort();
        assert!(
            seen.contains(&(
                "keyward_breaker_transitions_total".to_owned(),
                "from=closed,to=open".to_owned(),
                1
            )),
            "{seen:?}"
        );
        assert!(
            seen.contains(&(
                "keyward_breaker_rejections_total".to_owned(),
                "state=open".to_owned(),
                1
            )),
            "{seen:?}"
        );
        assert!(!format!("{seen:?}").contains("CANARY"));
    }
}
