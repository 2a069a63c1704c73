//! Rate-limit accounting: a count of requests (or of their weights, when request weights are
//! on) per venue in a fixed window that starts at the window's first request, so a test that
//! sends N requests quickly sees exactly N counted; with a frozen clock the window never ends.
//! The testnet's own counters ([`RateUsage`]) say what it admitted and refused.
//! Kept in this process, or (feature `redis`, `TestnetConfig::with_shared_state`) in Redis for
//! every replica at once, by one Lua script that does the same arithmetic.

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
    /// The highest count a request was admitted at.
    peak_admitted: u32,
    /// Requests refused (429) for the quota.
    refused: u64,
    /// Whether a request was counted yet.
    seen: bool,
}

/// One venue's rate-limit accounting, as the testnet counted it
/// ([`Testnet::rate_usage`](crate::Testnet::rate_usage)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateUsage {
    /// Requests (or weight) counted in the current window, refused ones included.
    pub used: u32,
    /// The quota per window.
    pub limit: u32,
    /// The highest count the testnet admitted a request at (never above `limit`).
    pub peak_admitted: u32,
    /// Requests the testnet refused with 429 because the quota was exceeded.
    pub refused: u64,
}

/// Counts requests per venue against per-venue quotas.
#[derive(Debug)]
pub(crate) struct RateLimits {
    default_limit: u32,
    limits: HashMap<String, u32>,
    counters: Mutex<HashMap<String, Counter>>,
    /// Where replicas keep one account; `None` counts in this process.
    #[cfg(feature = "redis")]
    shared: Option<crate::shared_state::SharedState>,
}

impl RateLimits {
    pub(crate) fn new(default_limit: u32, limits: HashMap<String, u32>) -> Self {
        Self {
            default_limit,
            limits,
            counters: Mutex::new(HashMap::new()),
            #[cfg(feature = "redis")]
            shared: None,
        }
    }

    /// Counts in `shared` (every replica's one account) instead of this process.
    #[cfg(feature = "redis")]
    pub(crate) fn shared(mut self, shared: Option<crate::shared_state::SharedState>) -> Self {
        self.shared = shared;
        self
    }

    /// Counts one request of `weight` to `venue` at `now_ms` (an order too when `order`), in
    /// this process or in the replicas' shared state. Fails (with a reason to answer 503 with)
    /// only when the shared state cannot be reached: the request is then not served uncounted.
    pub(crate) async fn count(
        &self,
        venue: &str,
        weight: u32,
        order: bool,
        now_ms: u64,
    ) -> Result<Usage, String> {
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared {
            let usage = self
                .count_shared(shared, venue, weight, order, now_ms)
                .await?;
            self.record_shared(venue, &usage);
            return Ok(usage);
        }
        Ok(self.count_local(venue, weight, order, now_ms))
    }

    fn limit_of(&self, venue: &str) -> u32 {
        self.limits
            .get(venue)
            .copied()
            .unwrap_or(self.default_limit)
    }

    /// The venue's accounting so far; None before its first request.
    pub(crate) fn usage(&self, venue: &str) -> Option<RateUsage> {
        let counters = self.counters.lock().unwrap_or_else(PoisonError::into_inner);
        let c = counters.get(venue).filter(|c| c.seen)?;
        Some(RateUsage {
            used: c.used,
            limit: self.limit_of(venue),
            peak_admitted: c.peak_admitted,
            refused: c.refused,
        })
    }

    /// The same count in Redis: one script, one round trip.
    #[cfg(feature = "redis")]
    async fn count_shared(
        &self,
        shared: &crate::shared_state::SharedState,
        venue: &str,
        weight: u32,
        order: bool,
        now_ms: u64,
    ) -> Result<Usage, String> {
        let script = redis::Script::new(COUNT_SCRIPT);
        let mut invocation = script.prepare_invoke();
        invocation
            .key(shared.key(venue, "ratelimit"))
            .arg(now_ms)
            .arg(WINDOW_MS)
            .arg(ORDER_WINDOW_MS)
            .arg(u8::from(order))
            .arg(weight.max(1));
        let (used, orders, start_ms): (i64, i64, i64) = shared.run(&invocation).await?;
        let (Ok(used), Ok(orders), Ok(start_ms)) = (
            u32::try_from(used),
            u32::try_from(orders),
            u64::try_from(start_ms),
        ) else {
            return Err("Redis answered a count out of range".to_owned());
        };
        let ends = start_ms.saturating_add(WINDOW_MS);
        Ok(Usage {
            used,
            limit: self.limit_of(venue),
            orders,
            reset_s: ends.saturating_sub(now_ms).div_ceil(1000).max(1),
        })
    }

