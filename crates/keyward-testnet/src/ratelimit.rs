//! Rate-limit accounting: a count of requests per venue in a fixed window that starts at the
//! window's first request, so a test that sends N requests quickly sees exactly N counted.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// The window of the request quota, in milliseconds (one minute, as Binance's weight).
pub(crate) const WINDOW_MS: u64 = 60_000;
/// The window of the order count, in milliseconds (Binance's 10 s).
const ORDER_WINDOW_MS: u64 = 10_000;

/// One venue's usage after counting a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Usage {
    /// Requests counted in the current window, this one included.
    pub(crate) used: u32,
    /// The quota.
    pub(crate) limit: u32,
    /// Orders counted in the current order window.
    pub(crate) orders: u32,
    /// Seconds until the window ends (at least 1).
    pub(crate) reset_s: u64,
}

impl Usage {
    /// Whether this request exceeded the quota.
    pub(crate) fn exceeded(&self) -> bool {
        self.used > self.limit
    }

    /// Requests left in the window.
    pub(crate) fn remaining(&self) -> u32 {
        self.limit.saturating_sub(self.used)
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Counter {
    start_ms: u64,
    used: u32,
    order_start_ms: u64,
    orders: u32,
}

/// Counts requests per venue against per-venue quotas.
#[derive(Debug)]
pub(crate) struct RateLimits {
    default_limit: u32,
    limits: HashMap<String, u32>,
    counters: Mutex<HashMap<String, Counter>>,
}

impl RateLimits {
    pub(crate) fn new(default_limit: u32, limits: HashMap<String, u32>) -> Self {
        Self {
            default_limit,
            limits,
            counters: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request to `venue` at `now_ms` (an order too when `order`).
    pub(crate) fn count(&self, venue: &str, order: bool, now_ms: u64) -> Usage {
        let limit = self
            .limits
            .get(venue)
            .copied()
            .unwrap_or(self.default_limit);
        let mut counters = self.counters.lock().unwrap_or_else(PoisonError::into_inner);
        let c = counters.entry(venue.to_owned()).or_default();
        if c.used == 0 || now_ms >= c.start_ms.saturating_add(WINDOW_MS) || now_ms < c.start_ms {
            c.start_ms = now_ms;
            c.used = 0;
        }
        c.used = c.used.saturating_add(1);
        if order {
            if c.orders == 0
                || now_ms >= c.order_start_ms.saturating_add(ORDER_WINDOW_MS)
                || now_ms < c.order_start_ms
            {
                c.order_start_ms = now_ms;
                c.orders = 0;
            }
            c.orders = c.orders.saturating_add(1);
        }
        let ends = c.start_ms.saturating_add(WINDOW_MS);
        Usage {
            used: c.used,
            limit,
            orders: c.orders,
            reset_s: ends.saturating_sub(now_ms).div_ceil(1000).max(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_within_a_window_and_resets_after_it() {
        let limits = RateLimits::new(2, HashMap::from([("okx".to_owned(), 1)]));
        assert!(!limits.count("binance", false, 1000).exceeded());
        let second = limits.count("binance", true, 2000);
        assert_eq!((second.used, second.orders, second.remaining()), (2, 1, 0));
        let third = limits.count("binance", false, 3000);
        assert!(third.exceeded());
        assert_eq!(third.reset_s, 58);
        assert_eq!(limits.count("binance", false, 61_000).used, 1);
        assert!(limits.count("okx", false, 0).used == 1);
        assert!(limits.count("okx", false, 1).exceeded());
    }
}
