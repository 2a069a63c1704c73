//! Request counters per (venue, method, path), so tests can assert what a client sent.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// Counts requests received.
#[derive(Debug, Default)]
pub(crate) struct Hits {
    counts: Mutex<HashMap<(String, String, String), u64>>,
}

impl Hits {
    /// Counts one request.
    pub(crate) fn record(&self, venue: &str, method: &str, path: &str) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        *counts
            .entry((
                venue.to_owned(),
                method.to_ascii_uppercase(),
                path.to_owned(),
            ))
            .or_insert(0) += 1;
    }

    /// Requests received so far.
    pub(crate) fn get(&self, venue: &str, method: &str, path: &str) -> u64 {
        let counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts
            .get(&(
                venue.to_owned(),
                method.to_ascii_uppercase(),
                path.to_owned(),
            ))
            .copied()
            .unwrap_or(0)
    }
}
