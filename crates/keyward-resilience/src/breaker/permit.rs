//! Permits: RAII guards for one admitted call. The cancellation rule is documented on
//! [`Permit`].

use std::sync::Arc;

use super::Shared;
use super::state::Admission;

/// How a call went, as the breaker counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The call succeeded.
    Success,
    /// The call failed.
    Failure,
    /// The call says nothing about the venue's health: not counted. A half-open trial slot is
    /// given back.
    Ignored,
}

/// What a permit holds: how it was admitted, and in which epoch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket {
    pub(crate) admission: Admission,
    pub(crate) epoch: u64,
}

/// How a permit ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    Decided(Outcome),
    /// Dropped without a decision: cancelled, or unwound by a panic.
    Dropped,
}

/// Leave to make one call, borrowed from its [`CircuitBreaker`](super::CircuitBreaker).
///
/// Decide it with [`success`](Self::success), [`failure`](Self::failure),
/// [`ignore`](Self::ignore) or [`record`](Self::record). For a permit that outlives the borrow
/// (stored, or moved into a task), use [`OwnedPermit`].
///
/// # Cancellation
/// A permit dropped without a decision (the call's future was cancelled, or the call panicked
/// and unwound through it) counts as a **failure**, in every state, and gives its half-open
/// trial slot back. Why a failure rather than "ignored":
/// - a call the caller gave up on did not succeed, and most cancellations are the caller's own
///   deadline (`tokio::time::timeout`, `select!` with a timer): were they ignored, a venue that
///   never answers would never open the breaker;
/// - in half-open, every admitted trial then yields exactly one decision, so the N trials always
///   complete and the breaker always leaves half-open, never admitting more than N. Were a
///   cancelled trial ignored, a caller whose deadline is shorter than the venue's latency would
///   keep the breaker half-open for ever, feeding the venue N calls at a time;
/// - it is resilience4j's safe side: an unknown outcome is no evidence of recovery.
///
/// A caller that cancels for a reason that says nothing about the venue (shutting down) and
/// does not want it counted calls [`ignore`](Self::ignore) first.
#[must_use = "a permit dropped at once counts as a failed call"]
#[derive(Debug)]
pub struct Permit<'a> {
    shared: &'a Shared,
    ticket: Option<Ticket>,
}

/// Leave to make one call, holding its breaker: from
/// [`CircuitBreaker::try_acquire_owned`](super::CircuitBreaker::try_acquire_owned). Otherwise the
/// same as [`Permit`].
#[must_use = "a permit dropped at once counts as a failed call"]
#[derive(Debug)]
pub struct OwnedPermit {
    shared: Arc<Shared>,
    ticket: Option<Ticket>,
}

macro_rules! permit_methods {
    () => {
        /// The call succeeded.
        #[inline]
        pub fn success(mut self) {
            self.decide(Decision::Decided(Outcome::Success));
        }

        /// The call failed.
        #[inline]
        pub fn failure(mut self) {
            self.decide(Decision::Decided(Outcome::Failure));
        }

        /// The call is not counted; a half-open trial slot is given back.
        pub fn ignore(mut self) {
            self.decide(Decision::Decided(Outcome::Ignored));
        }

        /// Records `outcome`.
        #[inline]
        pub fn record(mut self, outcome: Outcome) {
            self.decide(Decision::Decided(outcome));
        }

        /// Whether this call is one of the half-open state's trial calls.
        pub fn is_trial(&self) -> bool {
            self.ticket.is_some_and(|t| t.admission == Admission::Trial)
        }
    };
}

impl<'a> Permit<'a> {
    #[inline]
    pub(crate) fn new(shared: &'a Shared, ticket: Ticket) -> Self {
        Self {
            shared,
            ticket: Some(ticket),
        }
    }

    #[inline]
    fn decide(&mut self, decision: Decision) {
        if let Some(ticket) = self.ticket.take() {
            self.shared.finish(ticket, decision);
        }
    }

    permit_methods!();
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.decide(Decision::Dropped);
    }
}

impl OwnedPermit {
    pub(crate) fn new(shared: Arc<Shared>, ticket: Ticket) -> Self {
        Self {
            shared,
            ticket: Some(ticket),
        }
    }

    #[inline]
    fn decide(&mut self, decision: Decision) {
        if let Some(ticket) = self.ticket.take() {
            self.shared.finish(ticket, decision);
        }
    }

    permit_methods!();
}

impl Drop for OwnedPermit {
    fn drop(&mut self) {
        self.decide(Decision::Dropped);
    }
}
