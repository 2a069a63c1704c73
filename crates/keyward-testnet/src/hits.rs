//! Request counters per (venue, method, path), so tests can assert what a client sent.
//!
//! The keys come from the request line, which a client chooses: at most [`MAX_KEYS`] distinct
//! keys are kept, each path at most [`MAX_PATH_LEN`] bytes; anything past that is counted in
//! one shared overflow bucket, so a client requesting ever new paths cannot grow the map.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// The most distinct (venue, method, path) keys counted apart.
pub(crate) const MAX_KEYS: usize = 1024;
/// The longest path counted apart.
pub(crate) const MAX_PATH_LEN: usize = 512;
/// The key of the overflow bucket (no request line has an empty method).
const OVERFLOW: (&str, &str, &str) = ("", "", "");

/// Counts requests received.
#[derive(Debug, Default)]
pub(crate) struct Hits {
    counts: Mutex<HashMap<(String, String, String), u64>>,
}

impl Hits {
    /// Counts one request.
    pub(crate) fn record(&self, venue: &str, method: &str, path: &str) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (
            venue.to_owned(),
            method.to_ascii_uppercase(),
            path.to_owned(),
        );
        let fits = path.len() <= MAX_PATH_LEN
            && venue.len() <= MAX_PATH_LEN
            && method.len() <= MAX_PATH_LEN
            && (counts.len() < MAX_KEYS || counts.contains_key(&key));
        let key = if fits {
            key
        } else {
            (
                OVERFLOW.0.to_owned(),
                OVERFLOW.1.to_owned(),
                OVERFLOW.2.to_owned(),
            )
        };
        let count = counts.entry(key).or_insert(0);
        *count = count.saturating_add(1);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Finding 20: a client that requests ever new paths cannot grow the counters without
    /// bound; counts of the paths seen first stay exact.
    #[test]
    fn distinct_keys_are_capped_and_the_rest_share_one_bucket() {
        let hits = Hits::default();
        hits.record("binance", "get", "/api/v3/time");
        for i in 0..10_000 {
            hits.record("binance", "GET", &format!("/probe/{i}"));
        }
        hits.record("binance", "GET", &format!("/{}", "x".repeat(100_000)));
        hits.record("binance", "GET", "/api/v3/time");
        let counts = hits.counts.lock().unwrap();
        assert!(counts.len() <= 1025, "{} keys", counts.len());
        let longest = counts.keys().map(|(_, _, p)| p.len()).max().unwrap();
        assert!(longest <= 512, "a key of {longest} bytes");
        drop(counts);
        assert_eq!(hits.get("binance", "GET", "/api/v3/time"), 2);
        assert_eq!(hits.get("binance", "GET", "/probe/0"), 1);
    }
}
