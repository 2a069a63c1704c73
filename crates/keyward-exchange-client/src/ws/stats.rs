//! [`WsStats`]: counters a session keeps, for monitoring and tests.

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of a session's counters since it connected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WsStats {
    /// Pings sent.
    pub pings_sent: u64,
    /// Pongs received.
    pub pongs_received: u64,
    /// Pings received from the venue (each answered with a pong).
    pub pings_answered: u64,
    /// Messages received (text or binary).
    pub messages_received: u64,
    /// Connections authenticated again after a loss.
    pub reconnects: u64,
}

/// The live counters, shared by a session and its task.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) pings_sent: AtomicU64,
    pub(crate) pongs_received: AtomicU64,
    pub(crate) pings_answered: AtomicU64,
    pub(crate) messages_received: AtomicU64,
    pub(crate) reconnects: AtomicU64,
}

impl Counters {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> WsStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        WsStats {
            pings_sent: get(&self.pings_sent),
            pongs_received: get(&self.pongs_received),
            pings_answered: get(&self.pings_answered),
            messages_received: get(&self.messages_received),
            reconnects: get(&self.reconnects),
        }
    }
}