    /// Keeps this replica's own counters ([`RateUsage`]) for a count made in the shared state:
    /// the shared window's count, and what this replica admitted and refused.
    #[cfg(feature = "redis")]
    fn record_shared(&self, venue: &str, usage: &Usage) {
        let mut counters = self.counters.lock().unwrap_or_else(PoisonError::into_inner);
        let c = counters.entry(venue.to_owned()).or_default();
        c.seen = true;
        c.used = usage.used;
        if usage.exceeded() {
            c.refused = c.refused.saturating_add(1);
        } else {
            c.peak_admitted = c.peak_admitted.max(usage.used);
        }
    }

    /// Counts one request of `weight` to `venue` at `now_ms` (an order too when `order`), in
    /// this process.
    fn count_local(&self, venue: &str, weight: u32, order: bool, now_ms: u64) -> Usage {
        let limit = self.limit_of(venue);
        let mut counters = self.counters.lock().unwrap_or_else(PoisonError::into_inner);
        let c = counters.entry(venue.to_owned()).or_default();
        if c.used == 0 || now_ms >= c.start_ms.saturating_add(WINDOW_MS) || now_ms < c.start_ms {
            c.start_ms = now_ms;
            c.used = 0;
        }
        c.seen = true;
        c.used = c.used.saturating_add(weight.max(1));
        if c.used > limit {
            c.refused = c.refused.saturating_add(1);
        } else {
            c.peak_admitted = c.peak_admitted.max(c.used);
        }
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

/// The count of [`RateLimits::count_local`] on a Redis hash (`start`, `used`, `ostart`,
/// `orders`), with the request's weight. A field another program wrote that is not a number counts as 0 (a fresh window);
/// a key of another type fails the call. The hash expires after an hour without requests.
#[cfg(feature = "redis")]
const COUNT_SCRIPT: &str = r"
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local order_window = tonumber(ARGV[3])
local v = redis.call('HMGET', KEYS[1], 'start', 'used', 'ostart', 'orders')
local start = tonumber(v[1]) or 0
local used = tonumber(v[2]) or 0
local ostart = tonumber(v[3]) or 0
local orders = tonumber(v[4]) or 0
if used <= 0 or now >= start + window or now < start then
  start = now
  used = 0
end
used = used + tonumber(ARGV[5])
if ARGV[4] == '1' then
  if orders <= 0 or now >= ostart + order_window or now < ostart then
    ostart = now
    orders = 0
  end
  orders = orders + 1
end
redis.call('HSET', KEYS[1], 'start', start, 'used', used, 'ostart', ostart, 'orders', orders)
redis.call('PEXPIRE', KEYS[1], 3600000)
return {used, orders, start}
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_within_a_window_and_resets_after_it() {
        let limits = RateLimits::new(2, HashMap::from([("okx".to_owned(), 1)]));
        assert!(!limits.count_local("binance", 1, false, 1000).exceeded());
        let second = limits.count_local("binance", 1, true, 2000);
        assert_eq!((second.used, second.orders, second.remaining()), (2, 1, 0));
        let third = limits.count_local("binance", 1, false, 3000);
        assert!(third.exceeded());
        assert_eq!(third.reset_s, 58);
        assert_eq!(limits.count_local("binance", 1, false, 61_000).used, 1);
        assert!(limits.count_local("okx", 1, false, 0).used == 1);
        assert!(limits.count_local("okx", 1, false, 1).exceeded());
    }

    #[test]
    fn weights_and_the_testnets_own_counters() {
        let limits = RateLimits::new(50, HashMap::new());
        assert_eq!(limits.usage("binance"), None);
        assert!(!limits.count_local("binance", 20, false, 0).exceeded());
        assert!(!limits.count_local("binance", 20, false, 0).exceeded());
        assert!(limits.count_local("binance", 20, false, 0).exceeded());
        let u = limits.usage("binance").unwrap();
        assert_eq!(
            (u.used, u.limit, u.peak_admitted, u.refused),
            (60, 50, 40, 1)
        );
        // A weight of 0 still counts the request.
        assert_eq!(limits.count_local("okx", 0, false, 0).used, 1);
    }
}
