//! A real sleep that records how long each wait was, so a step can say how long the client's
//! rate limiter or retry policy waited.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use keyward::ClientBuilder;
use keyward::resilience::{Sleep, SleepFuture};

/// `builder` waiting on a [`RecordingSleep`], and that sleep, to read the waits back.
pub fn recording(builder: ClientBuilder) -> (ClientBuilder, RecordingSleep) {
    let sleep = RecordingSleep::default();
    let waits = sleep.clone();
    (builder.sleep(Arc::new(sleep)), waits)
}

/// Sleeps on tokio's timer and records each delay.
#[derive(Debug, Clone, Default)]
pub struct RecordingSleep {
    slept: Arc<Mutex<Vec<Duration>>>,
}

impl RecordingSleep {
    /// Every delay slept so far, in order.
    pub fn slept(&self) -> Vec<Duration> {
        self.slept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Sleep for RecordingSleep {
    fn sleep(&self, duration: Duration) -> SleepFuture {
        self.slept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(duration);
        Box::pin(tokio::time::sleep(duration))
    }
}
