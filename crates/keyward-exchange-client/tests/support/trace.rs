//! Every log line at TRACE, captured for the canary tests of this crate and of the e2e suites
//! (which include this file with `#[path]`): [`capture_trace`] installs a subscriber for the
//! current thread until its guard drops; [`Capture::subscriber`] gives one to install otherwise.
//! No timestamps (their digits could hold a six-digit code by chance) and no ANSI colours (an
//! escape code could split a secret the test looks for).
#![allow(dead_code, clippy::unwrap_used)] // reason: each test binary uses part of this

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

/// The bytes the subscriber wrote.
#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    /// A subscriber writing every event at TRACE into this capture.
    pub fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + 'static {
        let writer = self.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .without_time()
            .with_writer(move || writer.clone())
            .finish()
    }

    /// What was logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

/// A capture installed for the current thread until the guard drops.
pub fn capture_trace() -> (Capture, tracing::subscriber::DefaultGuard) {
    let capture = Capture::default();
    let guard = tracing::subscriber::set_default(capture.subscriber());
    (capture, guard)
}
