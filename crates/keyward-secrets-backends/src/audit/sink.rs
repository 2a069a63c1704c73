//! [`AuditSink`]: records events from code that must not wait for a file or a store (a
//! verifier's refusal, a synchronous callback), through a bounded queue drained by one task.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::entry::Event;
use super::log::AuditLog;

/// A handle that queues events for an [`AuditLog`] without waiting.
///
/// [`record`](AuditSink::record) never blocks and never fails the caller: when the queue is
/// full (the log is slower than the events), the event is counted in
/// [`dropped`](AuditSink::dropped) and a warning is logged, so a flood of refusals cannot stall
/// the code that reports them or grow memory without bound. The draining task appends each
/// event in order and logs (never raises) an append that fails. It ends when every handle is
/// dropped, after appending what was queued.
#[derive(Debug, Clone)]
pub struct AuditSink {
    tx: mpsc::Sender<Event>,
    dropped: Arc<AtomicU64>,
}

impl AuditSink {
    /// The default queue capacity, in events.
    pub const DEFAULT_CAPACITY: usize = 1024;

    /// A sink over `log` with room for `capacity` queued events (at least 1), and the task
    /// that drains it (spawned on the current tokio runtime).
    pub fn spawn(log: Arc<AuditLog>, capacity: usize) -> (Self, JoinHandle<()>) {
        let (tx, mut rx) = mpsc::channel::<Event>(capacity.max(1));
        let task = tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                if let Err(error) = log.append(&event).await {
                    tracing::warn!(
                        event = event.kind.word(),
                        subject = %event.subject,
                        %error,
                        "could not write an audit entry"
                    );
                }
            }
        });
        let sink = Self {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
        };
        (sink, task)
    }

    /// Queues `event`; returns whether it was queued. A full queue or a stopped task drops it
    /// (counted and warned about).
    pub fn record(&self, event: Event) -> bool {
        match self.tx.try_send(event) {
            Ok(()) => true,
            Err(error) => {
                let total = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                let event = match &error {
                    mpsc::error::TrySendError::Full(e) | mpsc::error::TrySendError::Closed(e) => e,
                };
                tracing::warn!(
                    event = event.kind.word(),
                    subject = %event.subject,
                    dropped_total = total,
                    "audit queue full or closed: an audit entry was dropped"
                );
                false
            }
        }
    }

    /// How many events were dropped because the queue was full or closed.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}
