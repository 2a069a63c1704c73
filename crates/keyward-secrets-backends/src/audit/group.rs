//! [`GroupCommit`]: audit entries queued by the operations they record and made durable in
//! batches by one writer thread, never dropped.
//!
//! # Durability contract
//!
//! - [`GroupCommit::enqueue`] returns once the entry is queued, before it is durable. At most
//!   [`GroupConfig::capacity`] entries are ever queued or being written and not yet durable:
//!   an enqueue that would exceed it waits for the writer (backpressure), up to
//!   [`GroupConfig::max_wait`], and then fails with [`AuditError::QueueFull`] (the caller
//!   refuses its operation: nothing is done unaudited). It never drops an entry. A slow disk
//!   delays an operation only when the queue is full.
//! - The writer takes everything queued (up to [`GroupConfig::max_batch`]) as one batch and
//!   hands it to its [`BatchSink`], which makes the whole batch durable at once (one
//!   transaction, one `fsync`). Entries keep their enqueue order.
//! - A batch that fails is logged (`tracing::warn!`), kept, and tried again (first, before
//!   anything queued later) after [`GroupConfig::retry_after`] or at the next flush; its error
//!   is returned by the next [`GroupCommit::flush`].
//! - A crash (process killed, power lost) loses the entries enqueued and not yet durable: at
//!   most `capacity`, all enqueued within the last batch's write time (plus the queue's wait
//!   while a failing sink is retried). An operator bounds the loss with `capacity` and
//!   `max_batch`, or calls [`GroupCommit::flush`] where a record must be durable.
//! - [`GroupCommit::flush`] returns when every entry enqueued before it is durable; dropping
//!   the [`GroupCommit`] (or [`GroupCommit::close`]) writes what is queued and stops the writer.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::error::AuditError;

/// Where a [`GroupCommit`] writes: makes a whole batch durable, or fails and keeps nothing of
/// it (the batch is offered again).
pub trait BatchSink<T>: Send + 'static {
    /// Makes every entry of `batch` durable together (in order), or fails.
    fn write_batch(&mut self, batch: &[T]) -> Result<(), AuditError>;
}

/// The bounds of a [`GroupCommit`]; see the [module docs](crate::audit::group) for what each bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupConfig {
    /// The most entries queued or being written and not yet durable (at least 1): what a crash
    /// can lose.
    pub capacity: usize,
    /// The most entries in one batch (at least 1).
    pub max_batch: usize,
    /// How long an enqueue waits for room before failing with [`AuditError::QueueFull`].
    pub max_wait: Duration,
    /// How long the writer waits before trying a failed batch again.
    pub retry_after: Duration,
}

impl Default for GroupConfig {
    /// 1024 entries, batches of up to 1024, a 5 s wait for room, a retry after 100 ms.
    fn default() -> Self {
        Self {
            capacity: 1024,
            max_batch: 1024,
            max_wait: Duration::from_secs(5),
            retry_after: Duration::from_millis(100),
        }
    }
}

/// A bounded queue of audit entries drained by one writer thread into a [`BatchSink`]. See the
/// [module docs](crate::audit::group) for the durability contract.
pub struct GroupCommit<T: Send + 'static> {
    shared: Arc<Shared<T>>,
    writer: Option<JoinHandle<()>>,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    /// The writer waits here for entries, a flush or the close.
    work: Condvar,
    /// Enqueuers and flushers wait here for room and durability.
    done: Condvar,
    config: GroupConfig,
}

