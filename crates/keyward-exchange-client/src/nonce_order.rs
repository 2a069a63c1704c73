//! Per-key state of nonce venues, shared by every client of the key in this process: the lock
//! that keeps nonce order equal to arrival order, and the default in-memory nonce source.
//!
//! Why a lock: Kraken refuses a nonce not greater than the last one it *received* for the key.
//! A nonce is drawn when a request is signed, but two requests in flight on separate
//! connections may arrive in either order, and the later-drawn one arriving first makes the other
//! fail with "EAPI:Invalid nonce". Holding the key's lock from drawing the nonce until the answer
//! makes arrival order equal nonce order. It serialises only that key's private calls, which
//! Kraken rate-limits per key anyway. (Kraken's per-key "nonce window" setting would allow some
//! reordering, but it is off by default and weakens replay protection, so it is not relied on.)

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};

use keyward_signing::{MonotonicNonce, NonceSource, SystemClock};

/// One key's ordering lock and default nonce source.
#[derive(Debug)]
pub(crate) struct KeyOrder {
    pub(crate) lock: tokio::sync::Mutex<()>,
    pub(crate) nonces: Arc<dyn NonceSource>,
}

type Registry = Mutex<HashMap<String, Weak<KeyOrder>>>;

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Registry::default)
}

/// The state of `venue`'s key `api_key`, shared with every live client of that key.
pub(crate) fn for_key(venue: &str, api_key: &str) -> Arc<KeyOrder> {
    let mut map = registry().lock().unwrap_or_else(PoisonError::into_inner);
    map.retain(|_, weak| weak.strong_count() > 0);
    let id = format!("{venue}\n{api_key}");
    if let Some(existing) = map.get(&id).and_then(Weak::upgrade) {
        return existing;
    }
    let fresh = Arc::new(KeyOrder {
        lock: tokio::sync::Mutex::new(()),
        nonces: Arc::new(MonotonicNonce::new(Arc::new(SystemClock))),
    });
    map.insert(id, Arc::downgrade(&fresh));
    fresh
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_state_per_live_key() {
        let a = for_key("kraken", "k1");
        let b = for_key("kraken", "k1");
        let c = for_key("kraken", "k2");
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        let first = a.nonces.next_nonce().unwrap();
        assert!(b.nonces.next_nonce().unwrap() > first);
    }
}