struct State<T> {
    queue: VecDeque<T>,
    /// Entries queued or being written, not yet durable.
    pending: usize,
    /// Entries ever enqueued.
    enqueued: u64,
    /// Entries made durable (a prefix of the enqueued, in order).
    durable: u64,
    /// Write attempts finished, and the number of the last one that failed.
    attempts: u64,
    last_failure: Option<u64>,
    /// The first error since the last flush, and how many batches failed since.
    error: Option<AuditError>,
    failures: u64,
    /// A flush asks the writer not to wait out a retry delay.
    flush_wanted: bool,
    /// Enqueuers waiting for room.
    waiting: usize,
    closing: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<T: Send + 'static> GroupCommit<T> {
    /// Starts the writer thread over `sink`.
    pub fn spawn(sink: impl BatchSink<T>, config: GroupConfig) -> Result<Self, AuditError> {
        let config = GroupConfig {
            capacity: config.capacity.max(1),
            max_batch: config.max_batch.max(1),
            ..config
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                queue: VecDeque::with_capacity(config.capacity),
                pending: 0,
                enqueued: 0,
                durable: 0,
                attempts: 0,
                last_failure: None,
                error: None,
                failures: 0,
                flush_wanted: false,
                waiting: 0,
                closing: false,
            }),
            work: Condvar::new(),
            done: Condvar::new(),
            config,
        });
        let for_writer = shared.clone();
        let writer = std::thread::Builder::new()
            .name("keyward-audit-writer".into())
            .spawn(move || run(&for_writer, sink))
            .map_err(|source| AuditError::Io {
                action: "start the writer thread of",
                path: "group commit".into(),
                source,
            })?;
        Ok(Self {
            shared,
            writer: Some(writer),
        })
    }

    /// Queues `entry`, waiting for room while `capacity` entries are not yet durable (up to
    /// `max_wait`, then [`AuditError::QueueFull`]). Never drops it.
    pub fn enqueue(&self, entry: T) -> Result<(), AuditError> {
        let shared = &*self.shared;
        let mut state = lock(&shared.state);
        if state.pending >= shared.config.capacity {
            let deadline = Instant::now() + shared.config.max_wait;
            state.waiting += 1;
            while state.pending >= shared.config.capacity && !state.closing {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    state.waiting -= 1;
                    return Err(AuditError::QueueFull {
                        capacity: shared.config.capacity,
                        waited: shared.config.max_wait,
                    });
                }
                state = shared
                    .done
                    .wait_timeout(state, left)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            state.waiting -= 1;
        }
        state.queue.push_back(entry);
        state.pending += 1;
        state.enqueued += 1;
        drop(state);
        shared.work.notify_one();
        Ok(())
    }

    /// Waits until every entry enqueued before this call is durable, or until a write attempt
    /// made after this call fails. Returns the first error of a batch that failed since the
    /// previous flush (its entries are kept and tried again: a later `Ok` flush means they are
    /// durable), so no failure goes unreported.
    pub fn flush(&self) -> Result<(), AuditError> {
        let mut state = self.settle();
        let failures = std::mem::take(&mut state.failures);
        match state.error.take() {
            Some(error) if failures > 1 => Err(AuditError::BatchesFailed {
                failures,
                first: Box::new(error),
            }),
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// [`flush`](Self::flush) without taking the errors (they stay for the next flush).
    #[cfg(feature = "sqlite")]
    pub(crate) fn wait_durable(&self) {
        drop(self.settle());
    }

    fn settle(&self) -> MutexGuard<'_, State<T>> {
        let shared = &*self.shared;
        let mut state = lock(&shared.state);
        let target = state.enqueued;
        let start = state.attempts;
        state.flush_wanted = true;
        shared.work.notify_one();
        while state.durable < target && state.last_failure.is_none_or(|n| n <= start) {
            state = shared
                .done
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        state
    }

    /// Entries queued or being written, not yet durable.
    pub fn pending(&self) -> usize {
        lock(&self.shared.state).pending
    }

    /// Enqueuers waiting for room in a full queue.
    pub fn waiting(&self) -> usize {
        lock(&self.shared.state).waiting
    }

    /// Entries made durable since the start.
    pub fn durable(&self) -> u64 {
        lock(&self.shared.state).durable
    }

    /// Writes what is queued (one more attempt for a failing batch), stops the writer and
    /// returns [`flush`](Self::flush)'s answer.
    pub fn close(mut self) -> Result<(), AuditError> {
        let flushed = self.flush();
        self.stop();
        flushed
    }

    fn stop(&mut self) {
        lock(&self.shared.state).closing = true;
        self.shared.work.notify_one();
        self.shared.done.notify_all();
        if let Some(writer) = self.writer.take() {
            if writer.join().is_err() {
                tracing::error!(target: "keyward_secrets::audit", "the audit writer thread panicked");
            }
        }
    }
}

impl<T: Send + 'static> Drop for GroupCommit<T> {
    fn drop(&mut self) {
        self.stop();
    }
}

impl<T: Send + 'static> std::fmt::Debug for GroupCommit<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

/// The writer: takes everything queued as one batch, writes it, and keeps a failed batch to
/// try again first.
fn run<T>(shared: &Shared<T>, mut sink: impl BatchSink<T>) {
    let mut batch: Vec<T> = Vec::new();
    let mut retry_at: Option<Instant> = None;
    loop {
        let mut state = lock(&shared.state);
        loop {
            let retry_due = retry_at.is_none_or(|at| Instant::now() >= at) || state.flush_wanted;
            if state.closing || (retry_due && (!batch.is_empty() || !state.queue.is_empty())) {
                break;
            }
            state = match retry_at {
                Some(at) if !batch.is_empty() => {
                    let left = at.saturating_duration_since(Instant::now());
                    shared
                        .work
                        .wait_timeout(state, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
                _ => shared
                    .work
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner),
            };
        }
        state.flush_wanted = false;
        let room = shared.config.max_batch.saturating_sub(batch.len());
        let take = room.min(state.queue.len());
        batch.extend(state.queue.drain(..take));
        let closing = state.closing;
        drop(state);
        if batch.is_empty() {
            if closing {
                return;
            }
            continue;
        }
        let result = sink.write_batch(&batch);
        let mut state = lock(&shared.state);
        state.attempts += 1;
        match result {
            Ok(()) => {
                state.durable += batch.len() as u64;
                state.pending -= batch.len();
                batch.clear();
                retry_at = None;
            }
            Err(error) => {
                tracing::warn!(target: "keyward_secrets::audit", entries = batch.len(), %error, "an audit batch could not be made durable; it is kept and tried again");
                state.last_failure = Some(state.attempts);
                state.failures += 1;
                state.error.get_or_insert(error);
                // A flush is answered by one attempt: the next waits for `retry_after` or
                // the next flush.
                state.flush_wanted = false;
                retry_at = Some(Instant::now() + shared.config.retry_after);
                if closing {
                    tracing::error!(target: "keyward_secrets::audit", entries = state.pending, "the audit writer stops with entries it could not make durable");
                    shared.done.notify_all();
                    return;
                }
            }
        }
        drop(state);
        shared.done.notify_all();
    }
}
